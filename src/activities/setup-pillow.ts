import type { Pool } from 'pg';
import type { ResolvedPillow } from '../config/pillow-definition';
import { withTransaction } from '../postgres/pool';
import { ensureStateSchema } from '../postgres/state-schema';
import type { Logger } from '../types';

const donePerPool = new WeakMap<Pool, Map<string, Promise<void>>>();

/** Creates the state tables and each processor's tables once per worker process and pillow. */
export function ensurePillowSetup(pool: Pool, pillow: ResolvedPillow, log: Logger): Promise<void> {
  let done = donePerPool.get(pool);
  if (!done) donePerPool.set(pool, (done = new Map()));
  let setup = done.get(pillow.name);
  if (!setup) {
    setup = (async () => {
      await ensureStateSchema(pool);
      for (const processor of pillow.processors) {
        if (!processor.setup) continue;
        await withTransaction(pool, (db) => processor.setup!({ pillow: pillow.name, db, log }));
      }
    })();
    done.set(pillow.name, setup);
    setup.catch(() => done.delete(pillow.name)); // a failed setup is tried again by the next batch
  }
  return setup;
}
