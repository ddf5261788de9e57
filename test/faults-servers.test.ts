/**
 * Each server the pillow depends on stopped and started again under a running pillow, on servers
 * of this file's own (the machine's PostgreSQL, and the servers other test files share, stay up).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nano from 'nano';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { faultsWorkerEnv, spawnWorker, type WorkerProcess, deliveriesFile } from './helpers/faults-worker';
import { assertSinkMatchesSource, eventuallyValue } from './helpers/faults-check';
import { startWriter } from './helpers/faults-writer';
import { reportTally, tally } from './helpers/faults-tally';
import { startCouchDevServer, type CouchDevServer } from '../src/dev/couch-server';
import { startEmbeddedPostgres, type DevPostgres } from '../src/dev/postgres-server';
import { startTemporalDevServer, type TemporalDevServer } from '../src/dev/temporal-server';
import { freePort } from '../src/dev/ports';
import { createPool } from '../src/postgres/pool';
import { pillowWorkflowId } from '../src/workflows/ids';
import { liveStatus } from '../src/operations/live-status';
import type { PillowStatusView } from '../src/workflows/types';

describe('faults: servers restarted under a running pillow', () => {
  // readable by the `postgres` user the embedded PostgreSQL runs as when we are root
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pillowtop-faults-servers-'));
  chmodSync(dir, 0o755);
  const name = 'fsrv';
  const table = 'fsrv_mirror';
  const db = 'fsrv';
  let ports: { pg: number; couch: number; temporal: number };
  let pg: DevPostgres;
  let couch: CouchDevServer;
  let temporal: TemporalDevServer;
  let pool: Pool;
  let connection: Connection;
  let client: Client;
  let worker: WorkerProcess;
  let written = 0;
  let stopping = false;

  const startPg = () => startEmbeddedPostgres(path.join(dir, 'pg'), ports.pg);
  const startCouch = () => startCouchDevServer({ dir, port: ports.couch });
  const startTemporal = () =>
    startTemporalDevServer({ dir, port: ports.temporal, headless: true, dbFile: path.join(dir, 'temporal.db') });
  const status = () => liveStatus(client, pillowWorkflowId(name));
  const check = () =>
    assertSinkMatchesSource({
      pool,
      couchUrl: couch.url,
      db,
      table,
      indexTable: `${table}_index`,
      deliveries: deliveriesFile(table),
      pillowKey: name,
      checkpoint: async () => (await status()).checkpoint,
      timeoutMs: 180_000,
    });
  /** Runs `fault` while a writer keeps the feed busy, then checks the sink against the source. */
  const underLoad = async (fault: () => Promise<void>) => {
    const writer = startWriter(couch.url, db, { startAt: 100_000 * (tally.faults + 1) });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      await fault();
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      written += await writer.stop();
    }
    tally.faults += 1;
    await check();
  };

  before(async () => {
    ports = { pg: await freePort(), couch: await freePort(), temporal: await freePort() };
    [pg, couch, temporal] = await Promise.all([startPg(), startCouch(), startTemporal()]);
    pool = createPool(pg.url);
    await nano(couch.url).db.create(db);
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
    const env = faultsWorkerEnv(
      { couchUrl: couch.url, databaseUrl: pg.url, temporalAddress: temporal.address, taskQueue: 'fsrv' },
      { name, db, table, batchSize: 50, batchDelayMs: 100 },
    );
    worker = spawnWorker(env);
    // a worker that dies under a fault is the failure to look at: show why
    void worker.exited.then((code) => {
      if (!stopping)
        console.error(`faults-servers: worker exited (${code}) before the end:\n${worker.output().slice(-4000)}`);
    });
    await worker.ready();
    await client.workflow.start('pillow', { workflowId: pillowWorkflowId(name), taskQueue: 'fsrv', args: [{ name }] });
    const writer = startWriter(couch.url, db, { startAt: 0 });
    await new Promise((r) => setTimeout(r, 2000));
    written += await writer.stop();
    await check();
  });
  after(async () => {
    if (process.env.PILLOWTOP_TEST_DIR && worker)
      writeFileSync(path.join(process.env.PILLOWTOP_TEST_DIR, 'faults-servers-worker.log'), worker.output());
    stopping = true;
    await worker?.kill('SIGKILL');
    await connection?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await Promise.allSettled([pg?.stop(), couch?.stop(), temporal?.stop()]);
    rmSync(dir, { recursive: true, force: true });
    reportTally(__filename);
  });

  test('the CouchDB-protocol server stopped and restarted: the pillow goes failing, says why, and catches up', async () => {
    await underLoad(async () => {
      await couch.stop();
      const failing = await eventuallyValue<PillowStatusView>(
        'pillow failing while CouchDB is down',
        async () => {
          const st = await status();
          return st.status === 'failing' && st;
        },
        90_000,
      );
      assert.match(failing.lastError ?? '', /CouchDB at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
      couch = await startCouch();
    });
    assert.notEqual((await status()).status, 'failing');
  });

  test('PostgreSQL restarted mid-run: batches in flight roll back and are retried, nothing lost or doubled', async () => {
    await underLoad(async () => {
      await pg.stop();
      const failing = await eventuallyValue<PillowStatusView>(
        'pillow failing while PostgreSQL is down',
        async () => {
          const st = await status();
          return st.status === 'failing' && st;
        },
        90_000,
      );
      assert.match(failing.lastError ?? '', /ECONNREFUSED|terminat|shutting down|Connection/i);
      pg = await startPg();
    });
  });

  test('the Temporal dev server restarted with its database file: the pillow continues where it was', async () => {
    const before = await status();
    await underLoad(async () => {
      await temporal.stop();
      await new Promise((r) => setTimeout(r, 2000));
      temporal = await startTemporal();
    });
    const after = await status();
    assert.equal(after.startedAt, before.startedAt, 'the same pillow workflow, not a new start');
    assert.ok(after.processed > before.processed);
    assert.equal(worker.child.exitCode, null, 'the worker rode out the restart');
    assert.equal(written > 0, true);
  });
});
