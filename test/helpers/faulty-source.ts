/**
 * A source that goes wrong on demand, for tests: an HTTP proxy in front of pouchdb-server (so the
 * pillow sees pouchdb-server and polls it with plain reads) whose `_changes` can be switched to
 * - `hang`: accept the request and never answer,
 * - `html`: an HTML error page with status 200, as a misconfigured proxy sends,
 * - `invalid-json`: a JSON content type over a body that is not JSON,
 * - `stuck`: an empty page at the `since` it was asked for, while the db info (passed through) is ahead,
 * - `html-info`: the database info (`GET /<db>`) as an HTML page, `_changes` healthy,
 * or `healthy` again. Everything else is passed through untouched.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type SourceFault = 'healthy' | 'hang' | 'html' | 'invalid-json' | 'stuck' | 'html-info';

export interface FaultySource {
  url: string;
  set(fault: SourceFault): void;
  /** `_changes` requests answered with a fault so far. */
  faulted(): number;
  close(): Promise<void>;
}

export async function startFaultySource(upstream: string): Promise<FaultySource> {
  let fault: SourceFault = 'healthy';
  let faulted = 0;
  const server = http.createServer(async (req, res) => {
    const aborter = new AbortController();
    res.on('close', () => aborter.abort());
    try {
      const url = new URL(req.url ?? '/', 'http://proxy');
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      if (fault === 'html-info' && /^\/[^/_][^/]*\/?$/.test(url.pathname) && req.method === 'GET') {
        faulted += 1;
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html><body>maintenance</body></html>');
      }
      if (/^\/[^/]+\/_changes$/.test(url.pathname) && fault !== 'healthy' && fault !== 'html-info') {
        faulted += 1;
        if (fault === 'hang') return; // the connection stays open, unanswered
        if (fault === 'html') {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html><body><h1>502 Bad Gateway</h1><p>upstream went away</p></body></html>');
        }
        if (fault === 'invalid-json') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end('{"results": [{"id": "a", "seq": 1');
        }
        const since = url.searchParams.get('since') ?? '0';
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ results: [], last_seq: /^\d+$/.test(since) ? Number(since) : since }));
      }
      const upstreamRes = await fetch(upstream + url.pathname + url.search, {
        method: req.method,
        body: body.length ? body : undefined,
        headers: {
          'content-type': req.headers['content-type'] ?? 'application/json',
          accept: req.headers.accept ?? 'application/json',
        },
        signal: aborter.signal,
      });
      const text = await upstreamRes.text();
      res.writeHead(upstreamRes.status, {
        'content-type': upstreamRes.headers.get('content-type') ?? 'application/json',
      });
      res.end(text);
    } catch (err) {
      if (aborter.signal.aborted) return;
      if (!res.headersSent) res.writeHead(502);
      res.end(JSON.stringify({ error: 'proxy', reason: (err as Error).message }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (f) => {
      fault = f;
    },
    faulted: () => faulted,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
