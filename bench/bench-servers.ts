import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTemporalDevServer } from '../src/dev/temporal-server';
import { startCouchDevServer } from '../src/dev/couch-server';
import { createDatabase, resolveDevPostgres } from '../src/dev/postgres-server';

export interface BenchServers {
  temporalAddress: string;
  namespace: string;
  couchUrl: string;
  /** A database the bench may create tables in. */
  databaseUrl: string;
  /** Scratch folder for logs and the workflow bundle. */
  dir: string;
  /** Which servers the bench started itself, for the report. */
  started: string[];
  stop(): Promise<void>;
}

/**
 * The servers the bench measures against: `TEMPORAL_ADDRESS`, `COUCH_URL` and `DATABASE_URL` when
 * given, otherwise its own Temporal dev server, pouchdb-server and a fresh PostgreSQL database
 * (on the local server, or an embedded one), like the tests.
 */
export async function benchServers(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<BenchServers> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pillowtop-bench-'));
  const stops: (() => Promise<void>)[] = [];
  const started: string[] = [];
  try {
    const [temporalAddress, couchUrl, databaseUrl] = await Promise.all([
      env.TEMPORAL_ADDRESS
        ? env.TEMPORAL_ADDRESS
        : startTemporalDevServer({ dir, headless: true, env }).then((s) => {
            stops.push(s.stop);
            started.push('temporal dev server');
            return s.address;
          }),
      env.COUCH_URL
        ? env.COUCH_URL.replace(/\/$/, '')
        : startCouchDevServer({ dir }).then((s) => {
            stops.push(s.stop);
            started.push('pouchdb-server');
            return s.url;
          }),
      env.DATABASE_URL
        ? env.DATABASE_URL
        : resolveDevPostgres({ dir, env }).then(async (pg) => {
            stops.push(pg.stop);
            const fresh = await createDatabase(pg.url, 'pillowtop_bench');
            stops.unshift(fresh.drop);
            started.push(pg.origin === 'embedded' ? 'embedded PostgreSQL' : 'fresh database on local PostgreSQL');
            return fresh.url;
          }),
    ]);
    log(`servers: Temporal ${temporalAddress}, CouchDB ${couchUrl.replace(/\/\/[^@/]*@/, '//***@')}, PostgreSQL ready`);
    return {
      temporalAddress,
      namespace: env.TEMPORAL_NAMESPACE || 'default',
      couchUrl,
      databaseUrl,
      dir,
      started,
      async stop() {
        for (const stop of stops) await stop().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const stop of stops) await stop().catch(() => undefined);
    throw err;
  }
}
