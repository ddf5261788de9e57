import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setupSuite, eventually, cancelAndWait, type Suite } from './helpers/harness';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresTable } from '../src/processors/postgres-table';
import { partitionOf } from '../src/partition-hash';
import { resolvePillow, type PillowDefinition } from '../src/config/pillow-definition';
import { startPillow } from '../src/operations/start-pillow';
import type { Processor } from '../src/types';

/** Appends one row per change it is handed, in the batch's transaction: counts how often each doc went through. */
function seenLog(table: string): Processor {
  return {
    name: `seenLog:${table}`,
    async setup({ db }) {
      await db.query(`CREATE TABLE IF NOT EXISTS ${table} (doc_id text NOT NULL, checkpoint text NOT NULL)`);
    },
    async processBatch(changes, { db, lastSeq }) {
      await db.query(`INSERT INTO ${table} (doc_id, checkpoint) SELECT unnest($1::text[]), $2`, [
        changes.map((c) => c.id),
        lastSeq,
      ]);
    },
  };
}

describe('a partitioned pillow on several workers', () => {
  let s: Suite;
  let db: string;
  const name = 'parts';
  const PARTITIONS = 3;
  let pillow: PillowDefinition;

  before(async () => {
    s = await setupSuite('partitions');
    db = await s.couchDb('parts');
    pillow = {
      name,
      source: { db, url: s.couchUrl },
      filter: { docTypes: ['CommCareCase'] },
      batchSize: 40,
      longPollSeconds: 2,
      partitions: PARTITIONS,
      processors: [
        seenLog('parts_seen'),
        postgresTable({ table: 'parts_index', columns: [{ name: 'owner_id', type: 'text' }] }),
      ],
    };
    // two workers on the same task queue share the partitions' workflows and activities
    await s.startWorker([pillow]);
    await s.startWorker([pillow]);
  });
  after(() => s.cleanup());

  const count = async (sql: string, params: unknown[] = []) => Number((await s.pool.query(sql, params)).rows[0].n);
  const share = (ids: string[], p: number) => ids.filter((id) => partitionOf(id, PARTITIONS) === p).length;

  test('the partitions together write every doc exactly once, each partition its own share', async () => {
    const docs = Array.from({ length: 300 }, (_, i) => caseDoc(i));
    await writeDocs(s.couchUrl, db, docs);
    const started = await startPillow(s.client, resolvePillow(pillow), s.taskQueue);
    assert.deepEqual(
      started.map((p) => p.workflowId),
      [0, 1, 2].map((p) => `pillow/${name}/p${p}`),
    );

    await eventually('300 rows', async () => (await count('SELECT count(*) n FROM parts_index')) === 300);
    const ids = docs.map((d) => d._id as string);
    await eventually('every partition has counted its share', async () => {
      for (let p = 0; p < PARTITIONS; p++) if ((await s.status(name, p)).processed !== share(ids, p)) return false;
      return true;
    });
    assert.equal(await count('SELECT count(DISTINCT doc_id) n FROM parts_seen'), 300);
    assert.equal(await count('SELECT count(*) n FROM parts_seen'), 300, 'no doc went through two partitions');
    for (let p = 0; p < PARTITIONS; p++) {
      const status = await s.status(name, p);
      assert.equal(status.partition, p);
      assert.ok(status.processed > 0, `partition ${p} has docs of its own`);
      assert.equal(status.skipped, 300 - status.processed, `partition ${p} skips the other partitions' docs`);
    }
  });

  test('each partition keeps its own checkpoint: one stopped and restarted resumes from its own', async () => {
    const checkpoints = async () =>
      new Map(
        (
          await s.pool.query<{ pillow: string; seq: string }>(
            `SELECT pillow, seq FROM pillowtop_checkpoints WHERE pillow LIKE $1`,
            [`${name}/p%`],
          )
        ).rows.map((r) => [r.pillow, r.seq]),
      );
    const before = await checkpoints();
    assert.deepEqual([...before.keys()].sort(), ['parts/p0', 'parts/p1', 'parts/p2']);
    assert.ok(!before.has(name), 'no checkpoint under the unpartitioned name');

    await cancelAndWait(s.client, `pillow/${name}/p1`);
    const stopped = (await checkpoints()).get('parts/p1');

    const more = Array.from({ length: 90 }, (_, i) => caseDoc(1000 + i));
    await writeDocs(s.couchUrl, db, more);
    const moreIds = more.map((d) => d._id as string);
    const expectedWhileStopped = 300 + 90 - share(moreIds, 1);
    await eventually(
      'the running partitions write their share of the new docs',
      async () => (await count('SELECT count(*) n FROM parts_index')) === expectedWhileStopped,
    );
    const during = await checkpoints();
    assert.equal(during.get('parts/p1'), stopped, 'the stopped partition did not move');
    assert.notEqual(during.get('parts/p0'), before.get('parts/p0'), 'a running partition moved on');

    await startPillow(s.client, resolvePillow(pillow), s.taskQueue); // starts only the stopped one
    await eventually('all 390 rows', async () => (await count('SELECT count(*) n FROM parts_index')) === 390);
    await eventually('the restarted partition processed only its share of the new docs', async () => {
      const status = await s.status(name, 1);
      return status.processed === share(moreIds, 1) && status.runs === 1;
    });
    assert.equal(await count('SELECT count(*) n FROM parts_seen'), 390, 'every doc exactly once, still');
  });
});
