import type { Pool } from 'pg';
import type { ResolvedPillow } from '../config/pillow-definition';
import { withTransaction } from '../postgres/pool';
import { ensureStateSchema } from '../postgres/state-schema';
import type { Logger } from '../types';
import { MemoByKey } from '../memo-by-key';

// per pool, then per pillow; a failed setup is tried again by the next page
const donePerPool = new MemoByKey<Pool, MemoByKey<string, void>>({ weak: true });

/** Creates the state tables and each processor's tables once per worker process and pillow. */
export async function ensurePillowSetup(pool: Pool, pillow: ResolvedPillow, log: Logger): Promise<void> {
  const done = await donePerPool.get(pool, async () => new MemoByKey());
  return done.get(pillow.name, async () => {
    await ensureStateSchema(pool);
    for (const processor of pillow.processors) {
      if (!processor.setup) continue;
      await withTransaction(pool, (db) => processor.setup!({ pillow: pillow.name, db, log }));
    }
  });
}
