// ESLint (flat config): type-aware typescript-eslint rules, prettier formatting as a lint rule (so
// `npm run lint:fix` also formats), and the import rules that keep workflow code deterministic.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettierRecommended from 'eslint-plugin-prettier/recommended';

const SANDBOX = 'workflow code runs in the Temporal workflow sandbox, which must stay deterministic';

/** Folders of Node-side code (I/O, clocks, randomness) that workflow code must not load. */
const NODE_SIDE = [
  'activities',
  'bench',
  'cli',
  'couch',
  'dev',
  'metrics',
  'operations',
  'postgres',
  'processors',
  'worker',
];

/** Node's built-in modules (`fs`, `crypto`, `path`, `http`, …), as a regex alternative. */
const BUILTINS = builtinModules.filter((m) => !m.startsWith('_')).join('|');
const BUILTIN = `node:|(${BUILTINS})(/|$)`;

/** The `no-restricted-imports` options for `src/workflows/**` (exercised by test/unit-lint.test.ts). */
const workflowImportRestrictions = {
  patterns: [
    {
      regex: `^(${BUILTIN})`,
      message: `Node built-in in a workflow: ${SANDBOX}; do I/O in an activity (src/activities/).`,
      allowTypeImports: true,
    },
    {
      // packages: only the workflow SDK and its common types are sandbox-safe
      regex: `^(?!\\.|@temporalio/(workflow|common)(/|$)|${BUILTIN})`,
      message: `only @temporalio/workflow, @temporalio/common and workflow-safe relative modules may be imported here: ${SANDBOX}.`,
      allowTypeImports: true,
    },
    {
      regex: `^(\\.\\./)+(${NODE_SIDE.join('|')})(/|$)`,
      message: `Node-side module in a workflow: ${SANDBOX}; call activities through proxyActivities and import their types with \`import type\`.`,
      allowTypeImports: true,
    },
  ],
};

export default tseslint.config(
  {
    ignores: ['node_modules/', 'dist/', '.pillowtop/', 'test-artifacts/', 'src/dev/opensearch-launcher/', '**/*.js'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // a promise nobody awaits hides its rejection and its ordering: await it, or `void` it with a why
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test()/describe() return promises the runner itself awaits
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after'] },
          ],
        },
      ],
      // the rest of recommendedTypeChecked, minus rules whose fixes would rewrite working code for little
      // gain (untyped JSON from CouchDB/Temporal, async functions kept async for their interface, …)
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      'no-control-regex': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      // async request handlers (node:http) report their own errors
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      // as tsc's noUnusedLocals: parameters and caught errors may go unused, `_names` and rest siblings too
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'none',
          caughtErrors: 'none',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': ['error', workflowImportRestrictions],
    },
  },
  {
    // layers point one way: the runtime (operations, activities, metrics, …) never reaches into the CLI,
    // the dev stack or the bench; those sit on top of it
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**', 'src/dev/**', 'src/workflows/**'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(cli|dev|bench)(/|$)|^\\./(cli|dev)(/|$)',
              message: 'layers point one way: src/cli, src/dev and bench/ build on the runtime, never the reverse.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  prettierRecommended,
);
