/**
 * Per-suite setup against the servers test/run-tests.ts started: a fresh PostgreSQL database, a
 * unique task queue, unique CouchDB databases, a worker running the given pillows in-process.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import nano from 'nano';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createDatabase } from '../../src/dev/postgres-server';
import { createPool } from '../../src/postgres/pool';
import { startWorker, type RunningWorker } from '../../src/worker/start-worker';
import type { PillowDefinition } from '../../src/config/pillow-definition';
import { silentLogger } from '../../src/logging';
import { noopMetrics, type PillowMetrics } from '../../src/metrics/pillow-metrics';
import type { PillowStatusView } from '../../src/workflows/types';
import { liveStatus } from '../../src/operations/live-status';
import { pillowWorkflowId } from '../../src/workflows/ids';
import type { CodecKeys } from '../../src/codec/codec-keys';
import { ENCODED_FAILURE_CONVERTER_PATH } from '../../src/codec/data-converter';

const run = promisify(execFile);

// quiet SDK logs in tests (the runtime can be installed once per process, before any worker)
Runtime.install({ logger: new DefaultLogger(process.env.PILLOWTOP_TEST_VERBOSE ? 'INFO' : 'WARN') });

export function testEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run the tests with \`npm test\` (test/run-tests.ts starts the servers)`);
  return value;
}

export interface Suite {
  couchUrl: string;
  databaseUrl: string;
  temporalAddress: string;
  taskQueue: string;
  pool: Pool;
  client: Client;
  /** A new CouchDB database with a unique name. */
  couchDb(prefix?: string): Promise<string>;
  /** With `codecKeys`, the worker encrypts payloads (and runs a bundle built with the encoded failure converter). */
  startWorker(
    pillows: PillowDefinition[],
    opts?: { metrics?: PillowMetrics; codecKeys?: CodecKeys },
  ): Promise<RunningWorker>;
  /** Runs the plain Temporal CLI against the test server; returns stdout. */
  temporalCli(args: string[]): Promise<string>;
  /** Starts a pillow with exactly DESIGN.md's `temporal workflow start` command (input `{"name", ...extra}`). */
  startPillowCli(name: string, extra?: Record<string, unknown>): Promise<string>;
  status(name: string, partition?: number): Promise<PillowStatusView>;
  /** `eventually` that, on timeout, adds the workflow's pending activities and last events to the error. */
  eventuallyFor<T>(workflowId: string, what: string, check: () => Promise<T>, timeoutMs?: number): Promise<T>;
  cleanup(): Promise<void>;
}

let counter = 0;

let encodedBundle: Promise<{ code: string }> | null = null;
/** The workflow bundle a worker with codec keys runs: failures from workflow code are encoded too (built once). */
export function encodedFailureBundle(): Promise<{ code: string }> {
  encodedBundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  }).then((b) => ({ code: b.code }));
  return encodedBundle;
}

export async function setupSuite(label: string): Promise<Suite> {
  const couchUrl = testEnv('PILLOWTOP_TEST_COUCH_URL');
  const temporalAddress = testEnv('PILLOWTOP_TEST_TEMPORAL_ADDRESS');
  const db = await createDatabase(testEnv('PILLOWTOP_TEST_DATABASE_URL'), `pt_${label.replace(/[^a-z0-9]/g, '_')}`);
  const pool = createPool(db.url);
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const taskQueue = `test-${label}-${process.pid}-${Date.now().toString(36)}`;
  const workers: RunningWorker[] = [];
  const couchDbs: string[] = [];
  const bundle = { code: readFileSync(testEnv('PILLOWTOP_TEST_WORKFLOW_BUNDLE'), 'utf8') };
  const temporalCli = async (args: string[]) => {
    const { stdout } = await run(testEnv('PILLOWTOP_TEST_TEMPORAL_CLI'), [...args, '--address', temporalAddress], {
      timeout: 60_000,
    });
    return stdout;
  };
  return {
    couchUrl,
    databaseUrl: db.url,
    temporalAddress,
    taskQueue,
    pool,
    client,
    async couchDb(prefix = label) {
      const name = `${prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_${process.pid}_${++counter}_${Date.now().toString(36)}`;
      await nano(couchUrl).db.create(name);
      couchDbs.push(name);
      return name;
    },
    async startWorker(pillows, opts = {}) {
      const worker = await startWorker({
        pillows,
        temporal: {
          address: temporalAddress,
          namespace: 'default',
          ...(opts.codecKeys ? { codecKeys: opts.codecKeys } : {}),
        },
        taskQueue,
        pool,
        metrics: opts.metrics ?? noopMetrics,
        log: process.env.PILLOWTOP_TEST_VERBOSE ? undefined : silentLogger,
        workflowBundle: opts.codecKeys ? await encodedFailureBundle() : bundle,
        env: { ...process.env, COUCH_URL: couchUrl },
      });
      workers.push(worker);
      return worker;
    },
    temporalCli,
    async eventuallyFor(workflowId, what, check, timeoutMs) {
      try {
        return await eventually(what, check, timeoutMs);
      } catch (err) {
        const handle = client.workflow.getHandle(workflowId);
        const desc = await handle.describe().catch(() => null);
        const pending = desc?.raw.pendingActivities?.map(
          (a) =>
            `${a.activityType?.name} state=${a.state} attempt=${a.attempt} lastFailure=${a.lastFailure?.message ?? ''}`,
        );
        const history = await handle.fetchHistory().catch(() => null);
        const last = history?.events
          ?.slice(-12)
          .map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes')) ?? '?');
        throw new Error(
          `${(err as Error).message}\n  status: ${desc?.status.name}\n  pending activities: ${JSON.stringify(pending)}\n  last events: ${JSON.stringify(last)}`,
        );
      }
    },
    startPillowCli(name, extra = {}) {
      const input = JSON.stringify({ name, ...extra });
      return temporalCli([
        'workflow',
        'start',
        '--type',
        'pillow',
        '--task-queue',
        taskQueue,
        '--workflow-id',
        `pillow/${name}`,
        '--input',
        input,
      ]);
    },
    status: (name, partition) => liveStatus(client, pillowWorkflowId(name, partition)),
    async cleanup() {
      await Promise.allSettled(workers.map((w) => w.stop()));
      await connection.close();
      await pool.end();
      await db.drop().catch(() => undefined);
      await Promise.allSettled(couchDbs.map((name) => nano(couchUrl).db.destroy(name)));
    },
  };
}

/** Polls until `check` returns a truthy value; fails with the last value after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await check();
      if (last) return last as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Stops a pillow the way operators do and waits until it has stopped. */
export async function cancelAndWait(client: Client, workflowId: string): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  await handle.cancel();
  await handle.result().catch(() => undefined);
}
