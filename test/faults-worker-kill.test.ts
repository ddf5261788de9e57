import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nano from 'nano';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import {
  faultsWorkerEnv,
  spawnWorker,
  type FaultsWorkerEnv,
  type WorkerProcess,
  deliveriesFile,
} from './helpers/faults-worker';
import { assertPillowMatchesSource } from './helpers/faults-check';
import { reportTally, tally } from './helpers/faults-tally';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { postgresTable } from '../src/processors/postgres-table';
import { pillowWorkflowId } from '../src/workflows/ids';
import type { PillowDefinition } from '../src/config/pillow-definition';
import type { Doc } from '../src/types';

/** Updates every `step`-th doc and deletes every `del`-th, from the revisions we know. */
async function churn(
  couchUrl: string,
  db: string,
  revs: Map<string, string>,
  from: number,
  to: number,
  version: number,
) {
  const docs: Doc[] = [];
  for (let i = from; i < to; i++) {
    const id = caseDoc(i)._id;
    const rev = revs.get(id);
    if (!rev) continue;
    if (i % 11 === 0) docs.push({ _id: id, _rev: rev, _deleted: true });
    else if (i % 3 === 0) docs.push({ ...caseDoc(i, version), _rev: rev });
  }
  for (const [id, rev] of await writeDocs(couchUrl, db, docs)) revs.set(id, rev);
  for (const d of docs) if (d._deleted) revs.delete(d._id);
}

describe('faults: worker processes', () => {
  let s: Suite;
  let db: string;
  let env: FaultsWorkerEnv;
  const name = 'fkill';
  const table = 'fkill_mirror';
  const workers: WorkerProcess[] = [];
  const revs = new Map<string, string>();
  const rows = async () =>
    Number((await s.pool.query(`SELECT count(*) AS n FROM ${table}`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n);

  before(async () => {
    s = await setupSuite('fkill');
    db = await s.couchDb('fkill');
    env = faultsWorkerEnv(s, { name, db, table, batchSize: 200, batchDelayMs: 400 });
  });
  after(async () => {
    await Promise.allSettled(workers.map((w) => w.kill('SIGKILL')));
    await s.client.workflow
      .getHandle(pillowWorkflowId(name))
      .terminate()
      .catch(() => undefined);
    await s.cleanup();
    reportTally(__filename);
  });

  test('the worker killed with SIGKILL in the middle of a catch-up of thousands of changes, then restarted: every doc present exactly once, at its latest revision', async () => {
    for (const [id, rev] of await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 4000 }, (_, i) => caseDoc(i)),
    ))
      revs.set(id, rev);
    await churn(s.couchUrl, db, revs, 0, 1000, 1);

    const first = spawnWorker(env);
    workers.push(first);
    await first.ready();
    await s.client.workflow.start('pillow', {
      workflowId: pillowWorkflowId(name),
      taskQueue: s.taskQueue,
      args: [{ name }],
    });
    // mid catch-up: some rows written, most not, a batch in its transaction
    await eventually('the catch-up under way', async () => (await rows()) >= 600, 120_000);
    assert.ok((await rows()) < 3500, 'killed before the catch-up finished');
    assert.equal(await first.kill('SIGKILL'), 'SIGKILL');
    tally.faults += 1;

    // the feed moves on while no worker runs
    await churn(s.couchUrl, db, revs, 1000, 3000, 2);
    for (const [id, rev] of await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 500 }, (_, i) => caseDoc(4000 + i)),
    ))
      revs.set(id, rev);

    const second = spawnWorker(env);
    workers.push(second);
    await second.ready();
    const { docs } = await assertPillowMatchesSource(s, name, {
      db,
      table,
      indexTable: `${table}_index`,
      deliveries: deliveriesFile(table),
      timeoutMs: 240_000,
    });
    assert.ok(docs > 3500);
    const status = await s.status(name);
    assert.equal(status.failed, 0);
  });

  test('two workers at once on the same task queue: nothing lost, nothing written twice', async () => {
    // the restarted child worker keeps running; an in-process worker joins it on the same queue
    const pillow: PillowDefinition = {
      name,
      source: { db },
      batchSize: 200,
      longPollSeconds: 1,
      retry: { attempts: 2, initialIntervalSeconds: 1 },
      processors: [
        postgresMirror({ table }),
        postgresTable({
          table: `${table}_index`,
          columns: [
            { name: 'owner_id', type: 'text' },
            { name: 'age', type: 'integer', expression: 'properties.age' },
          ],
        }),
      ],
    };
    await s.startWorker([pillow]);
    tally.faults += 1;
    // both workers poll while the feed keeps changing; make the workflow move between them
    for (let round = 0; round < 4; round++) {
      for (const [id, rev] of await writeDocs(
        s.couchUrl,
        db,
        Array.from({ length: 300 }, (_, i) => caseDoc(5000 + round * 300 + i)),
      ))
        revs.set(id, rev);
      await churn(s.couchUrl, db, revs, round * 1000, round * 1000 + 1000, 3 + round);
      await nano(s.couchUrl).use(db).info();
      await new Promise((r) => setTimeout(r, 1500));
    }
    await assertPillowMatchesSource(s, name, {
      db,
      table,
      indexTable: `${table}_index`,
      deliveries: deliveriesFile(table),
      timeoutMs: 180_000,
    });
    assert.equal((await s.status(name)).failed, 0);
  });
});
