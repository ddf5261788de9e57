import type { Pool } from 'pg';

/** One processor's sweep under way: where its list of held docs was read up to. */
export interface Sweep {
  processor: string;
  cursor: string | null;
}

/** Starts (or starts again from the beginning) a sweep of each processor's docs for a pillow key. */
export async function startSweeps(pool: Pool, key: string, processors: string[], reason: string): Promise<void> {
  if (processors.length === 0) return;
  await pool.query(
    `INSERT INTO pillowtop_sweeps (pillow, processor, cursor, reason)
     SELECT $1, p, NULL, $3 FROM unnest($2::text[]) AS p
     ON CONFLICT (pillow, processor) DO UPDATE SET cursor = NULL, reason = excluded.reason, started_at = now()`,
    [key, processors, reason],
  );
}

export async function pendingSweeps(pool: Pool, key: string): Promise<Sweep[]> {
  const { rows } = await pool.query<{ processor: string; cursor: string | null }>(
    `SELECT processor, cursor FROM pillowtop_sweeps WHERE pillow = $1 ORDER BY processor`,
    [key],
  );
  return rows;
}

/** Records a sweep's progress, or ends it (cursor null: every held doc was looked at). */
export async function advanceSweep(pool: Pool, key: string, processor: string, cursor: string | null): Promise<void> {
  if (cursor === null)
    await pool.query(`DELETE FROM pillowtop_sweeps WHERE pillow = $1 AND processor = $2`, [key, processor]);
  else
    await pool.query(`UPDATE pillowtop_sweeps SET cursor = $3 WHERE pillow = $1 AND processor = $2`, [
      key,
      processor,
      cursor,
    ]);
}
