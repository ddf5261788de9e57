// The lint rule that keeps workflow code deterministic, run through ESLint's Node API with the
// project's own eslint.config.mjs on small in-memory sources (no servers, no type information).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const root = path.resolve(__dirname, '..');
// type-aware rules need the file on disk in the TypeScript project; these sources are not, and the
// import rule needs no types
const eslint = new ESLint({ cwd: root, overrideConfig: [tseslint.configs.disableTypeChecked] });

async function importProblems(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path.join(root, file) });
  return result!.messages
    .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports' || m.fatal)
    .map((m) => m.message);
}

describe('lint: workflow imports', () => {
  test('a workflow importing a Node built-in fails, saying why', async () => {
    const problems = await importProblems('src/workflows/probe.ts', "import { readFileSync } from 'fs';\n");
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0]!, /Node built-in in a workflow: .*deterministic/);
    const prefixed = await importProblems('src/workflows/probe.ts', "import { createHash } from 'node:crypto';\n");
    assert.match(prefixed[0] ?? '', /Node built-in in a workflow/);
  });

  test('other packages and activity code fail; the SDK, type-only and workflow-safe imports pass', async () => {
    assert.match(
      (await importProblems('src/workflows/probe.ts', "import { Client } from '@temporalio/client';\n"))[0] ?? '',
      /only @temporalio\/workflow, @temporalio\/common/,
    );
    assert.match(
      (
        await importProblems(
          'src/workflows/probe.ts',
          "import { createActivities } from '../activities/pillow-activities';\n",
        )
      )[0] ?? '',
      /Node-side module in a workflow/,
    );
    const fine = [
      "import * as wf from '@temporalio/workflow';",
      "import { ApplicationFailure } from '@temporalio/common';",
      "import type { PillowActivities } from '../activities/pillow-activities';",
      "import { seqProblem } from '../checkpoint/seq';",
      "import { pillowKey } from './ids';",
    ].join('\n');
    assert.deepEqual(await importProblems('src/workflows/probe.ts', fine + '\n'), []);
  });

  test('the rule is for workflow code only', async () => {
    assert.deepEqual(await importProblems('src/activities/probe.ts', "import { readFileSync } from 'fs';\n"), []);
  });
});

describe('lint: layers point one way', () => {
  test('the runtime importing the CLI, the dev stack or the bench fails; the CLI importing the runtime passes', async () => {
    for (const source of [
      "import { CliError } from '../cli/cli-error';\n",
      "import { startDevStack } from '../dev/stack';\n",
      "import { runBench } from '../../bench/run-bench';\n",
    ]) {
      const problems = await importProblems('src/operations/probe.ts', source);
      assert.match(problems[0] ?? '', /layers point one way/, source);
    }
    assert.deepEqual(
      await importProblems('src/cli/commands/probe.ts', "import { stopPillow } from '../../operations/stop-pillow';\n"),
      [],
    );
  });
});
