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

/**
 * The generations being rebuilt now of all a pillow's processors, by processor name: one read per
 * batch, handed to the processors as `ProcessorContext.building`. Read inside the write transaction
 * after the pillow's write locks are taken, as `buildingGeneration` is.
 */
export async function buildingGenerations(db: PoolClient, pillow: string): Promise<Map<string, number>> {
  const { rows } = await db.query<{ processor: string; building_generation: number }>(
    `SELECT processor, building_generation FROM pillowtop_generations
      WHERE pillow = $1 AND state = 'building' AND building_generation IS NOT NULL`,
    [pillow],
  );
  return new Map(rows.map((r) => [r.processor, r.building_generation]));
}
