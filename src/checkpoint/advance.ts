import type { PoolClient } from 'pg';
import type { Seq } from './seq';

/**
 * Moves the checkpoint from `since` to `lastSeq` in the page's transaction, only if it still is
 * `since` (equality only: seqs are opaque). Returns null when it moved, or the checkpoint stored
 * instead: another writer of this key got there first (a cancelled batch that committed anyway, or
 * a zombie activity of an earlier run), and this page must write nothing. The row stays locked
 * until the transaction ends, so no other page of this key can commit in between.
 */
export async function advanceCheckpoint(db: PoolClient, key: string, since: Seq, lastSeq: Seq): Promise<Seq | null> {
  const moved = await db.query(
    `INSERT INTO pillowtop_checkpoints (pillow, seq, updated_at) VALUES ($1, $3, now())
     ON CONFLICT (pillow) DO UPDATE SET seq = excluded.seq, updated_at = now()
     WHERE pillowtop_checkpoints.seq = $2`,
    [key, since, lastSeq],
  );
  if (moved.rowCount === 1) return null;
  const { rows } = await db.query<{ seq: string }>('SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1', [key]);
  return rows[0]?.seq ?? since;
}
