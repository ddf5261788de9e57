import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import type { CodecKeys } from './codec-keys';
import { EncryptionCodec, UnknownCodecKeyError } from './encryption-codec';

export interface CodecServerOptions {
  keys: CodecKeys;
  port: number;
  host: string;
  /** Origins allowed to call it from a browser (the Temporal Web UI); `*` allows any. */
  corsOrigins: string[];
}

export interface RunningCodecServer {
  url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Temporal's remote codec protocol, for the Web UI and the Temporal CLI (`--codec-endpoint`):
 * `POST /encode` and `POST /decode` with `{"payloads": [{"metadata": {"k": "<base64>"}, "data": "<base64>"}]}`,
 * answered in the same shape (any path prefix works: `…/default/decode` too). The `X-Namespace`
 * header is accepted (one set of keys serves every namespace). Browsers get CORS answers for the
 * allowed origins only. Whoever can reach it can decrypt: it listens on 127.0.0.1 unless told.
 */
export async function startCodecServer(opts: CodecServerOptions): Promise<RunningCodecServer> {
  const codec = new EncryptionCodec(opts.keys);
  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin && (opts.corsOrigins.includes('*') || opts.corsOrigins.includes(origin))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Max-Age', '600');
      res.writeHead(204).end();
      return;
    }
    const op = /\/(encode|decode)\/?$/.exec(new URL(req.url ?? '/', 'http://x').pathname)?.[1];
    if (!op) return reply(res, 404, { error: 'not found: POST /encode or /decode' });
    if (req.method !== 'POST') return reply(res, 405, { error: `use POST for /${op}` });
    readBody(req)
      .then(async (body) => {
        const payloads = parsePayloads(body);
        const out = op === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
        reply(res, 200, { payloads: out.map(payloadToJson) });
      })
      .catch((err: Error) => {
        const status = err instanceof RequestError || err instanceof UnknownCodecKeyError ? 400 : 422;
        reply(res, status, { error: err.message });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

class RequestError extends Error {}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RequestError(`request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parsePayloads(body: string): Payload[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new RequestError('body is not JSON: expected {"payloads": [...]}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new RequestError('body must be {"payloads": [...]}');
  // protojson (the Go SDK, the Temporal CLI) leaves an empty list out: `{}` is no payloads
  const payloads = (parsed as { payloads?: unknown }).payloads ?? [];
  if (!Array.isArray(payloads)) throw new RequestError('body must be {"payloads": [...]}');
  return payloads.map((p: { metadata?: Record<string, string>; data?: string }, i) => {
    if (typeof p !== 'object' || p === null) throw new RequestError(`payloads[${i}] is not an object`);
    const metadata: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(String(v), 'base64');
    return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
  });
}

function payloadToJson(p: Payload): { metadata: Record<string, string>; data: string } {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}
