import { DefaultLogger, Runtime } from '@temporalio/worker';
import { freePort } from '../free-port';

/**
 * Installs the Temporal SDK's runtime for a worker process: its logger (the SDK's own info lines,
 * bundling and state changes, drown pillowtop's; PILLOWTOP_SDK_LOG_LEVEL=INFO brings them back) and
 * its core metrics, exported on a private loopback port that the metrics server merges into
 * `/metrics`. Must run once, before any Temporal connection is made. Returns where those metrics are.
 */
export async function installSdkRuntime(env: NodeJS.ProcessEnv = process.env): Promise<{ metricsUrl: string }> {
  const sdkPort = await freePort();
  Runtime.install({
    logger: new DefaultLogger((env.PILLOWTOP_SDK_LOG_LEVEL as 'INFO' | undefined) ?? 'WARN'),
    telemetryOptions: {
      metrics: {
        prometheus: { bindAddress: `127.0.0.1:${sdkPort}`, countersTotalSuffix: true, useSecondsForDurations: true },
      },
    },
  });
  return { metricsUrl: `http://127.0.0.1:${sdkPort}/metrics` };
}
