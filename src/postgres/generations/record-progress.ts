import type { PoolClient } from 'pg';

/**
 * Moves a rebuild's backfill cursor, in the transaction that wrote the page: a rebuild resumed after
 * a crash goes on from the last committed page. Returns false when the generation is no longer building.
 */
export async function recordProgress(
  db: PoolClient,
  pillow: string,
  processor: string,
  generation: number,
  cursor: string,
  written: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE pillowtop_generations SET cursor = $4, done = done + $5
      WHERE pillow = $1 AND processor = $2 AND building_generation = $3 AND state = 'building'`,
    [pillow, processor, generation, cursor, written],
  );
  return rowCount === 1;
}
