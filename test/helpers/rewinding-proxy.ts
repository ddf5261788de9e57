/**
 * An HTTP proxy in front of pouchdb-server that can make a database's feed go backwards, as a
 * CouchDB failover does: `rewindNextTo(seq)` answers the next `_changes` read from an earlier seq
 * than the one asked for. Everything else passes through untouched.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RewindingProxy {
  url: string;
  /** The next `_changes` request is answered as if it had asked for `since=seq`. */
  rewindNextTo(seq: string): void;
  /** How many `_changes` requests were rewound so far. */
  rewound(): number;
  close(): Promise<void>;
}

export async function startRewindingProxy(upstream: string): Promise<RewindingProxy> {
  const target = new URL(upstream);
  let pending: string | null = null;
  let count = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    if (pending !== null && /^\/[^/]+\/_changes$/.test(url.pathname) && url.searchParams.has('since')) {
      url.searchParams.set('since', pending);
      pending = null;
      count++;
    }
    const upstreamReq = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: url.pathname + url.search,
        headers: { ...req.headers, host: target.host },
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', () => res.destroy());
    res.on('close', () => upstreamReq.destroy());
    req.pipe(upstreamReq);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    rewindNextTo: (seq) => (pending = seq),
    rewound: () => count,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
