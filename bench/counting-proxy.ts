/**
 * An HTTP proxy in front of the source that counts the requests passing through it, so the bench
 * can tell how many requests to CouchDB a pillow makes per change. Bodies are streamed, not read.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingProxy {
  url: string;
  /**
   * Requests since the last reset, in all and by kind (`_changes`, `_bulk_get`, `_all_docs`, other),
   * and the bytes of their response bodies (what the source sent).
   */
  counts(): { total: number; byKind: Record<string, number>; bytes: number };
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  let byKind: Record<string, number> = {};
  let bytes = 0;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const kind = /\/(_changes|_bulk_get|_all_docs)$/.exec(path)?.[1] ?? 'other';
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    const out = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on('data', (chunk: Buffer) => (bytes += chunk.length));
        up.pipe(res);
      },
    );
    out.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'proxy', reason: err.message }));
    });
    // a client that gives up (a bounded long poll) must not leave the upstream request hanging
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const auth = target.username ? `${target.username}:${target.password}@` : '';
  return {
    url: `http://${auth}127.0.0.1:${port}`,
    counts: () => ({ total: Object.values(byKind).reduce((a, b) => a + b, 0), byKind: { ...byKind }, bytes }),
    reset: () => {
      byKind = {};
      bytes = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
