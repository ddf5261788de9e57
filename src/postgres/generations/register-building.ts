import type { PoolClient } from 'pg';

export interface BuildingGeneration {
  live: number;
  building: number;
  /** Where the backfill goes on from (a seq of the source); null: from the start. */
  cursor: string | null;
  done: number;
  /** True when a rebuild was already building this generation (a resumed run). */
  resumed: boolean;
}

/**
 * Registers generation live+1 as building (or returns the one already building), in the caller's
 * transaction, which holds every write lock of the pillow.
 */
export async function registerBuilding(db: PoolClient, pillow: string, processor: string): Promise<BuildingGeneration> {
  const { rows } = await db.query<{
    live_generation: number;
    building_generation: number | null;
    state: string;
    cursor: string | null;
    done: string;
  }>(
    `SELECT live_generation, building_generation, state, cursor, done FROM pillowtop_generations
      WHERE pillow = $1 AND processor = $2 FOR UPDATE`,
    [pillow, processor],
  );
  const row = rows[0];
  if (row?.state === 'building' && row.building_generation !== null) {
    return {
      live: row.live_generation,
      building: row.building_generation,
      cursor: row.cursor,
      done: Number(row.done),
      resumed: true,
    };
  }
  const live = row?.live_generation ?? 1;
  await db.query(
    `INSERT INTO pillowtop_generations (pillow, processor, live_generation, building_generation, state, cursor, done, started_at)
     VALUES ($1, $2, $3, $4, 'building', NULL, 0, now())
     ON CONFLICT (pillow, processor) DO UPDATE SET building_generation = $4, state = 'building', cursor = NULL,
       done = 0, started_at = now(), ended_at = NULL`,
    [pillow, processor, live, live + 1],
  );
  return { live, building: live + 1, cursor: null, done: 0, resumed: false };
}
