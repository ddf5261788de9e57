import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresTable } from '../src/processors/postgres-table';
import { pillowWorkflowId } from '../src/workflows/ids';
import { pauseSignal, resumeSignal } from '../src/workflows/messages';
import type { PillowDefinition } from '../src/config/pillow-definition';

/**
 * Catching up, one processBatch activity goes on with the next page while pages are full: few
 * workflow round trips and history events, every page still committed with its checkpoint.
 */
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
      processors: [postgresTable({ table: 'slices_index', columns: [{ name: 'owner_id', type: 'text' }] })],
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

  test('a pause during a slice stops it; after resume every doc is written, once per doc', async () => {
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 600 }, (_, i) => caseDoc(1000 + i)),
    );
    const handle = s.client.workflow.getHandle(pillowWorkflowId(name));
    await handle.signal(pauseSignal);
    await eventually('paused', async () => (await s.status(name)).status === 'paused');
    const whilePaused = await count('SELECT count(*) n FROM slices_index');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await count('SELECT count(*) n FROM slices_index'), whilePaused, 'nothing written while paused');
    await handle.signal(resumeSignal);
    await eventually('1200 rows', async () => (await count('SELECT count(*) n FROM slices_index')) === 1200);
    const status = await s.status(name);
    const stored = (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [name])).rows[0].seq;
    await eventually('caught up', async () => (await s.status(name)).pending === 0);
    assert.equal(status.failed, 0);
    assert.ok(stored);
  });
});
