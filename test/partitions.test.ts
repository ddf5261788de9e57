import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setupSuite, eventually, cancelAndWait, type Suite } from './helpers/harness';
import nano from 'nano';
import { caseDoc, formDoc, writeDocs } from '../src/dev/demo-data';
import { postgresTable } from '../src/processors/postgres-table';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { startCouch3Proxy, type Couch3Proxy } from './helpers/couch3-proxy';
import { partitionOf } from '../src/partition-hash';
import { resolvePillow, type PillowDefinition } from '../src/config/pillow-definition';
import { startPillow } from '../src/operations/start-pillow';
import type { Doc, Processor } from '../src/types';

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

/** Appends one row per change it is handed, with the revision and deletion it carried. */
function revLog(table: string): Processor {
  return {
    name: `revLog:${table}`,
    async setup({ db }) {
      await db.query(`CREATE TABLE IF NOT EXISTS ${table} (doc_id text NOT NULL, rev text, deleted boolean NOT NULL)`);
    },
    async processBatch(changes, { db }) {
      await db.query(
        `INSERT INTO ${table} (doc_id, rev, deleted) SELECT * FROM unnest($1::text[], $2::text[], $3::bool[])`,
        [changes.map((c) => c.id), changes.map((c) => c.rev ?? null), changes.map((c) => c.deleted)],
      );
    },
  };
}

describe('partitions read the feed without bodies and fetch only their own docs', () => {
  let s: Suite;
  let proxy: Couch3Proxy;
  const PARTITIONS = 2;

  before(async () => {
    s = await setupSuite('partread');
    proxy = await startCouch3Proxy(s.couchUrl);
  });
  after(async () => {
    await s.cleanup();
    await proxy.close();
  });

  const pillowOn = (name: string, db: string, url: string, extra: Processor[] = []): PillowDefinition => ({
    name,
    source: { db, url },
    filter: { docTypes: ['CommCareCase'] },
    batchSize: 25,
    longPollSeconds: 1,
    partitions: PARTITIONS,
    processors: [postgresMirror({ table: `${name}_mirror` }), ...extra],
  });

  /** Throws, saying how, unless the mirror's live rows are exactly the source's live CommCareCase docs at their winning revisions. */
  async function mirrorEqualsWinners(db: string, table: string): Promise<true> {
    const rows = (await nano(s.couchUrl).use<Doc>(db).list({ include_docs: true })).rows;
    const want = new Map(
      rows.filter((r) => r.doc?.doc_type === 'CommCareCase').map((r) => [r.id, r.value.rev] as [string, string]),
    );
    const held = new Map(
      (await s.pool.query<{ id: string; rev: string }>(`SELECT id, rev FROM ${table} WHERE NOT deleted`)).rows.map(
        (r) => [r.id, r.rev],
      ),
    );
    const wrong = [...want].filter(([id, rev]) => held.get(id) !== rev).map(([id]) => id);
    const extra = [...held.keys()].filter((id) => !want.has(id));
    if (wrong.length || extra.length)
      throw new Error(
        `mirror differs: ${wrong.length} missing or stale (${wrong.slice(0, 3).join()}), ${extra.length} extra (${extra.slice(0, 3).join()})`,
      );
    return true;
  }

  for (const face of ['pouchdb-server', 'CouchDB 3'] as const) {
    test(`on ${face}: the sinks end equal to the winning revisions through updates, deletes, soft deletes and other doc types`, async () => {
      const db = await s.couchDb('partread');
      const name = face === 'CouchDB 3' ? 'prc3' : 'prpd';
      const pillow = pillowOn(name, db, face === 'CouchDB 3' ? proxy.url : s.couchUrl);
      const worker = await s.startWorker([pillow]);
      const revs = await writeDocs(s.couchUrl, db, [
        ...Array.from({ length: 120 }, (_, i) => caseDoc(i)),
        ...Array.from({ length: 20 }, (_, i) => formDoc(i)),
        { _id: '_design/views', views: {} },
      ]);
      await startPillow(s.client, resolvePillow(pillow), s.taskQueue);
      // while it reads: updates, deletes, soft deletes, a case turned into a form
      const id = (i: number) => caseDoc(i)._id as string;
      await writeDocs(s.couchUrl, db, [
        ...Array.from({ length: 30 }, (_, i) => ({ ...caseDoc(i, 1), _rev: revs.get(id(i)) })),
        ...Array.from({ length: 20 }, (_, i) => ({ _id: id(40 + i), _rev: revs.get(id(40 + i)), _deleted: true })),
        ...Array.from({ length: 5 }, (_, i) => ({
          ...caseDoc(70 + i),
          doc_type: 'CommCareCase-Deleted',
          _rev: revs.get(id(70 + i)),
        })),
        { ...caseDoc(80), doc_type: 'XFormInstance', _rev: revs.get(id(80)) },
        ...Array.from({ length: 30 }, (_, i) => caseDoc(200 + i)),
      ]);
      await eventually(`${face}: the mirror equals the winners`, () => mirrorEqualsWinners(db, `${name}_mirror`));
      const processed = async () => {
        let n = 0;
        for (let p = 0; p < PARTITIONS; p++) n += (await s.status(name, p)).processed;
        return n;
      };
      assert.ok((await processed()) > 0);
      for (let p = 0; p < PARTITIONS; p++) await cancelAndWait(s.client, `pillow/${name}/p${p}`);
      await worker.stop();
    });
  }

  test('CouchDB 3: docs updated, deleted or turned into another type between the feed read and the fetch', async () => {
    const db = await s.couchDb('partrace');
    const name = 'prrace';
    const pillow = pillowOn(name, db, proxy.url, [revLog('prrace_log')]);
    await s.startWorker([pillow]);
    const revs = await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 20 }, (_, i) => caseDoc(i)),
    );
    const id = (i: number) => caseDoc(i)._id as string;
    const racing = new Map<string, string>();
    // the first bulk read of bodies finds every doc moved on since the feed was read
    proxy.beforeNextAllDocs(async () => {
      const now = await writeDocs(s.couchUrl, db, [
        ...Array.from({ length: 5 }, (_, i) => ({ ...caseDoc(i, 1), _rev: revs.get(id(i)) })),
        ...Array.from({ length: 5 }, (_, i) => ({ _id: id(5 + i), _rev: revs.get(id(5 + i)), _deleted: true })),
        ...Array.from({ length: 5 }, (_, i) => ({
          ...caseDoc(10 + i),
          doc_type: 'XFormInstance',
          _rev: revs.get(id(10 + i)),
        })),
      ]);
      for (const [doc, rev] of now) racing.set(doc, rev);
    });
    await startPillow(s.client, resolvePillow(pillow), s.taskQueue);
    await eventually('the mirror equals the winners', () => mirrorEqualsWinners(db, `${name}_mirror`));
    assert.equal(racing.size, 15, 'the race happened');
    const log = (await s.pool.query<{ doc_id: string; rev: string; deleted: boolean }>(`SELECT * FROM prrace_log`))
      .rows;
    for (const [doc, rev] of racing) {
      const original = revs.get(doc);
      assert.ok(
        !log.some((r) => r.doc_id === doc && r.rev === original && !r.deleted),
        `${doc}: its first revision was never written, since its body was read after it had moved on`,
      );
      assert.ok(
        log.some((r) => r.doc_id === doc && r.rev === rev),
        `${doc}: its winner went through`,
      );
    }
    // the deleted ones and the ones that left the filter went through as deletions only
    for (let i = 5; i < 15; i++)
      assert.ok(
        log.filter((r) => r.doc_id === id(i)).every((r) => r.deleted),
        id(i),
      );
  });
});
