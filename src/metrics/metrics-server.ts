import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPrometheusMetrics } from './prometheus';
import type { PillowMetrics } from './pillow-metrics';

export interface MetricsServer {
  metrics: PillowMetrics;
  url: string;
  /** The address it listens on (`PILLOWTOP_METRICS_HOST`, default 127.0.0.1). */
  address: string;
  close(): Promise<void>;
}

/**
 * Serves Prometheus text on `PILLOWTOP_METRICS_HOST`:`PILLOWTOP_METRICS_PORT` (default
 * 127.0.0.1:9464, closed to other machines; a container sets 0.0.0.0) at `/metrics`: pillowtop_*
 * metrics, followed by the Temporal SDK's own when `sdkMetricsUrl` says where the SDK core exports
 * them (see installSdkRuntime in src/worker/sdk-runtime.ts).
 */
export async function startMetricsServer(
  env: NodeJS.ProcessEnv = process.env,
  opts: { sdkMetricsUrl?: string } = {},
): Promise<MetricsServer> {
  const port = env.PILLOWTOP_METRICS_PORT === undefined ? 9464 : Number(env.PILLOWTOP_METRICS_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PILLOWTOP_METRICS_PORT must be a port number, got "${env.PILLOWTOP_METRICS_PORT}"`);
  const host = env.PILLOWTOP_METRICS_HOST || '127.0.0.1';
  const { registry, metrics } = createPrometheusMetrics();
  const server = http.createServer(async (req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('see /metrics\n');
      return;
    }
    try {
      const ours = await registry.metrics();
      const sdk = opts.sdkMetricsUrl
        ? await fetch(opts.sdkMetricsUrl)
            .then((r) => r.text())
            .catch(() => '')
        : '';
      res.writeHead(200, { 'content-type': registry.contentType }).end(`${ours}\n${sdk}`);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`metrics port ${port} is in use; set PILLOWTOP_METRICS_PORT`) : err),
    );
    server.listen(port, host, resolve);
  });
  const { port: bound, address } = server.address() as AddressInfo;
  return {
    metrics,
    address,
    url: `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
