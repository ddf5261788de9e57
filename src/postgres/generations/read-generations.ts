import type { Pool } from 'pg';

export interface GenerationRow {
  processor: string;
  live: number;
  building: number | null;
  old: number | null;
  state: string;
  done: number;
}

/** A pillow's generation rows, for `pillowtop status` and the rebuild's own checks. */
export async function readGenerations(pool: Pool, pillow: string): Promise<GenerationRow[]> {
  const { rows } = await pool.query<{
    processor: string;
    live_generation: number;
    building_generation: number | null;
    old_generation: number | null;
    state: string;
    done: string;
  }>(
    `SELECT processor, live_generation, building_generation, old_generation, state, done
       FROM pillowtop_generations WHERE pillow = $1 ORDER BY processor`,
    [pillow],
  );
  return rows.map((r) => ({
    processor: r.processor,
    live: r.live_generation,
    building: r.building_generation,
    old: r.old_generation,
    state: r.state,
    done: Number(r.done),
  }));
}
