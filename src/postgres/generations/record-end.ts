import type { PoolClient } from 'pg';

/**
 * Ends a rebuild: 'done' once the old generation is dropped, 'cancelled' when the building one is
 * abandoned (writers stop writing it from the next batch on).
 */
export async function recordEnd(
  db: PoolClient,
  pillow: string,
  processor: string,
  state: 'done' | 'cancelled',
): Promise<void> {
  await db.query(
    `UPDATE pillowtop_generations
        SET state = $3, ended_at = now(), old_generation = NULL,
            building_generation = CASE WHEN $3 = 'cancelled' THEN NULL ELSE building_generation END
      WHERE pillow = $1 AND processor = $2`,
    [pillow, processor, state],
  );
}
