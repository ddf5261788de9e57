import type { Pool, PoolClient } from 'pg';
import type { Seq } from '../types';

/** Moves the checkpoint; pass the batch's transaction client so it commits with the sinks' rows. */
export async function writeCheckpoint(db: Pool | PoolClient, key: string, seq: Seq): Promise<void> {
  await db.query(
    `INSERT INTO pillowtop_checkpoints (pillow, seq, updated_at) VALUES ($1, $2, now())
     ON CONFLICT (pillow) DO UPDATE SET seq = excluded.seq, updated_at = now()`,
    [key, seq],
  );
}
