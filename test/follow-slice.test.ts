/**
 * A caught-up pillow follows its feed in one activity of about a minute: changes arriving one by one
 * are written as they come, Temporal sees one slice instead of one per change, `pillowtop status`
 * shows the live position from the slice's heartbeat, and controls still reach it promptly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { pillowWorkflowId } from '../src/workflows/ids';
import { pauseSignal, resumeSignal, statusQuery } from '../src/workflows/messages';

describe('follow slices', () => {
  let s: Suite;
  let db: string;
  const name = 'follow';
  const count = async () => Number((await s.pool.query('SELECT count(*) n FROM follow_mirror')).rows[0].n);
  const stored = async () =>
    (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [name])).rows[0]?.seq as string;

  before(async () => {
    s = await setupSuite('follow');
    db = await s.couchDb('follow');
    await s.startWorker([
      {
        name,
        source: { db },
        batchSize: 50,
        longPollSeconds: 2,
        processors: [postgresMirror({ table: 'follow_mirror' })],
      },
    ]);
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 20 }, (_, i) => caseDoc(i)),
    );
    await s.startPillowCli(name);
    await eventually(
      'caught up',
      async () => (await count()) === 20 && (await s.status(name)).status !== 'catching-up',
    );
  });
  after(() => s.cleanup());

  test('changes one at a time are written as they come, by one slice, and status shows them live', async () => {
    const handle = s.client.workflow.getHandle(pillowWorkflowId(name));
    const slicesBefore = await slicesScheduled(handle);
    for (let i = 0; i < 8; i++) {
      await writeDocs(s.couchUrl, db, [caseDoc(100 + i)]);
      const want = 21 + i;
      await eventually(`change ${i + 1} written`, async () => (await count()) === want);
    }
    // `pillowtop status` (and the test harness) add the running slice's heartbeat to the workflow's state
    await eventually('status shows the committed checkpoint and counts', async () => {
      const live = await s.status(name);
      return live.checkpoint === (await stored()) && live.processed === 28;
    });
    // eight changes that each had a long poll of their own cost one or two slices, not eight
    const slices = (await slicesScheduled(handle)) - slicesBefore;
    assert.ok(slices <= 2, `${slices} slices scheduled for 8 changes`);
    // the workflow itself hears of them when the slice returns (about a minute after it started)
    const own = await handle.query(statusQuery);
    assert.ok(own.processed <= 28);
  });

  test('a pause reaches the follow slice: it reports what it committed and nothing is written until resume', async () => {
    const handle = s.client.workflow.getHandle(pillowWorkflowId(name));
    await handle.signal(pauseSignal);
    await eventually('paused', async () => (await s.status(name)).status === 'paused');
    const own = await handle.query(statusQuery);
    assert.equal(own.checkpoint, await stored(), 'the slice reported its pages when it was cancelled');
    assert.equal(own.processed, 28);
    await writeDocs(s.couchUrl, db, [caseDoc(200)]);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await count(), 28, 'nothing written while paused');
    await handle.signal(resumeSignal);
    await eventually('written after resume', async () => (await count()) === 29);
  });
});

async function slicesScheduled(handle: { fetchHistory(): Promise<{ events?: unknown[] | null }> }) {
  const { events } = await handle.fetchHistory();
  return (events ?? []).filter(
    (e) => (e as { activityTaskScheduledEventAttributes?: unknown }).activityTaskScheduledEventAttributes,
  ).length;
}
