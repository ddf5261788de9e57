import type { PoolClient } from 'pg';

/**
 * The generation of a processor's target being rebuilt now, or null. Read by the processor inside
 * the write transaction, after the pillow's write lock is taken: a rebuild registers its generation
 * holding the same locks, so every batch committed after the registration writes the new generation too.
 */
export async function buildingGeneration(db: PoolClient, pillow: string, processor: string): Promise<number | null> {
  const { rows } = await db.query<{ building_generation: number }>(
    `SELECT building_generation FROM pillowtop_generations
      WHERE pillow = $1 AND processor = $2 AND state = 'building'`,
    [pillow, processor],
  );
  return rows[0]?.building_generation ?? null;
}
