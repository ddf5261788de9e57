import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, configProblems, validateConfig } from '../src/config/validate-config';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { postgresTable } from '../src/processors/postgres-table';
import { reportTally, tally } from './helpers/faults-tally';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const fixture = (name: string) => path.join(root, 'test', 'fixtures', name);

const good = () => ({
  name: 'cases',
  source: { db: 'cases' },
  processors: [postgresMirror({ table: 'cases_mirror' })],
});

/** The only problem validateConfig finds in `config`. */
function onlyProblem(config: unknown): string {
  tally.badInputs += 1;
  const problems = configProblems(config);
  assert.equal(problems.length, 1, `expected one problem, got ${JSON.stringify(problems)}`);
  assert.throws(() => validateConfig(config), ConfigError);
  return problems[0];
}

/** Runs `pillowtop worker` with a config file; it must fail before connecting to anything. */
async function workerWith(configFile: string): Promise<{ code: number; stderr: string; stdout: string }> {
  tally.badInputs += 1;
  return run(process.execPath, [path.join(root, 'bin', 'pillowtop'), 'worker'], {
    cwd: root,
    // nothing listens here: a worker that got past the config would hang or fail differently
    env: {
      ...process.env,
      PILLOWTOP_CONFIG: configFile,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      DATABASE_URL: 'postgres://127.0.0.1:1/x',
    },
    timeout: 60_000,
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stderr: string; stdout: string }) => ({ code: e.code, stderr: e.stderr, stdout: e.stdout }),
  );
}

describe('bad input: configuration', () => {
  after(() => reportTally(__filename));

  test('a good config has no problems', () => {
    assert.deepEqual(configProblems([good()]), []);
  });

  test('a bad table name names the pillow, the processor and the table', () => {
    assert.equal(
      onlyProblem([{ ...good(), processors: [postgresMirror({ table: 'Cases-Mirror' })] }]),
      'pillow "cases": processors[0] (postgresMirror:Cases-Mirror): table "Cases-Mirror" must be lowercase letters, digits and "_", not starting with a digit',
    );
    assert.match(
      onlyProblem([
        { ...good(), processors: [postgresTable({ table: 'idx', columns: [{ name: 'a b', type: 'text' }] })] },
      ]),
      /^pillow "cases": processors\[0\] \(postgresTable:idx\): columns\[0\]\.name "a b" must be lowercase/,
    );
    assert.match(
      onlyProblem([{ ...good(), processors: [postgresMirror({ table: 'x'.repeat(60) })] }]),
      /table "x+" is longer than 56 characters/,
    );
  });

  test('an unknown processor (not a processor object) says what a processor is', () => {
    assert.match(
      onlyProblem([{ ...good(), processors: [{ name: 'postgresMirorr' }] }]),
      /^pillow "cases": processors\[0\]: has no processBatch function \(is it a processor\?/,
    );
    assert.equal(
      onlyProblem([{ ...good(), processors: ['postgresMirror'] }]),
      'pillow "cases": processors[0]: must be a processor object',
    );
    assert.match(
      onlyProblem([
        {
          ...good(),
          processors: [postgresTable({ table: 'idx', columns: [{ name: 'a', type: 'varchar' as 'text' }] })],
        },
      ]),
      /columns\[0\]\.type "varchar" must be one of: /,
    );
  });

  test('a missing or wrong field names the pillow and the field', () => {
    const { source: _source, ...noSource } = good();
    assert.equal(onlyProblem([noSource]), 'pillow "cases": source: is required: { db: "<couch database>" }');
    const { name: _name, ...noName } = good();
    assert.match(onlyProblem([noName]), /^pillows\[0\]: name: must be 1-100 letters/);
    assert.match(
      onlyProblem([{ ...good(), processors: [] }]),
      /^pillow "cases": processors: must be a non-empty array/,
    );
    assert.match(
      onlyProblem([{ ...good(), source: { db: 'Bad DB' } }]),
      /source\.db: "Bad DB" is not a valid CouchDB database name/,
    );
    assert.match(
      onlyProblem([{ ...good(), batchSize: 0 }]),
      /^pillow "cases": batchSize: must be a whole number from 1 to 10000$/,
    );
    assert.match(onlyProblem([{ ...good(), retry: { attempts: -1 } }]), /retry\.attempts: must be a whole number/);
    assert.match(onlyProblem([good(), good()]), /^pillow "cases": name: is declared twice$/);
    assert.match(onlyProblem({ pillows: [] }), /must export an array of pillows/);
  });

  for (const [file, expected] of [
    [
      'bad-table.config.ts',
      /^pillowtop: config: pillow "cases": processors\[0\] \(postgresMirror:cases; DROP TABLE x\): table "cases; DROP TABLE x" must be lowercase/,
    ],
    [
      'unknown-processor.config.ts',
      /^pillowtop: config: pillow "cases": processors\[0\]: has no processBatch function/,
    ],
    ['missing-source.config.ts', /^pillowtop: config: pillow "cases": source: is required/],
  ] as const) {
    test(`\`pillowtop worker\` with ${file} exits non-zero with one line`, async () => {
      const { code, stderr } = await workerWith(fixture(file));
      assert.equal(code, 2);
      assert.equal(stderr.trimEnd().split('\n').length, 1, `one line, got:\n${stderr}`);
      assert.match(stderr, expected);
    });
  }

  test('`pillowtop worker` with a config file that is missing or does not load exits non-zero with one line', async () => {
    const missing = await workerWith(fixture('no-such.config.ts'));
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /^pillowtop: config: config file not found: .*no-such\.config\.ts \(set PILLOWTOP_CONFIG\)\n$/,
    );

    const dir = mkdtempSync(path.join(os.tmpdir(), 'pillowtop-bad-config-'));
    const broken = path.join(dir, 'broken.config.ts');
    writeFileSync(broken, 'export default [ { name: "cases", \n');
    const result = await workerWith(broken);
    assert.equal(result.code, 2);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line, got:\n${result.stderr}`);
    assert.match(result.stderr, /^pillowtop: config: .*broken\.config\.ts: /);
  });
});
