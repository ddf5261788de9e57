import type { Pool } from 'pg';
import type { Seq } from './seq';

/** The checkpoint last committed for a pillow (or partition), or null if it never ran. */
export async function readCheckpoint(pool: Pool, key: string): Promise<Seq | null> {
  const { rows } = await pool.query<{ seq: string }>('SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1', [key]);
  return rows[0]?.seq ?? null;
}
