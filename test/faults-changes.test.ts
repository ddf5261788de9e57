import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nano from 'nano';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import { assertPillowMatchesSource, eventuallyValue, sinkDiff, sourceState } from './helpers/faults-check';
import { reportTally, tally } from './helpers/faults-tally';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { postgresTable } from '../src/processors/postgres-table';
import { DocError } from '../src/processors/doc-error';
import { retryChangeId } from '../src/temporal/retry-change-id';
import { pillowWorkflowId } from '../src/workflows/ids';
import { pauseSignal, resumeSignal, retryNowSignal, retryStatusQuery } from '../src/workflows/messages';
import type { PillowDefinition } from '../src/config/pillow-definition';
import type { Doc, Processor } from '../src/types';
import type { RetryChangeStatus } from '../src/workflows/types';

/** What the test's own processor does; the tests flip these while the pillow runs. */
const faults = { throwFor: new Set<string>(), calls: 0 };

// throws for the docs named in `throwFor` (the doc's fault)
const flaky: Processor = {
  name: 'flaky',
  async processBatch(changes) {
    faults.calls += 1;
    for (const c of changes) {
      if (!c.deleted && (faults.throwFor.has(c.id) || c.doc?.poison === true))
        throw new DocError(`doc ${c.id.slice(0, 40)} cannot be handled`);
    }
  },
};

describe('faults: failing changes and outages', () => {
  let s: Suite;
  let db: string;
  const name = 'fchg';
  const table = 'fchg_mirror';
  const retryId = (docId: string) => retryChangeId(name, docId);
  const retryStatus = (docId: string) =>
    s.client.workflow.getHandle(retryId(docId)).query(retryStatusQuery) as Promise<RetryChangeStatus>;
  const check = () => assertPillowMatchesSource(s, name, { db, table });

  before(async () => {
    s = await setupSuite('fchg');
    db = await s.couchDb('fchg');
    const pillow: PillowDefinition = {
      name,
      source: { db },
      batchSize: 100,
      longPollSeconds: 1,
      retry: { attempts: 2, initialIntervalSeconds: 1 },
      processors: [
        postgresMirror({ table }),
        postgresTable({
          table: 'fchg_index',
          columns: [{ name: 'age', type: 'integer', expression: 'properties.age' }],
        }),
        flaky,
      ],
    };
    await s.startWorker([pillow]);
    await s.client.workflow.start('pillow', {
      workflowId: pillowWorkflowId(name),
      taskQueue: s.taskQueue,
      args: [{ name }],
    });
  });
  after(async () => {
    await s.client.workflow
      .getHandle(pillowWorkflowId(name))
      .terminate()
      .catch(() => undefined);
    await s.cleanup();
    reportTally(__filename);
  });

  test('a processor that throws for one doc in a thousand: the rest go through, the bad ones are parked, and a retry after the fix writes them', async () => {
    const bad = ['case-00000500', 'case-00001500', 'case-00002500'];
    bad.forEach((id) => faults.throwFor.add(id));
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 3000 }, (_, i) => caseDoc(i)),
    );

    // the feed moves on: everything but the three is written, and the three are parked
    await eventually(
      'all but the bad docs written',
      async () => {
        const diff = await sinkDiff(s.pool, table, await sourceState(s.couchUrl, db));
        return JSON.stringify(diff.lost.sort()) === JSON.stringify(bad) && diff.stale.length === 0;
      },
      120_000,
    );
    for (const id of bad) {
      const parked = await eventuallyValue<RetryChangeStatus>(
        'parked',
        async () => (await retryStatus(id)).state === 'parked' && retryStatus(id),
        60_000,
      );
      assert.equal(parked.attempts, 2, 'retried with the configured attempts');
      assert.match(parked.lastError, /cannot be handled/);
    }
    const status = await s.status(name);
    assert.equal(status.failed, 3);
    assert.match(status.lastError ?? '', /cannot be handled/);
    // visible in the Web UI's list (and `pillowtop errors`): retryChange workflows by pillow and state
    await eventually('parked changes listed', async () => {
      const ids: string[] = [];
      for await (const wf of s.client.workflow.list({
        query: `WorkflowType = 'retryChange' AND PillowName = '${name}' AND PillowStatus = 'parked'`,
      }))
        ids.push(wf.workflowId);
      return ids.sort().join() === bad.map(retryId).sort().join();
    });

    // the processor is fixed; `pillowtop retry` sends retryNow to each parked change
    faults.throwFor.clear();
    for (const id of bad) await s.client.workflow.getHandle(retryId(id)).signal(retryNowSignal);
    for (const id of bad) {
      const result = (await s.client.workflow.getHandle(retryId(id)).result()) as RetryChangeStatus;
      assert.equal(result.state, 'resolved');
    }
    tally.faults += 1;
    await check();
  });

  test('a doc that always fails, with unicode, slashes and a very long id, is fixed by a new revision', async () => {
    const database = nano(s.couchUrl).use<Doc>(db);
    const ids = ['bad/ünïcødé ✓ 日本', `long-${'x'.repeat(300)}`];
    const revs = new Map<string, string>();
    for (const id of ids) {
      // not what the mapping expects: age must be an integer
      const res = await database.insert({ _id: id, doc_type: 'CommCareCase', properties: { age: 'forty' } });
      revs.set(id, res.rev);
    }
    for (const id of ids) {
      const parked = await eventuallyValue<RetryChangeStatus>(
        'parked',
        async () => (await retryStatus(id).catch(() => null))?.state === 'parked' && retryStatus(id),
        60_000,
      );
      assert.match(parked.lastError, /column "age": .*is not an integer/);
      assert.equal(parked.docId, id);
    }
    assert.match(retryId(ids[1]), /^pillow\/fchg\/change\/sha1:[0-9a-f]{40}$/, 'a long id is hashed');
    assert.equal(retryId(ids[0]), `pillow/fchg/change/${ids[0]}`);

    // a newer revision that still fails joins the same retry workflow instead of starting another
    const runId = (await s.client.workflow.getHandle(retryId(ids[0])).describe()).runId;
    const again = await database.insert({
      _id: ids[0],
      _rev: revs.get(ids[0]),
      doc_type: 'CommCareCase',
      properties: { age: 'still forty' },
    });
    revs.set(ids[0], again.rev);
    const failedSignals = async () =>
      ((await s.client.workflow.getHandle(retryId(ids[0])).fetchHistory()).events ?? []).filter(
        (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'changeFailed',
      ).length;
    await eventually('the second failure joined the retry', async () => (await failedSignals()) === 2, 60_000);
    assert.equal((await s.client.workflow.getHandle(retryId(ids[0])).describe()).runId, runId);
    await eventually(
      'parked again with the new error',
      async () => {
        const st = await retryStatus(ids[0]);
        return st.state === 'parked' && /still forty/.test(st.lastError);
      },
      60_000,
    );

    // the doc is fixed at its source: the pillow writes the new revision and tells the retry it is resolved
    for (const id of ids)
      await database.insert({ _id: id, _rev: revs.get(id), doc_type: 'CommCareCase', properties: { age: 40 } });
    for (const id of ids) {
      const result = (await s.client.workflow.getHandle(retryId(id)).result()) as RetryChangeStatus;
      assert.equal(result.state, 'resolved');
    }
    const row = (await s.pool.query(`SELECT age FROM fchg_index WHERE doc_id = $1`, [ids[0]])).rows[0];
    assert.equal(row.age, 40);
    tally.faults += 1;
    tally.badInputs += 2;
    await check();
  });

  test('a retry re-reads the doc as it is now: an old revision is never written over a newer one', async () => {
    const database = nano(s.couchUrl).use<Doc>(db);
    const id = 'reread-me';
    const first = await database.insert({ _id: id, doc_type: 'CommCareCase', poison: true, properties: { age: 1 } });
    await eventually('parked', async () => (await retryStatus(id).catch(() => null))?.state === 'parked', 60_000);

    // the pillow is paused, so only the retry workflow can write the doc now
    const pillow = s.client.workflow.getHandle(pillowWorkflowId(name));
    await pillow.signal(pauseSignal);
    await eventually('paused', async () => (await s.status(name)).status === 'paused');
    const second = await database.insert({
      _id: id,
      _rev: first.rev,
      doc_type: 'CommCareCase',
      properties: { age: 2 },
    });
    await s.client.workflow.getHandle(retryId(id)).signal(retryNowSignal);
    const result = (await s.client.workflow.getHandle(retryId(id)).result()) as RetryChangeStatus;
    assert.equal(result.state, 'resolved');
    const row = (await s.pool.query(`SELECT rev, doc->'properties'->>'age' AS age FROM ${table} WHERE id = $1`, [id]))
      .rows[0];
    assert.deepEqual(row, { rev: second.rev, age: '2' }, 'the current revision was written, not the one that failed');

    await pillow.signal(resumeSignal);
    tally.faults += 1;
    await check();
  });
});
