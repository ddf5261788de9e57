import type { PoolClient } from 'pg';

/**
 * Every writer of one pillow's sinks holds its write lock for its whole transaction: the pillow's
 * own pages, and the writers beside the feed (retries, `run-docs`, `reindex`). The feed's order is the
 * sinks' truth; a writer beside it reads CouchDB only once it holds the lock, so what it writes is
 * never older than what the pillow committed before, and whatever changes after its read reaches the
 * pillow as a later change. One lock per partition, so partitions never wait for each other.
 */
export function writeLockName(pillow: string, partition: number): string {
  return `pillowtop:write:${pillow}:${partition}`;
}

/** Takes the locks in one order (sorted), so two writers that need several can never deadlock. */
export async function takeWriteLocks(db: PoolClient, names: string[]): Promise<void> {
  for (const name of [...new Set(names)].sort()) {
    await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
  }
}
