import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../activities/pillow-activities';
import { createRebuildActivities } from '../activities/rebuild-activities';
import { createRegistry } from '../config/pillow-registry';
import type { PillowDefinition } from '../config/pillow-definition';
import { createLogger } from '../logging';
import { noopMetrics, type PillowMetrics } from '../metrics/pillow-metrics';
import { clientConnectionOptions, type TemporalSettings } from '../temporal/connection-options';
import { missingSearchAttributes } from '../temporal/search-attributes-setup';
import type { Logger } from '../types';
import { pillowtopDataConverter } from '../codec/data-converter';
import { workerDeploymentOptions, type WorkerVersion } from './worker-versioning';
import { applyWorkerHeapSettings } from './worker-memory';

export interface StartWorkerOptions {
  pillows: PillowDefinition[];
  temporal: TemporalSettings;
  taskQueue: string;
  pool: Pool;
  metrics?: PillowMetrics;
  log?: Logger;
  /** The level of the per-batch log line. @default info */
  batchLogLevel?: 'info' | 'debug';
  /** How long a stopping worker lets running activities finish before it cancels them. @default 10s */
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /**
   * A prebuilt workflow bundle (tests build it once); otherwise the worker bundles `src/workflows`.
   * With codec keys it must be built with `failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH`.
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Environment for resolving pillow defaults (COUCH_URL). */
  env?: NodeJS.ProcessEnv;
  /** The worker's deployment version (PILLOWTOP_BUILD_ID); none: an unversioned worker. */
  version?: WorkerVersion | null;
}

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  /** Stops polling, lets running activities finish or cancel, closes connections. */
  stop(): Promise<void>;
}

/** Connects to Temporal and starts polling the pillowtop task queue. */
export async function startWorker(opts: StartWorkerOptions): Promise<RunningWorker> {
  const log = opts.log ?? createLogger({ component: 'worker' });
  // a flat RSS: V8 collects before its heap is several times the live size, and the workflow thread
  // created below gets a small young generation (worker-memory.ts); before anything is connected
  applyWorkerHeapSettings(opts.env ?? process.env);
  const clientConnection = await Connection.connect(clientConnectionOptions(opts.temporal));
  const native = await NativeConnection.connect(clientConnectionOptions(opts.temporal)).catch(async (err) => {
    await clientConnection.close();
    throw err;
  });
  try {
    const missing = await missingSearchAttributes(clientConnection, opts.temporal.namespace).catch(() => ['(unknown)']);
    if (missing.length > 0) {
      log.warn(
        'search attributes missing on this namespace: pillows run without PillowName/PillowStatus; run `pillowtop setup`',
        { missing },
      );
    }
    const dataConverter = pillowtopDataConverter(opts.temporal.codecKeys);
    const temporal = new Client({
      connection: clientConnection,
      namespace: opts.temporal.namespace,
      ...(dataConverter ? { dataConverter } : {}),
    });
    // the SDK's default identity, named here so that a task this worker leaves to others says whose it was
    const identity = `${process.pid}@${os.hostname()}`;
    const deps = {
      identity,
      registry: createRegistry(opts.pillows, opts.env),
      pool: opts.pool,
      temporal,
      searchAttributes: missing.length === 0,
      codecKeys: opts.temporal.codecKeys ?? null,
      metrics: opts.metrics ?? noopMetrics,
      log,
      ...(opts.batchLogLevel ? { batchLogLevel: opts.batchLogLevel } : {}),
    };
    const activities = { ...createActivities(deps), ...createRebuildActivities(deps) };
    const worker = await Worker.create({
      connection: native,
      namespace: opts.temporal.namespace,
      taskQueue: opts.taskQueue,
      activities,
      ...(dataConverter ? { dataConverter } : {}),
      ...(opts.workflowBundle
        ? { workflowBundle: opts.workflowBundle }
        : { workflowsPath: require.resolve('../workflows') }),
      // a slice long-polls most of its life; a few in flight per pillow is plenty
      maxConcurrentActivityTaskExecutions: 200,
      identity,
      ...(opts.version ? { workerDeploymentOptions: workerDeploymentOptions(opts.version) } : {}),
      // a cancel (pause, rewind, stop) reaches an activity only in a heartbeat's answer, and the SDK
      // sends heartbeats at most every 0.8 × heartbeatTimeout (8 s) unless this is lower: controls take
      // effect within about a second, at the price of one heartbeat call per second per running slice
      maxHeartbeatThrottleInterval: '1s',
      shutdownGraceTime: opts.shutdownGraceTime ?? '10s',
    });
    const done = worker.run().finally(async () => {
      await native.close().catch(() => undefined);
      await clientConnection.close().catch(() => undefined);
    });
    return {
      worker,
      done,
      async stop() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
      },
    };
  } catch (err) {
    await native.close().catch(() => undefined);
    await clientConnection.close().catch(() => undefined);
    throw err;
  }
}
