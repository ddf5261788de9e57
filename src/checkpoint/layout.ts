import type { Pool } from 'pg';
import { withTransaction } from '../postgres/pool';
import { recordCheckpoint } from './history';
import type { Seq } from './seq';

/** The reason recorded when a partition's stored checkpoint was dropped because the partition count changed. */
export const LAYOUT_REASON = 'partition layout changed';

/**
 * Which checkpoint a pillow (or partition) may resume from, given the partition count it runs under.
 *
 * A partition's doc set is `hash(id) mod partitions`: when the count changes, partition p holds other
 * docs than before, and since seqs are opaque no old checkpoint (its own, or any other partition's) says
 * where those docs were last read. So a stored checkpoint counts only if it was written under the same
 * count; otherwise the partition reads its share from "0" again (safe: processors are idempotent and
 * the feed hands out each doc at its current winner). The unpartitioned pillow reads every doc, so its checkpoint always counts.
 *
 * A missing row is created at "0" with the count, so every row the batches move carries one.
 * Rows from before the count was recorded (`partitions` null) are trusted once and stamped with the
 * current count, so an upgrade keeps today's deployments resuming where they stood.
 */
export async function resumeCheckpoint(
  pool: Pool,
  key: string,
  partitions: number,
): Promise<{ seq: Seq | null; dropped: { seq: Seq; partitions: number } | null }> {
  return withTransaction(pool, async (db) => {
    const { rows } = await db.query<{ seq: string; partitions: number | null }>(
      'SELECT seq, partitions FROM pillowtop_checkpoints WHERE pillow = $1 FOR UPDATE',
      [key],
    );
    const row = rows[0];
    if (!row) {
      // stamped from the start: the batches' writes move the seq and keep the count
      await db.query(`INSERT INTO pillowtop_checkpoints (pillow, seq, partitions) VALUES ($1, '0', $2)`, [
        key,
        partitions,
      ]);
      return { seq: null, dropped: null };
    }
    if (row.partitions === partitions) return { seq: row.seq, dropped: null };
    if (row.partitions === null) {
      await db.query('UPDATE pillowtop_checkpoints SET partitions = $2 WHERE pillow = $1', [key, partitions]);
      return { seq: row.seq, dropped: null };
    }
    await db.query(
      `UPDATE pillowtop_checkpoints SET seq = '0', partitions = $2, updated_at = now() WHERE pillow = $1`,
      [key, partitions],
    );
    await recordCheckpoint(db, key, row.seq, `${LAYOUT_REASON}: written with ${row.partitions} partitions`);
    await recordCheckpoint(db, key, '0', `${LAYOUT_REASON}: now ${partitions} partitions, reading from 0`);
    return { seq: null, dropped: { seq: row.seq, partitions: row.partitions } };
  });
}
