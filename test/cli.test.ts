import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nano from 'nano';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import { runPillowtop, spawnPillowtop, temporalQuery, type CliResult, startOpsWorker } from './helpers/pillowtop-cli';
import { caseDoc, formDoc, writeDocs } from '../src/dev/demo-data';
import type { PillowStatusRow } from '../src/operations/pillow-status';
import type { RetryChangeRow } from '../src/operations/retry-changes';
import type { PillowStatusView } from '../src/workflows/types';

const PREFIX = `clit${process.pid}`;
const CASES = `${PREFIX}_cases`;
const FORMS = `${PREFIX}_forms`;
const COMMANDS = [
  'worker',
  'start',
  'stop',
  'status',
  'rewind',
  'pause',
  'resume',
  'errors',
  'retry',
  'run-docs',
  'setup',
  'dev',
];

/** One clear line on stderr, nothing on stdout, the given exit code. */
function assertFails(r: CliResult, code: number, pattern: RegExp) {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0], pattern);
}

describe('the pillowtop CLI against a dev server', () => {
  let s: Suite;
  let db: string;
  let env: NodeJS.ProcessEnv;
  const cli = (...args: string[]) => runPillowtop(args, env);
  const statusJson = async (name?: string): Promise<PillowStatusRow[]> => {
    const r = await cli('status', ...(name ? [name] : []), '--json');
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { pillows: PillowStatusRow[] }).pillows;
  };
  const count = async (sql: string) => Number((await s.pool.query(sql)).rows[0].n);

  before(async () => {
    s = await setupSuite('cli');
    db = await s.couchDb('clit');
    env = await startOpsWorker(s, { prefix: PREFIX, couchDb: db });
  });
  after(() => s.cleanup());

  test('--help works for the program and every command', async () => {
    const top = await cli('--help');
    assert.equal(top.code, 0);
    for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`^\\s+${c}\\b`, 'm'), `${c} is listed`);
    for (const c of COMMANDS) {
      const r = await cli(c, '--help');
      assert.equal(r.code, 0, `${c} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: pillowtop ${c}`, 'm'));
    }
  });

  test('failures exit non-zero with one clear line', async () => {
    assertFails(await cli('status', 'nope'), 1, new RegExp(`unknown pillow "nope"; known pillows: ${CASES}, ${FORMS}`));
    assertFails(
      await cli('pause', CASES),
      1,
      new RegExp(`pillow "${CASES}" is not running .*pillowtop start ${CASES}`),
    );
    assertFails(await cli('rewind', CASES), 2, /exactly one of --to SEQ, --to-zero, --to-now/);
    assertFails(await cli('rewind', CASES, '--to', 'a b'), 2, /--to: a seq must not contain whitespace/);
    assertFails(await cli('start'), 2, /name the pillows to start, or use --all/);
    assertFails(
      await runPillowtop(['status'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' }),
      1,
      /cannot reach Temporal at 127\.0\.0\.1:1/,
    );
    assertFails(
      await runPillowtop(['status'], { ...env, PILLOWTOP_CONFIG: '/nonexistent.ts' }),
      2,
      /config file not found/,
    );
    assertFails(
      await runPillowtop(['run-docs', CASES, 'case-1'], { ...env, PILLOWTOP_TASK_QUEUE: 'nobody-polls-this' }),
      1,
      /no worker polls task queue "nobody-polls-this"/,
    );
    const bad = await cli('frobnicate');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unknown command 'frobnicate'/);
  });

  test('start is idempotent and covers partitions; status shows progress, --json is stable', async () => {
    const stopped = await statusJson();
    assert.deepEqual(
      stopped.map((r) => [r.workflowId, r.running, r.state]),
      [
        [`pillow/${CASES}`, false, 'not started'],
        [`pillow/${FORMS}/p0`, false, 'not started'],
        [`pillow/${FORMS}/p1`, false, 'not started'],
      ],
    );
    await writeDocs(s.couchUrl, db, [
      ...Array.from({ length: 60 }, (_, i) => caseDoc(i)),
      ...Array.from({ length: 8 }, (_, i) => formDoc(i)),
    ]);
    const first = await cli('start', '--all');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^pillow/${CASES}: started`, 'm'));
    assert.match(first.stdout, new RegExp(`^pillow/${FORMS}/p1: started`, 'm'));
    const again = await cli('start', CASES);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`^pillow/${CASES}: already running`, 'm'));

    const rows = (await eventually('all 60 cases processed and caught up', async () => {
      const r = await statusJson(CASES);
      return r[0].processed === 60 && r[0].pending === 0 ? r : null;
    }))!;
    assert.deepEqual(Object.keys(rows[0]).sort(), [
      'checkpoint',
      'failed',
      'lagSeconds',
      'lastBatchAt',
      'lastError',
      'oldLayout',
      'partition',
      'paused',
      'pending',
      'pillow',
      'processed',
      'rate',
      'running',
      'skipped',
      'state',
      'workflowId',
    ]);
    assert.equal(rows[0].running, true);
    assert.equal(rows[0].lagSeconds, 0, 'caught up is zero lag');
    assert.equal(rows[0].failed, 0);
    assert.ok(['running', 'idle'].includes(rows[0].state), rows[0].state);
    assert.equal(await count(`SELECT count(*) n FROM ${PREFIX}_mirror`), 60);

    await eventually('forms split over two partitions', async () => {
      const f = await statusJson(FORMS);
      return f.length === 2 && f.every((r) => r.running) && f.reduce((n, r) => n + (r.processed ?? 0), 0) === 8;
    });

    const table = await cli('status');
    assert.equal(table.code, 0, table.stderr);
    for (const h of ['pillow', 'state', 'checkpoint', 'processed', 'failed', 'pending', 'lag', 'last batch'])
      assert.match(table.stdout, new RegExp(`\\b${h}\\b`));
    assert.match(table.stdout, new RegExp(`${CASES} .*│ 60 `));
    assert.match(table.stdout, new RegExp(`${FORMS} p1`));
  });

  test('status --watch refreshes in place until interrupted', async () => {
    const child = spawnPillowtop(['status', CASES, '--watch', '--interval', '0.5'], env);
    await eventually('two refreshes', async () => (child.out().match(/refreshed /g) ?? []).length >= 2, 60_000);
    assert.match(child.out(), /\x1b\[/, 'redraws with cursor movement, not by scrolling');
    child.kill('SIGINT');
    assert.equal(await child.exit, 0, child.err());
  });

  test('pause, rewind and resume; the Temporal CLI and pillowtop CLI see the same state', async () => {
    const paused = await cli('pause', CASES);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, new RegExp(`^pillow/${CASES}: paused at checkpoint \\S+`, 'm'));
    const head = (await statusJson(CASES))[0].checkpoint!;
    assert.equal((await statusJson(CASES))[0].state, 'paused');

    // a rewind with the plain Temporal CLI shows in pillowtop status
    await s.temporalCli([
      'workflow',
      'signal',
      '--workflow-id',
      `pillow/${CASES}`,
      '--name',
      'rewind',
      '--input',
      '{"to":"0"}',
    ]);
    await eventually('pillowtop sees the rewind to 0', async () => (await statusJson(CASES))[0].checkpoint === '0');
    const update = await s.temporalCli([
      'workflow',
      'update',
      'execute',
      '--workflow-id',
      `pillow/${CASES}`,
      '--name',
      'setCheckpoint',
      '--input',
      '{"seq":"3"}',
      '-o',
      'json',
    ]);
    assert.match(update, /"previous":\s*"0"/);
    assert.equal((await statusJson(CASES))[0].checkpoint, '3');

    // a rewind with pillowtop shows in the Temporal CLI's query
    const to = await cli('rewind', CASES, '--to', '7');
    assert.equal(to.code, 0, to.stderr);
    assert.equal(to.stdout.trim(), `pillow/${CASES}: checkpoint 3 -> 7`);
    assert.equal((await temporalQuery<PillowStatusView>(`pillow/${CASES}`)).checkpoint, '7');
    // a seq the source would not accept is refused before it is stored, with the reason
    assertFails(
      await cli('rewind', CASES, '--to', 'garbage'),
      1,
      new RegExp(
        `pillow/${CASES}: checkpoint not moved: seq "garbage" is not a seq of "${db}": this server's seqs are integers`,
      ),
    );
    assert.equal((await statusJson(CASES))[0].checkpoint, '7');

    const zero = await cli('rewind', CASES, '--to-zero');
    assert.equal(zero.stdout.trim(), `pillow/${CASES}: checkpoint 7 -> 0`);
    const now = await cli('rewind', CASES, '--to-now');
    assert.equal(now.code, 0, now.stderr);
    assert.equal(now.stdout.trim(), `pillow/${CASES}: checkpoint 0 -> ${head}`);
    assert.equal((await temporalQuery<PillowStatusView>(`pillow/${CASES}`)).checkpoint, head);

    const resumed = await cli('resume', CASES);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`^pillow/${CASES}: resumed at checkpoint ${head}`, 'm'));
    const row = (await statusJson(CASES))[0];
    assert.equal(row.paused, false);
    assert.equal(row.processed, 60, 'rewound to the head: nothing reprocessed');
  });

  test('errors lists a failing doc with its error; retry resolves it once the doc is fixed', async () => {
    const bad = { ...caseDoc(500), domain: undefined };
    delete bad.domain;
    const revs = await writeDocs(s.couchUrl, db, [bad]);
    const parked = (await eventually(
      'the bad doc is parked',
      async () => {
        const r = await cli('errors', CASES, '--json');
        const rows = (JSON.parse(r.stdout) as { changes: RetryChangeRow[] }).changes;
        return rows.length === 1 && rows[0].state === 'parked' ? rows[0] : null;
      },
      60_000,
    ))!;
    assert.equal(parked.docId, 'case-00000500');
    assert.equal(parked.pillow, CASES);
    assert.equal(parked.attempts, 1);
    assert.match(parked.lastError!, /column "domain" is required/);

    const text = await cli('errors');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /case-00000500.*parked/);
    assert.match(text.stdout, /1 failing change\(s\), 1 parked/);
    assert.equal((await statusJson(CASES))[0].failed, 1);

    assertFails(await cli('retry', CASES, 'case-nope'), 1, /not failing in pillow .*: case-nope/);

    // fixed while the pillow is paused, so only `retry` can bring it through
    assert.equal((await cli('pause', CASES)).code, 0);
    await nano(s.couchUrl)
      .use(db)
      .insert({ ...caseDoc(500), _rev: revs.get('case-00000500') });
    const retried = await cli('retry', CASES, 'case-00000500');
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /retrying 1 change\(s\)/);
    await eventually('the fixed doc is in the index and no longer failing', async () => {
      const r = await cli('errors', CASES, '--json');
      return (
        (JSON.parse(r.stdout) as { changes: unknown[] }).changes.length === 0 &&
        (await count(`SELECT count(*) n FROM ${PREFIX}_index WHERE doc_id = 'case-00000500'`)) === 1
      );
    });
    const none = await cli('errors', CASES);
    assert.match(none.stdout, new RegExp(`no failing changes in pillow ${CASES}`));
  });

  test('run-docs processes chosen docs now, and says which failed', async () => {
    // still paused: only run-docs writes these
    const broken = caseDoc(601) as Record<string, unknown>;
    delete broken.domain;
    await writeDocs(s.couchUrl, db, [caseDoc(600), broken as never]);
    const ok = await cli('run-docs', CASES, 'case-00000600');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'case-00000600: ok');
    assert.equal(await count(`SELECT count(*) n FROM ${PREFIX}_mirror WHERE id = 'case-00000600'`), 1);

    const failed = await cli('run-docs', CASES, 'case-00000601');
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /^case-00000601: failed: .*column "domain" is required/m);
    assert.match(failed.stderr, /1 of 1 doc\(s\) failed \(pillow\/.*\/run-docs\//);
    assert.equal(await count(`SELECT count(*) n FROM ${PREFIX}_index WHERE doc_id = 'case-00000601'`), 0);
    assert.equal((await cli('resume', CASES)).code, 0);
  });

  test('setup registers search attributes (already there on the dev server)', async () => {
    const r = await cli('setup');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /PillowName and PillowStatus are already registered on namespace "default"/);
  });

  test('stop is graceful and idempotent; a stopped pillow is reported as not running', async () => {
    const before = (await statusJson(CASES))[0];
    const r = await cli('stop', CASES, FORMS);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^pillow/${CASES}: stopped at checkpoint \\S+`, 'm'));
    assert.match(r.stdout, new RegExp(`^pillow/${FORMS}/p0: stopped`, 'm'));
    const rows = await statusJson();
    assert.deepEqual(
      rows.map((x) => [x.running, x.state]),
      [
        [false, 'CANCELLED'],
        [false, 'CANCELLED'],
        [false, 'CANCELLED'],
      ],
    );
    const stored = (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [CASES])).rows[0].seq;
    assert.ok(before.checkpoint !== null && stored !== null);
    const again = await cli('stop', CASES);
    assert.equal(again.code, 0);
    assert.match(again.stdout, new RegExp(`pillow/${CASES}: not running \\(CANCELLED\\)`));
    assertFails(await cli('resume', CASES), 1, /is not running \(pillow\/.*: CANCELLED\)/);
    assertFails(await cli('rewind', CASES, '--to-zero'), 1, /is not running/);
  });
});
