import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { setupSuite, eventually, cancelAndWait, type Suite } from './helpers/harness';
import { startRewindingProxy, type RewindingProxy } from './helpers/rewinding-proxy';
import { assertSinkMatchesSource } from './helpers/faults-check';
import { reportTally, tally } from './helpers/faults-tally';
import { captureStderr } from './helpers/capture-stderr';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { noopMetrics, type PillowMetrics } from '../src/metrics/pillow-metrics';
import { pillowWorkflowId } from '../src/workflows/ids';
import { pauseSignal, resumeSignal } from '../src/workflows/messages';
import type { PillowDefinition } from '../src/config/pillow-definition';

const run = promisify(execFile);
const bin = path.resolve(__dirname, '..', 'bin', 'pillowtop');

describe('faults: a feed that goes backwards', () => {
  let s: Suite;
  let db: string;
  let proxy: RewindingProxy;
  const name = 'frwd';
  const table = 'frwd_mirror';
  const rewindsCounted: string[] = [];
  const metrics: PillowMetrics = { ...noopMetrics, rewind: (pillow) => rewindsCounted.push(pillow) };
  const stored = async () =>
    (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [name])).rows[0]?.seq as string;
  const fixRewind = (...args: string[]) =>
    run(process.execPath, [bin, 'fix-rewind', ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: s.temporalAddress, DATABASE_URL: s.databaseUrl },
      timeout: 60_000,
    });
  const check = () => assertSinkMatchesSource({ pool: s.pool, couchUrl: s.couchUrl, db, table, pillowKey: name });

  before(async () => {
    s = await setupSuite('frwd');
    db = await s.couchDb('frwd');
    proxy = await startRewindingProxy(s.couchUrl);
    const pillow: PillowDefinition = {
      name,
      source: { db, url: proxy.url },
      batchSize: 10,
      longPollSeconds: 1,
      processors: [
        postgresMirror({ table }),
        // slow enough that a rewound feed takes a few seconds to catch up again
        { name: 'slow', processBatch: () => new Promise((r) => setTimeout(r, 200)) },
      ],
    };
    await s.startWorker([pillow], { metrics });
  });
  after(async () => {
    await s.client.workflow
      .getHandle(pillowWorkflowId(name))
      .terminate()
      .catch(() => undefined);
    await s.cleanup();
    await proxy.close();
    reportTally(__filename);
  });

  test('a rewind is detected, reported, recorded, and undone by `pillowtop fix-rewind`', async () => {
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 100 }, (_, i) => caseDoc(i)),
    );
    await s.client.workflow.start('pillow', {
      workflowId: pillowWorkflowId(name),
      taskQueue: s.taskQueue,
      args: [{ name }],
    });
    await check();
    const head = (await s.status(name)).checkpoint;

    // capture the workflow's warning (workflow logs go to the worker's logger on stderr)
    await captureStderr(async (logged) => {
      // the CouchDB node fails over: the next read is answered from the start of the feed
      proxy.rewindNextTo('0');
      await eventually('rewind detected', async () => (await s.status(name)).rewindsDetected === 1, 60_000);
      await s.client.workflow.getHandle(pillowWorkflowId(name)).signal(pauseSignal);
      await eventually('feed rewind logged', async () => logged.some((l) => l.includes('feed went backwards')));
    });
    tally.faults += 1;
    assert.deepEqual(rewindsCounted, [name], 'pillowtop_feed_rewinds_total counted it');
    const history = await s.pool.query(
      `SELECT seq FROM pillowtop_checkpoint_history WHERE pillow = $1 AND reason = 'before feed rewind'`,
      [name],
    );
    assert.deepEqual(
      history.rows.map((r) => r.seq),
      [head],
      'the last seq before the rewind is in the checkpoint history',
    );
    await eventually('paused', async () => (await s.status(name)).status === 'paused');
    const rewoundTo = (await s.status(name)).checkpoint;

    const { stdout } = await fixRewind(name);
    assert.equal(stdout.split('\n')[0], `pillow/${name}: checkpoint was ${rewoundTo}`);
    assert.match(
      stdout.split('\n')[1],
      new RegExp(`^pillow/${name}: checkpoint now ${head} \\(last seq before the feed went backwards`),
    );
    assert.equal((await s.status(name)).checkpoint, head);
    assert.equal(await stored(), head);

    await s.client.workflow.getHandle(pillowWorkflowId(name)).signal(resumeSignal);
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 20 }, (_, i) => caseDoc(100 + i)),
    );
    await check();
  });

  test('`pillowtop fix-rewind` on a stopped pillow rewrites its stored checkpoint; the next start resumes there', async () => {
    const head = (
      await s.pool.query(`SELECT seq FROM pillowtop_checkpoint_history WHERE reason = 'before feed rewind'`)
    ).rows[0].seq;
    await cancelAndWait(s.client, pillowWorkflowId(name));
    await s.pool.query(`UPDATE pillowtop_checkpoints SET seq = '5' WHERE pillow = $1`, [name]);
    const { stdout } = await fixRewind(name);
    assert.match(stdout, new RegExp(`checkpoint was 5\\n.*checkpoint now ${head} .*not running`));
    assert.equal(await stored(), head);
    await s.client.workflow.start('pillow', {
      workflowId: pillowWorkflowId(name),
      taskQueue: s.taskQueue,
      args: [{ name }],
    });
    await eventually('started from the fixed checkpoint', async () => (await s.status(name)).checkpoint !== '');
    await check();
  });

  test('`pillowtop fix-rewind` with no recorded rewind exits non-zero with one line', async () => {
    tally.badInputs += 1;
    const err = await fixRewind('never-rewound').then(
      () => assert.fail('expected a non-zero exit'),
      (e: { code: number; stderr: string; stdout: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.equal(err.stderr, 'pillowtop: no feed rewind recorded for pillow "never-rewound": nothing to fix\n');
  });
});
