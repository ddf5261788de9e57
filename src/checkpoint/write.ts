import type { Pool } from 'pg';
import { withTransaction } from '../postgres/pool';
import { recordCheckpoint } from './history';
import type { Seq } from './seq';

/**
 * Sets the checkpoint where an operator (or a start with a checkpoint) asked, with a history entry
 * saying why, in one transaction. Batches move it with `advanceCheckpoint` instead, in their own.
 */
export async function writeCheckpoint(pool: Pool, key: string, seq: Seq, reason: string): Promise<void> {
  await withTransaction(pool, async (db) => {
    await db.query(
      `INSERT INTO pillowtop_checkpoints (pillow, seq, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (pillow) DO UPDATE SET seq = excluded.seq, updated_at = now()`,
      [key, seq],
    );
    await recordCheckpoint(db, key, seq, reason);
  });
}
