import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { spawnManaged, waitFor } from './child-process';
import { freePort } from './ports';

export interface CouchDevServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts pouchdb-server, a CouchDB-protocol server, for the embedded default and the tests. It
 * differs from CouchDB 3 (integer seqs, no `pending`); the code treats both alike.
 */
export async function startCouchDevServer(opts: {
  dir: string;
  port?: number;
  inMemory?: boolean;
  /** In a process group of its own (see `spawnManaged`). */
  detached?: boolean;
}): Promise<CouchDevServer> {
  const port = opts.port ?? (await freePort());
  const dataDir = path.join(opts.dir, `couch-${port}`);
  mkdirSync(dataDir, { recursive: true });
  const bin = require.resolve('pouchdb-server/bin/pouchdb-server');
  const args = [
    bin,
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--dir',
    dataDir,
    '--config',
    path.join(dataDir, 'config.json'),
    '--no-stdout-logs',
  ];
  if (opts.inMemory) args.push('--in-memory');
  const proc = spawnManaged(process.execPath, args, path.join(opts.dir, `couch-${port}.log`), {
    cwd: dataDir,
    detached: opts.detached === true,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`pouchdb-server on ${url}`, async () => (await fetch(url)).ok, 60_000, proc.exited);
  return { url, stop: () => proc.stop() };
}
