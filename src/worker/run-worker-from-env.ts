import { loadConfig } from '../config/load-config';
import { createPool } from '../postgres/pool';
import { taskQueue, temporalSettings } from '../temporal/connection-options';
import { createLogger } from '../logging';
import { startWorker, type StartWorkerOptions } from './start-worker';
import { startMetricsServer } from '../metrics/metrics-server';
import { installSdkRuntime } from './sdk-runtime';
import { versionString, workerVersionFromEnv } from './worker-versioning';

/** The worker as operators run it: config file, env settings, metrics server, signals. */
export async function runWorkerFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  // tests run the same worker with another workflow bundle (a next release's workflow code)
  opts: { workflowBundle?: StartWorkerOptions['workflowBundle'] } = {},
): Promise<void> {
  const log = createLogger({ component: 'worker' });
  const version = workerVersionFromEnv(env);
  const pillows = loadConfig();
  const pool = createPool(env.DATABASE_URL);
  const sdk = await installSdkRuntime(env);
  const metrics = await startMetricsServer(env, { sdkMetricsUrl: sdk.metricsUrl });
  const settings = temporalSettings(env);
  const queue = taskQueue(env);
  const running = await startWorker({
    pillows,
    temporal: settings,
    taskQueue: queue,
    pool,
    metrics: metrics.metrics,
    log,
    version,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : {}),
  });
  log.info('worker started', {
    temporal: settings.address,
    namespace: settings.namespace,
    taskQueue: queue,
    // versioned workers get work once their version is current: `pillowtop deploy set-current`
    version: version ? versionString(version) : 'unversioned',
    pillows: pillows.map((p) => p.name),
    metrics: metrics.url,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping worker', { signal });
    running.stop().catch(() => undefined);
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  try {
    await running.done;
  } finally {
    await metrics.close();
    await pool.end();
    log.info('worker stopped');
  }
}
