import { mkdirSync } from 'node:fs';
import { Client as PgClient } from 'pg';
import { startTemporalDevServer, type TemporalDevServer } from './temporal-server';
import { startCouchDevServer, type CouchDevServer } from './couch-server';
import { resolveDevPostgres, type DevPostgres } from './postgres-server';
import { preferredPort } from './ports';

export interface DevStack {
  temporal: TemporalDevServer;
  couch: CouchDevServer;
  postgres: DevPostgres;
  /** The database pillowtop writes to on that server. */
  databaseUrl: string;
  stop(): Promise<void>;
}

export interface DevStackOptions {
  dir: string;
  /** Keep Temporal's workflows in `<dir>/temporal.db` across runs. @default true */
  persistent?: boolean;
  /** Database created on the PostgreSQL server for pillowtop's tables. @default pillowtop_dev */
  database?: string;
  /** The Web UI decodes payloads through this codec endpoint (when a codec key is set). */
  uiCodecEndpoint?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Servers in process groups of their own, so that the terminal's Ctrl-C reaches only us and we stop
   * them after the worker (`pillowtop dev`). @default false
   */
  detached?: boolean;
}

/**
 * The whole stack on one machine: a Temporal dev server (ports 7233/8233 when free), pouchdb-server
 * (5984 when free), and PostgreSQL (DATABASE_URL, the local server, or an embedded one).
 */
export async function startDevStack(opts: DevStackOptions): Promise<DevStack> {
  mkdirSync(opts.dir, { recursive: true });
  const env = opts.env ?? process.env;
  const [temporalPort, uiPort, couchPort] = await Promise.all([
    preferredPort(7233),
    preferredPort(8233),
    preferredPort(5984),
  ]);
  const started: { stop(): Promise<void> }[] = [];
  try {
    const [temporal, couch, postgres] = await Promise.all([
      startTemporalDevServer({
        dir: opts.dir,
        port: temporalPort,
        uiPort,
        ...(opts.uiCodecEndpoint ? { uiCodecEndpoint: opts.uiCodecEndpoint } : {}),
        ...(opts.persistent === false ? {} : { dbFile: `${opts.dir}/temporal.db` }),
        env,
        detached: opts.detached === true,
      }).then((s) => (started.push(s), s)),
      startCouchDevServer({ dir: opts.dir, port: couchPort, detached: opts.detached === true }).then(
        (s) => (started.push(s), s),
      ),
      resolveDevPostgres({ dir: opts.dir, env, detached: opts.detached === true }).then((s) => (started.push(s), s)),
    ]);
    const databaseUrl = env.DATABASE_URL
      ? env.DATABASE_URL
      : await ensureDatabase(postgres.url, opts.database ?? 'pillowtop_dev');
    return {
      temporal,
      couch,
      postgres,
      databaseUrl,
      stop: async () => {
        await Promise.allSettled(started.map((s) => s.stop()));
      },
    };
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw err;
  }
}

async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new PgClient({ connectionString: serverUrl });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
