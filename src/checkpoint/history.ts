import type { Pool, PoolClient } from 'pg';
import type { Seq } from './seq';

export interface CheckpointRecord {
  seq: Seq;
  reason: string;
  recordedAt: Date;
}

const KEEP = 200;

/** The reason recorded with the last seq before a feed went backwards; `pillowtop fix-rewind` looks for it. */
export const REWIND_REASON = 'before feed rewind';

/** Records a checkpoint worth going back to (start, rewind, a feed that went backwards); keeps the last 200. */
export async function recordCheckpoint(db: Pool | PoolClient, key: string, seq: Seq, reason: string): Promise<void> {
  await db.query(
    `WITH added AS (INSERT INTO pillowtop_checkpoint_history (pillow, seq, reason) VALUES ($1, $2, $3))
     DELETE FROM pillowtop_checkpoint_history WHERE pillow = $1 AND id < (
       SELECT id FROM pillowtop_checkpoint_history WHERE pillow = $1 ORDER BY id DESC OFFSET $4 LIMIT 1)`,
    [key, seq, reason, KEEP],
  );
}

export async function listCheckpoints(db: Pool | PoolClient, key: string, limit = 20): Promise<CheckpointRecord[]> {
  const { rows } = await db.query<{ seq: string; reason: string; recorded_at: Date }>(
    `SELECT seq, reason, recorded_at FROM pillowtop_checkpoint_history WHERE pillow = $1 ORDER BY id DESC LIMIT $2`,
    [key, limit],
  );
  return rows.map((r) => ({ seq: r.seq, reason: r.reason, recordedAt: r.recorded_at }));
}

/** The most recent checkpoint recorded with `reason`, or null. */
export async function lastCheckpointWithReason(
  db: Pool | PoolClient,
  key: string,
  reason: string,
): Promise<CheckpointRecord | null> {
  const { rows } = await db.query<{ seq: string; reason: string; recorded_at: Date }>(
    `SELECT seq, reason, recorded_at FROM pillowtop_checkpoint_history WHERE pillow = $1 AND reason = $2
     ORDER BY id DESC LIMIT 1`,
    [key, reason],
  );
  return rows[0] ? { seq: rows[0].seq, reason: rows[0].reason, recordedAt: rows[0].recorded_at } : null;
}
