import type { PoolClient } from 'pg';

/** Records that `generation` is live now (in the swap's transaction); the former live one is kept as old. */
export async function recordSwap(db: PoolClient, pillow: string, processor: string, generation: number): Promise<void> {
  await db.query(
    `UPDATE pillowtop_generations
        SET old_generation = live_generation, live_generation = $3, building_generation = NULL, state = 'swapped'
      WHERE pillow = $1 AND processor = $2 AND building_generation = $3 AND state = 'building'`,
    [pillow, processor, generation],
  );
}
