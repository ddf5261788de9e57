/**
 * A CouchDB 3 face on pouchdb-server, for tests: an HTTP proxy that presents CouchDB 3's welcome,
 * hands out opaque string seqs (`"<n>-g1AAAA…"`, null for the ones `seq_interval` skips), adds
 * `pending`, answers a malformed `since` with 400 and ends a long poll at its `timeout` as CouchDB 3
 * does, and records every `since` it is sent. Only the server side (this proxy) may map its
 * own tokens back; the code under test must send them back verbatim.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';

export interface Couch3Proxy {
  url: string;
  /** Every `since` received on `_changes`, in order. */
  sinceSeen: string[];
  /** Every seq token this proxy issued. */
  issued: Set<string>;
  /** Makes the next `_changes` responses hand out seqs `by` positions lower, as after a failover. */
  rewindBy(by: number): void;
  /** While true, `_changes` requests are accepted and never answered (a hung CouchDB). */
  hangChanges(hang: boolean): void;
  /** Runs `hook` once, when the next `POST …/_all_docs` arrives and before it is answered (a write racing a bulk read). */
  beforeNextAllDocs(hook: () => Promise<void>): void;
  close(): Promise<void>;
}

export async function startCouch3Proxy(upstream: string): Promise<Couch3Proxy> {
  const issued = new Set<string>();
  const tokenToNumber = new Map<string, number>();
  const sinceSeen: string[] = [];
  let shift = 0;
  let hang = false;
  let allDocsHook: (() => Promise<void>) | null = null;

  const token = (n: number): string => {
    const t = `${n}-g1AAAA${createHash('sha256').update(`seq:${n}`).digest('base64url').slice(0, 40)}`;
    issued.add(t);
    tokenToNumber.set(t, n);
    return t;
  };
  const untoken = (since: string): string => {
    if (since === '0' || since === 'now') return since;
    const n = tokenToNumber.get(since);
    if (n === undefined) throw new Error(`unknown seq ${since}`);
    return String(n);
  };

  const server = http.createServer(async (req, res) => {
    // a client that gives up (a bounded long poll) must not leave our upstream request hanging
    const aborter = new AbortController();
    res.on('close', () => aborter.abort());
    const forward = async (path: string, method = 'GET', body?: Buffer, headers: Record<string, string> = {}) =>
      fetch(upstream + path, { method, body: body && body.length ? body : undefined, headers, signal: aborter.signal });
    try {
      const url = new URL(req.url ?? '/', 'http://proxy');
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (url.pathname === '/')
        return send(200, { couchdb: 'Welcome', version: '3.3.3', vendor: { name: 'The Apache Software Foundation' } });

      const changes = /^\/([^/]+)\/_changes$/.exec(url.pathname);
      if (changes && req.method === 'GET') {
        if (hang) return; // accepted, never answered
        const since = url.searchParams.get('since') ?? '0';
        sinceSeen.push(since);
        let upstreamSince: string;
        try {
          upstreamSince = untoken(since);
        } catch (err) {
          return send(400, { error: 'bad_request', reason: "Malformed sequence supplied in 'since' parameter." });
        }
        const interval = Number(url.searchParams.get('seq_interval') ?? '1') || 1;
        const params = new URLSearchParams(url.searchParams);
        params.set(
          'since',
          shift > 0 && upstreamSince !== '0' && upstreamSince !== 'now'
            ? String(Math.max(0, Number(upstreamSince) - shift))
            : upstreamSince,
        );
        params.delete('seq_interval');
        // pouchdb-server's long poll ignores `timeout`: poll it with plain reads until the timeout, as CouchDB would wait
        const longPollUntil =
          params.get('feed') === 'longpoll' ? Date.now() + (Number(params.get('timeout') ?? '60000') || 60000) : 0;
        params.set('feed', 'normal');
        params.delete('timeout');
        let upstreamRes: Response;
        let text: string;
        let page: { results: { seq: number }[]; last_seq: number };
        for (;;) {
          upstreamRes = await forward(`/${changes[1]}/_changes?${params}`);
          text = await upstreamRes.text();
          if (!upstreamRes.ok) {
            res.writeHead(upstreamRes.status, { 'content-type': 'application/json' });
            return res.end(text);
          }
          page = JSON.parse(text) as { results: { seq: number }[]; last_seq: number };
          if (page.results.length > 0 || Date.now() >= longPollUntil || aborter.signal.aborted) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const info = (await (await forward(`/${changes[1]}`)).json()) as { update_seq: number };
        if (shift > 0) shift = 0; // one response from the past, then back to normal
        const results = page.results.map((r, i) => ({
          ...r,
          seq: (i + 1) % interval === 0 || i === page.results.length - 1 ? token(r.seq) : null,
        }));
        return send(200, {
          results,
          last_seq: token(page.last_seq),
          pending: Math.max(0, info.update_seq - page.last_seq),
        });
      }

      if (allDocsHook && req.method === 'POST' && /\/_all_docs$/.test(url.pathname)) {
        const hook = allDocsHook;
        allDocsHook = null;
        await hook();
      }
      const dbInfo = /^\/([^/_][^/]*)\/?$/.exec(url.pathname);
      const upstreamRes = await forward(`${url.pathname}${url.search}`, req.method ?? 'GET', body, {
        'content-type': req.headers['content-type'] ?? 'application/json',
        // CouchDB (and pouchdb-server) answer text/plain to a client that does not accept JSON
        accept: req.headers.accept ?? 'application/json',
      });
      const text = await upstreamRes.text();
      if (dbInfo && req.method === 'GET' && upstreamRes.ok) {
        const info = JSON.parse(text) as { update_seq: number };
        return send(200, { ...info, update_seq: token(info.update_seq) });
      }
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
    sinceSeen,
    issued,
    rewindBy: (by) => {
      shift = by;
    },
    hangChanges: (h) => {
      hang = h;
    },
    beforeNextAllDocs: (hook) => {
      allDocsHook = hook;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
