import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nano from 'nano';
import { Client as PgClient } from 'pg';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import { assertPillowMatchesSource, eventuallyValue } from './helpers/faults-check';
import { reportTally, tally } from './helpers/faults-tally';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { postgresTable } from '../src/processors/postgres-table';
import { pillowWorkflowId } from '../src/workflows/ids';
import { pauseSignal, resumeSignal, retryNowSignal } from '../src/workflows/messages';
import { retryChangeId } from '../src/temporal/retry-change-id';
import type { PillowDefinition } from '../src/config/pillow-definition';
import type { Doc } from '../src/types';
import type { PillowStatusValue, PillowStatusView } from '../src/workflows/types';

/**
 * Bursts of bad docs never stall a pillow, and outages never park docs: a page is an outage only
 * when the sink itself is unusable, however many of its changes fail alike, and whatever its size.
 */
describe('faults: bursts of bad docs and sink outages', () => {
  let s: Suite;
  let db: string;
  let admin: PgClient;
  let dbName: string;
  const name = 'fbst';
  const table = 'fbst_mirror';
  const index = 'fbst_index';
  const pillowHandle = () => s.client.workflow.getHandle(pillowWorkflowId(name));
  const storedCheckpoint = async () =>
    (await s.pool.query<{ seq: string }>(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [name])).rows[0]
      ?.seq;
  const failingDocs = async () =>
    Number(
      (await s.pool.query(`SELECT count(*) AS n FROM pillowtop_failing_docs WHERE pillow = $1`, [name])).rows[0].n,
    );
  const retryWorkflows = async () => {
    let n = 0;
    for await (const _ of s.client.workflow.list({ query: `WorkflowType = 'retryChange' AND PillowName = '${name}'` }))
      n++;
    return n;
  };
  const check = () => assertPillowMatchesSource(s, name, { db, table });

  /** The pillow's status once it shows `failing` (within 60 s). */
  const failingStatus = () =>
    eventuallyValue<PillowStatusView>(
      'pillow failing with the reason',
      async () => {
        const st = await s.status(name);
        return st.status === 'failing' && st;
      },
      60_000,
    );

  /** Samples the pillow's status until stopped; returns every status seen. */
  function watchStatus(): { stop(): Promise<Set<PillowStatusValue>> } {
    const seen = new Set<PillowStatusValue>();
    let running = true;
    const loop = (async () => {
      while (running) {
        seen.add((await s.status(name)).status);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return seen;
      },
    };
  }

  /** Writes docs as one page: the pillow is paused while they are written. */
  async function writeAsOnePage(docs: Doc[]): Promise<Map<string, string>> {
    await pillowHandle().signal(pauseSignal);
    await eventually('paused', async () => (await s.status(name)).status === 'paused');
    const revs = await writeDocs(s.couchUrl, db, docs);
    await pillowHandle().signal(resumeSignal);
    return revs;
  }

  /** Existing sessions keep their settings: end them all, so that the pool reconnects under the new ones. */
  async function endSessions() {
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [dbName],
    );
  }

  before(async () => {
    s = await setupSuite('fbst');
    db = await s.couchDb('fbst');
    dbName = new URL(s.databaseUrl).pathname.slice(1);
    admin = new PgClient({ connectionString: s.databaseUrl });
    await admin.connect();
    const pillow: PillowDefinition = {
      name,
      source: { db },
      batchSize: 100,
      longPollSeconds: 1,
      retry: { attempts: 2, initialIntervalSeconds: 1 },
      processors: [
        postgresMirror({ table }),
        postgresTable({
          table: index,
          columns: [
            { name: 'domain', type: 'text', required: true },
            { name: 'age', type: 'integer', expression: 'properties.age' },
          ],
        }),
      ],
    };
    await s.startWorker([pillow]);
    await s.client.workflow.start('pillow', {
      workflowId: pillowWorkflowId(name),
      taskQueue: s.taskQueue,
      args: [{ name }],
    });
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 20 }, (_, i) => caseDoc(i)),
    );
    await check();
  });
  after(async () => {
    await admin.query(`ALTER DATABASE ${dbName} RESET default_transaction_read_only`).catch(() => undefined);
    await admin.end().catch(() => undefined);
    await pillowHandle()
      .terminate()
      .catch(() => undefined);
    await s.cleanup();
    reportTally(__filename);
  });

  test('40 cases without a required column and 1 good one in one page: the good one is written, the 40 are handed off, the pillow never fails', async () => {
    const watch = watchStatus();
    const bad = Array.from({ length: 40 }, (_, i) => {
      const doc = caseDoc(1000 + i);
      delete doc.domain;
      return doc;
    });
    const good = caseDoc(2000);
    await writeAsOnePage([...bad, good]);

    await eventually(
      'the good doc in the typed table',
      async () => (await s.pool.query(`SELECT 1 FROM ${index} WHERE doc_id = $1`, [good._id])).rowCount === 1,
      30_000,
    );
    await eventually('the 40 handed to retry workflows', async () => (await retryWorkflows()) >= 40, 60_000);
    assert.equal(await failingDocs(), 40, 'exactly the 40 bad docs are failing');
    const seen = await watch.stop();
    assert.ok(!seen.has('failing'), `the pillow never showed failing (saw ${[...seen].join(', ')})`);
    // counted when the slice reports: its next heartbeat, or its return
    await eventually('the 40 counted as failed', async () => (await s.status(name)).failed === 40);

    // fixed at the source: new revisions with the column go through and resolve their retry workflows
    const database = nano(s.couchUrl).use<Doc>(db);
    const current = await database.fetch({ keys: bad.map((d) => d._id) });
    await writeDocs(
      s.couchUrl,
      db,
      current.rows.map((r) => ({ ...(r as { doc: Doc }).doc, domain: 'fixed' })),
    );
    await eventually('every failing doc resolved', async () => (await failingDocs()) === 0, 60_000);
    await eventually(
      'the typed table holds every live doc',
      async () => Number((await s.pool.query(`SELECT count(*) AS n FROM ${index}`)).rows[0].n) === 61,
      60_000,
    );
    tally.faults += 1;
    tally.badInputs += 40;
    await check();
  });

  test('a CHECK constraint an operator added fails 30 docs of a page, never the page', async () => {
    await admin.query(`ALTER TABLE ${index} ADD CONSTRAINT fbst_age_small CHECK (age < 200) NOT VALID`);
    const watch = watchStatus();
    const bad = Array.from({ length: 30 }, (_, i) => ({ ...caseDoc(3000 + i), properties: { age: 500 + i } }));
    const good = caseDoc(4000);
    await writeAsOnePage([...bad, good]);
    await eventually(
      'the good doc in the typed table',
      async () => (await s.pool.query(`SELECT 1 FROM ${index} WHERE doc_id = $1`, [good._id])).rowCount === 1,
      30_000,
    );
    await eventually('the 30 recorded as failing', async () => (await failingDocs()) === 30, 30_000);
    const seen = await watch.stop();
    assert.ok(!seen.has('failing'), `the pillow never showed failing (saw ${[...seen].join(', ')})`);
    const reason = (await s.pool.query(`SELECT error FROM pillowtop_failing_docs WHERE pillow = $1 LIMIT 1`, [name]))
      .rows[0].error as string;
    assert.match(reason, /fbst_age_small/, 'the constraint is named in the failure');

    // the operator drops the constraint and retries: the docs go through as they are now
    await admin.query(`ALTER TABLE ${index} DROP CONSTRAINT fbst_age_small`);
    await eventually('all handed off', async () => (await retryWorkflows()) >= 70, 60_000);
    for (const doc of bad) await s.client.workflow.getHandle(retryChangeId(name, doc._id)).signal(retryNowSignal);
    await eventually('every failing doc resolved', async () => (await failingDocs()) === 0, 60_000);
    tally.faults += 1;
    tally.badInputs += 30;
    await check();
  });

  test('a read-only database for 20 s while docs arrive one at a time: pages fail and are retried, nothing is handed off, the checkpoint stays', async () => {
    const before = { stored: await storedCheckpoint(), retries: await retryWorkflows() };
    await admin.query(`ALTER DATABASE ${dbName} SET default_transaction_read_only = on`);
    await endSessions();
    const database = nano(s.couchUrl).use<Doc>(db);
    const ids: string[] = [];
    const until = Date.now() + 20_000;
    for (let i = 0; Date.now() < until; i++) {
      const doc = caseDoc(5000 + i);
      await database.insert(doc);
      ids.push(doc._id);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const failing = await failingStatus();
    assert.match(failing.lastError ?? '', /read-only/);
    assert.equal(await storedCheckpoint(), before.stored, 'the checkpoint does not move during an outage');
    assert.equal(failing.checkpoint, before.stored);

    await admin.query(`ALTER DATABASE ${dbName} RESET default_transaction_read_only`);
    await endSessions();
    await eventually('pillow recovered', async () => (await s.status(name)).status !== 'failing', 120_000);
    await check();
    assert.equal(await failingDocs(), 0, 'nothing recorded as failing');
    assert.equal(await retryWorkflows(), before.retries, 'no retry workflow for an outage');
    tally.faults += 1;
  });

  test('a column dropped under a running pillow is an outage, not 10 bad docs: nothing parked, and all land once it is back', async () => {
    const before = { stored: await storedCheckpoint(), retries: await retryWorkflows() };
    await admin.query(`ALTER TABLE ${index} DROP COLUMN age`);
    const database = nano(s.couchUrl).use<Doc>(db);
    for (let i = 0; i < 10; i++) {
      await database.insert(caseDoc(6000 + i));
      await new Promise((r) => setTimeout(r, 300));
    }
    const failing = await failingStatus();
    assert.match(failing.lastError ?? '', /column "age" .*does not exist/);
    assert.equal(await storedCheckpoint(), before.stored, 'the checkpoint does not move during an outage');
    assert.equal(await failingDocs(), 0, 'nothing recorded as failing');

    await admin.query(`ALTER TABLE ${index} ADD COLUMN age integer`);
    await eventually('pillow recovered', async () => (await s.status(name)).status !== 'failing', 120_000);
    await check();
    assert.equal(await retryWorkflows(), before.retries, 'no retry workflow for an outage');
    const { rows } = await s.pool.query(`SELECT count(*) AS n FROM ${index} WHERE doc_id LIKE 'case-0000600%'`);
    assert.equal(Number(rows[0].n), 10, 'every doc written during the outage landed');
    tally.faults += 1;
  });
});
