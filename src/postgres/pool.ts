import { Pool, type PoolClient } from 'pg';

export const DEFAULT_DATABASE_URL = 'postgres://127.0.0.1:5432/postgres';

/** A pool for the state database and the PostgreSQL processors. */
export function createPool(
  connectionString: string = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
  max = 10,
): Pool {
  const pool = new Pool({ connectionString, max, connectionTimeoutMillis: 10_000 });
  // an idle client losing its server (restart) must not crash the worker; the next query reconnects
  pool.on('error', () => undefined);
  // a checked-out client whose server goes away between queries (a restart mid-page) emits 'error'
  // too, and with no listener that crashes the process; its next query fails instead (transient)
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Runs `fn` in a transaction on one client; rolls back and rethrows on error. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
    throw err;
  } finally {
    // a client whose rollback failed has a dead connection: destroy it rather than return it to the pool
    client.release(broken);
  }
}
