import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresTable } from '../src/processors/postgres-table';
import { pillowWorkflowId } from '../src/workflows/ids';
import { pauseSignal, resumeSignal } from '../src/workflows/messages';
import type { PillowDefinition } from '../src/config/pillow-definition';
import type { Processor } from '../src/types';
import { BatchOutageError } from '../src/activities/outage';

/**
 * Catching up, one processSlice activity goes on with the next page while pages are full: few
 * workflow round trips and history events, every page still committed with its checkpoint.
 */
/** Holds the page that contains GATE_DOC open while `closed` is pending, so a test can act mid-slice. */
const GATE_DOC = 'case-00001300';
const gate: { closed: Promise<void> | null; reached: () => void } = { closed: null, reached: () => undefined };
/** Fails any page holding OUTAGE_DOC as a sink outage (the whole batch, retried by Temporal) while `down`. */
const OUTAGE_DOC = 'case-00002105';
const outage = { down: false };
const gateProcessor: Processor = {
  name: 'gate',
  async processBatch(changes) {
    if (outage.down && changes.some((c) => c.id === OUTAGE_DOC)) throw new BatchOutageError('test sink is down');
    if (gate.closed && changes.some((c) => c.id === GATE_DOC)) {
      gate.reached();
      await gate.closed;
    }
  },
};

describe('catch-up slices', () => {
  let s: Suite;
  let db: string;
  const name = 'slices';
  let pillow: PillowDefinition;

  before(async () => {
    s = await setupSuite('slices');
    db = await s.couchDb('slices');
    pillow = {
      name,
      source: { db, url: s.couchUrl },
      batchSize: 20,
      longPollSeconds: 2,
      processors: [
        postgresTable({ table: 'slices_index', columns: [{ name: 'owner_id', type: 'text' }] }),
        gateProcessor,
      ],
    };
    await s.startWorker([pillow]);
  });
  after(() => s.cleanup());

  const count = async (sql: string) => Number((await s.pool.query(sql)).rows[0].n);

  test('many pages go through few activities, and the batch count still counts pages', async () => {
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 600 }, (_, i) => caseDoc(i)),
    );
    const handle = await s.client.workflow.start('pillow', {
      workflowId: pillowWorkflowId(name),
      taskQueue: s.taskQueue,
      args: [{ name }],
    });
    await eventually('600 rows', async () => (await count('SELECT count(*) n FROM slices_index')) === 600);
    await eventually('600 processed', async () => (await s.status(name)).processed === 600);
    const status = await s.status(name);
    assert.ok(status.batches >= 30, `30 full pages of 20 are counted as batches (got ${status.batches})`);
    const history = await handle.fetchHistory();
    const activities = history.events!.filter((e) => e.activityTaskScheduledEventAttributes).length;
    assert.ok(activities < 30, `fewer activities than pages (got ${activities} for ${status.batches} pages)`);
    const stored = (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [name])).rows[0].seq;
    assert.equal(stored, status.checkpoint, 'the checkpoint mirror matches the workflow');
  });

  test('a pause during a slice stops it before its next commit; after resume every doc is written', async () => {
    let release!: () => void;
    gate.closed = new Promise<void>((r) => (release = r));
    const reached = new Promise<void>((r) => (gate.reached = r));
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 600 }, (_, i) => caseDoc(1000 + i)),
    );
    await reached; // the slice is in the middle of the new docs, holding a page open
    const handle = s.client.workflow.getHandle(pillowWorkflowId(name));
    await handle.signal(pauseSignal);
    // the cancel reaches the activity with a heartbeat's answer; it ends the slice with the pages it
    // committed, while the page held open is still in the processor
    await eventually('paused', async () => (await s.status(name)).status === 'paused');
    release(); // that page now sees the cancel before its COMMIT and rolls back
    const whilePaused = await count('SELECT count(*) n FROM slices_index');
    assert.ok(whilePaused < 1200, `the slice stopped before the end (${whilePaused} rows)`);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await count('SELECT count(*) n FROM slices_index'), whilePaused, 'nothing written while paused');

    await handle.signal(resumeSignal);
    await eventually('1200 rows', async () => (await count('SELECT count(*) n FROM slices_index')) === 1200);
    await eventually('caught up, with the mirror at the workflow checkpoint', async () => {
      const status = await s.status(name);
      const stored = (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [name])).rows[0]
        .seq;
      // the cancelled slice reported the pages it committed, and the held one was rolled back and
      // written again after the resume: every doc counted once
      return (
        status.status !== 'catching-up' &&
        status.status !== 'failing' &&
        stored === status.checkpoint &&
        status.processed === 1200
      );
    });
    assert.equal((await s.status(name)).failed, 0);
  });

  test('a page failing mid-slice: the pages before it are committed and reported, the failing one is retried', async () => {
    outage.down = true;
    const before = await count('SELECT count(*) n FROM slices_index');
    const processedBefore = (await s.status(name)).processed;
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 200 }, (_, i) => caseDoc(2000 + i)),
    );
    // pages of 20: the failing page starts at most 19 docs before 2105; everything before it goes through
    const newRows = (where: string) =>
      count(`SELECT count(*) n FROM slices_index WHERE doc_id >= 'case-00002000' AND ${where}`);
    await eventually(
      'the pages before the failing one are written',
      async () => (await newRows(`doc_id <= 'case-00002085'`)) === 86,
    );
    await eventually('the workflow heard of them: its checkpoint is the committed one', async () => {
      const status = await s.status(name);
      const stored = (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [name])).rows[0]
        .seq;
      return status.checkpoint === stored && status.processed >= processedBefore + 86;
    });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await newRows(`doc_id >= 'case-00002105'`), 0, 'nothing from the failing page on');
    outage.down = false;
    await eventually(
      'the rest once the sink is back',
      async () => (await count('SELECT count(*) n FROM slices_index')) === before + 200,
      60_000,
    );
    assert.equal((await s.status(name)).failed, 0, 'an outage parks no change');
  });
});
