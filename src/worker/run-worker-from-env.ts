import { loadConfig } from '../config/load-config';
import { createPool } from '../postgres/pool';
import { taskQueue, temporalSettings } from '../temporal/connection-options';
import { createLogger } from '../logging';
import { startWorker } from './start-worker';
import { startMetricsServer } from '../metrics/metrics-server';
import { installSdkRuntime } from './sdk-runtime';

/** The worker as operators run it: config file, env settings, metrics server, signals. */
export async function runWorkerFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const log = createLogger({ component: 'worker' });
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
  });
  log.info('worker started', {
    temporal: settings.address,
    namespace: settings.namespace,
    taskQueue: queue,
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
