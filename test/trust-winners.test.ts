import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import nano from 'nano';
import { setupSuite, eventually, cancelAndWait, type Suite } from './helpers/harness';
import { assertPillowMatchesSource, assertSinkMatchesSource, indexDiff, sourceState } from './helpers/faults-check';
import { reportTally, tally } from './helpers/faults-tally';
import { caseDoc, formDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { postgresTable } from '../src/processors/postgres-table';
import { writeChanges } from '../src/activities/write-changes';
import { silentLogger } from '../src/logging';
import { noopMetrics } from '../src/metrics/pillow-metrics';
import { pillowWorkflowId } from '../src/workflows/ids';
import { retryChangeId } from '../src/temporal/retry-change-id';
import { retryStatusQuery } from '../src/workflows/messages';
import type { PillowDefinition } from '../src/config/pillow-definition';
import type { Doc } from '../src/types';
import type { RetryChangeStatus } from '../src/workflows/types';

/**
 * The sinks hold CouchDB's winning revisions and only those: soft deletes and docs leaving the
 * filter are removed, a lower-generation winner replaces a deleted branch, a re-created database
 * with restarted generations is followed, ids of any length are stored, and a failing change is
 * never lost between the commit that passes it and its retry workflow.
 */
describe('trust: the sinks follow CouchDB winners', () => {
  let s: Suite;
  let db: string;
  const name = 'trust';
  const table = 'trust_mirror';
  const index = 'trust_index';
  let pillow: PillowDefinition;
  let recreated: PillowDefinition;
  const database = () => nano(s.couchUrl).use<Doc>(db);
  const check = () => assertPillowMatchesSource(s, name, { db, table, indexTable: index, docTypes: ['CommCareCase'] });
  const start = () =>
    s.client.workflow.start('pillow', { workflowId: pillowWorkflowId(name), taskQueue: s.taskQueue, args: [{ name }] });

  before(async () => {
    s = await setupSuite('trust');
    db = await s.couchDb('trust');
    pillow = {
      name,
      source: { db },
      filter: { docTypes: ['CommCareCase'] },
      batchSize: 50,
      longPollSeconds: 1,
      retry: { attempts: 1, initialIntervalSeconds: 1 },
      processors: [
        postgresMirror({ table }),
        postgresTable({
          table: index,
          columns: [
            { name: 'owner_id', type: 'text' },
            { name: 'age', type: 'integer', expression: 'properties.age' },
          ],
        }),
      ],
    };
    // a pillow of its own for the re-created database, so the rest of the suite's docs stay
    recreated = {
      ...pillow,
      name: 'trustre',
      source: { db: await s.couchDb('trustre') },
      processors: [postgresMirror({ table: 'trustre_mirror' })],
    };
    await s.startWorker([pillow, recreated]);
    await start();
  });
  after(async () => {
    await s.client.workflow
      .getHandle(pillowWorkflowId(name))
      .terminate()
      .catch(() => undefined);
    await s.cleanup();
    reportTally(__filename);
  });

  test('a soft-deleted case and a doc that leaves the filter are removed from every sink; forms leave no tombstones', async () => {
    const revs = await writeDocs(s.couchUrl, db, [
      ...Array.from({ length: 10 }, (_, i) => caseDoc(i)),
      ...Array.from({ length: 30 }, (_, i) => formDoc(i)),
    ]);
    await check();
    // CommCare's soft delete, and a doc whose type changed to one the pillow does not keep
    await database().insert({ ...caseDoc(1), _rev: revs.get('case-00000001'), doc_type: 'CommCareCase-Deleted' });
    await database().insert({ ...caseDoc(2), _rev: revs.get('case-00000002'), doc_type: 'SomethingElse' });
    // forms deleted: deletions of docs the sinks never held
    for (let i = 0; i < 10; i++)
      await database().destroy(`form-${String(i).padStart(8, '0')}`, revs.get(`form-${String(i).padStart(8, '0')}`)!);
    await eventually(
      'removed from the typed table',
      async () =>
        (await s.pool.query(`SELECT 1 FROM ${index} WHERE doc_id IN ('case-00000001', 'case-00000002')`)).rowCount ===
        0,
    );
    const mirror = await s.pool.query<{ id: string; deleted: boolean; doc: unknown }>(
      `SELECT id, deleted, doc FROM ${table} WHERE id IN ('case-00000001', 'case-00000002') ORDER BY id`,
    );
    assert.deepEqual(
      mirror.rows,
      [
        { id: 'case-00000001', deleted: true, doc: null },
        { id: 'case-00000002', deleted: true, doc: null },
      ],
      'the mirror keeps a tombstone for the docs it held',
    );
    await check();
    const forms = await s.pool.query(`SELECT count(*) AS n FROM ${table} WHERE id LIKE 'form-%'`);
    assert.equal(Number(forms.rows[0].n), 0, 'no tombstones for docs the mirror never held');
    tally.faults += 1;
  });

  test('a lower-generation live branch that wins over a deleted higher one replaces it in the sinks', async () => {
    const id = 'conflicted';
    const first = await database().insert({ ...caseDoc(50), _id: id });
    const second = await database().insert({ ...caseDoc(50, 1), _id: id, _rev: first.rev });
    const third = await database().insert({ ...caseDoc(50, 2), _id: id, _rev: second.rev });
    await eventually(
      'generation 3 in the sinks',
      async () => (await s.pool.query(`SELECT rev FROM ${table} WHERE id = $1`, [id])).rows[0]?.rev === third.rev,
    );
    // the generation-4 branch is deleted; a replicated generation-2 branch off generation 1 is live: it wins
    await database().destroy(id, third.rev);
    const firstHash = first.rev.split('-')[1];
    await database().bulk({
      docs: [
        {
          ...caseDoc(50, 9),
          _id: id,
          _rev: '2-0000000000000000000000000000ffff',
          _revisions: { start: 2, ids: ['0000000000000000000000000000ffff', firstHash] },
        },
      ],
      new_edits: false,
    } as unknown as { docs: Doc[] });
    const winner = (await database().get(id)) as Doc;
    assert.equal(winner._rev, '2-0000000000000000000000000000ffff', 'CouchDB picks the live lower generation');
    await check();
    const row = (await s.pool.query(`SELECT rev, deleted, doc->>'name' AS name FROM ${table} WHERE id = $1`, [id]))
      .rows[0];
    assert.deepEqual(row, { rev: winner._rev, deleted: false, name: 'Case 50 v9' });
    tally.faults += 1;
  });

  test('a database deleted and re-created with restarted generations: re-created docs are written, vanished ones removed', async () => {
    const db2 = recreated.source.db;
    const revs = await writeDocs(s.couchUrl, db2, [caseDoc(1), caseDoc(2), caseDoc(3)]);
    for (const n of [1, 2, 3]) {
      const id = `case-0000000${n}`;
      const again = await nano(s.couchUrl)
        .use<Doc>(db2)
        .insert({ ...caseDoc(n, 1), _rev: revs.get(id) });
      revs.set(id, again.rev);
    }
    await s.client.workflow.start('pillow', {
      workflowId: pillowWorkflowId('trustre'),
      taskQueue: s.taskQueue,
      args: [{ name: 'trustre' }],
    });
    const re = () =>
      assertSinkMatchesSource({
        pool: s.pool,
        couchUrl: s.couchUrl,
        db: db2,
        table: 'trustre_mirror',
        docTypes: ['CommCareCase'],
        pillowKey: 'trustre',
        checkpoint: async () => (await s.status('trustre')).checkpoint,
      });
    await re();
    // re-created (or restored from an old backup): case 1 starts again at generation 1, 2 and 3 are gone
    await nano(s.couchUrl).db.destroy(db2);
    await nano(s.couchUrl).db.create(db2);
    await writeDocs(s.couchUrl, db2, [caseDoc(1, 5)]);
    await eventually(
      'the re-created doc written, the vanished ones removed',
      async () => {
        const { rows } = await s.pool.query<{ id: string; rev: string }>(
          `SELECT id, rev FROM trustre_mirror WHERE NOT deleted ORDER BY id`,
        );
        return rows.length === 1 && rows[0].id === 'case-00000001' && rows[0].rev.startsWith('1-');
      },
      60_000,
    );
    await re();
    await cancelAndWait(s.client, pillowWorkflowId('trustre'));
    tally.faults += 1;
  });

  test('a 3,000-character random id is stored in every sink; failing, it gets a retry workflow within 255 bytes', async () => {
    const longId = randomBytes(2250).toString('base64');
    assert.equal(longId.length, 3000);
    const badId = 'bad-' + randomBytes(2247).toString('base64');
    await writeDocs(s.couchUrl, db, [
      { ...caseDoc(60), _id: longId },
      { ...caseDoc(61), _id: badId, properties: { age: 'forty' } },
    ]);
    await eventually(
      'the long id in the typed table',
      async () => (await s.pool.query(`SELECT doc_id FROM ${index} WHERE doc_id = $1`, [longId])).rowCount === 1,
    );
    const workflowId = retryChangeId(name, badId);
    assert.ok(Buffer.byteLength(workflowId) <= 255, `${workflowId.length} bytes`);
    const retry = await eventually('the failing long id has its retry workflow', () =>
      s.client.workflow.getHandle(workflowId).query(retryStatusQuery),
    );
    assert.equal((retry as RetryChangeStatus).docId, badId);
    // fixed: the new revision goes through and resolves it
    const current = (await database().get(badId)) as Doc;
    await database().insert({ ...current, properties: { age: 40 } });
    await eventually(
      'resolved',
      async () =>
        (await s.pool.query(`SELECT 1 FROM pillowtop_failing_docs WHERE doc_id = $1`, [badId])).rowCount === 0,
    );
    await check();
    tally.badInputs += 2;
  });

  test('a failure committed with its checkpoint but never handed off (the worker died) gets its retry workflow when the pillow starts again', async () => {
    const id = 'orphaned-failure';
    await writeDocs(s.couchUrl, db, [{ ...caseDoc(70), _id: id, properties: { age: 'seventy' } }]);
    // as if the worker died between the commit and the hand-off: recorded, not handed off, no workflow
    const handedOff = async () =>
      (await s.pool.query(`SELECT handed_off FROM pillowtop_failing_docs WHERE doc_id = $1`, [id])).rows[0]
        ?.handed_off === true;
    await eventually('recorded and handed off', handedOff);
    await s.client.workflow.getHandle(retryChangeId(name, id)).terminate();
    await s.pool.query(`UPDATE pillowtop_failing_docs SET handed_off = false WHERE doc_id = $1`, [id]);
    const terminatedRun = (await s.client.workflow.getHandle(retryChangeId(name, id)).describe()).runId;

    await cancelAndWait(s.client, pillowWorkflowId(name));
    await start();
    await eventually('a new retry workflow for the recorded failure', async () => {
      const desc = await s.client.workflow.getHandle(retryChangeId(name, id)).describe();
      return desc.runId !== terminatedRun && desc.status.name === 'RUNNING';
    });
    await eventually('handed off again', handedOff);
    // fixed at the source: the doc lands, the recorded failure is resolved
    const current = (await database().get(id)) as Doc;
    await database().insert({ ...current, properties: { age: 70 } });
    await check();
    tally.faults += 1;
  });

  test('a writer whose page does not start at the stored checkpoint (a zombie of an earlier run) writes nothing', async () => {
    const stored = (
      await s.pool.query<{ seq: string }>(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [name])
    ).rows[0].seq;
    const before = await indexDiff(s.pool, index, await sourceState(s.couchUrl, db));
    const stale: Doc = { ...caseDoc(3), _rev: '1-stale', properties: { age: 1 } };
    const result = await writeChanges({
      pool: s.pool,
      pillow: name,
      processors: pillow.processors,
      locks: ['pillowtop:write:trust:0'],
      load: async () => ({
        kept: [{ id: stale._id, seq: '1', deleted: false, rev: stale._rev, doc: stale }],
        failed: [],
        filteredOut: new Set(),
      }),
      checkpoint: { key: name, since: '0', lastSeq: '1' },
      recordFailures: true,
      log: silentLogger,
      metrics: noopMetrics,
      slowThresholdMs: 5000,
    });
    assert.equal(result.checkpointMovedTo, stored, 'told where the checkpoint really is');
    const row = (await s.pool.query(`SELECT doc_rev FROM ${index} WHERE doc_id = $1`, [stale._id])).rows[0];
    assert.notEqual(row?.doc_rev, '1-stale', 'nothing written');
    assert.deepEqual(await indexDiff(s.pool, index, await sourceState(s.couchUrl, db)), before);
    tally.faults += 1;
  });
});
