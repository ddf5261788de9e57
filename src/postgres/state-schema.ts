import type { Pool } from 'pg';
import { withTransaction } from './pool';

/**
 * pillowtop's own tables in the state database. The checkpoint mirror is written in the same
 * transaction as the sinks' rows, so a pillow started again after any stop resumes exactly there.
 * The history keeps recent checkpoints for `fix-rewind`. Failing docs index the retryChange workflows.
 */
const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS pillowtop_checkpoints (
     pillow text PRIMARY KEY,
     seq text NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE IF NOT EXISTS pillowtop_checkpoint_history (
     id bigserial PRIMARY KEY,
     pillow text NOT NULL,
     seq text NOT NULL,
     reason text NOT NULL,
     recorded_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX IF NOT EXISTS pillowtop_checkpoint_history_pillow ON pillowtop_checkpoint_history (pillow, id DESC)`,
  // an index of the docs that have a retryChange workflow, so a batch that writes a newer revision
  // of one can tell that workflow it is resolved (Temporal, not this table, does the retrying)
  `CREATE TABLE IF NOT EXISTS pillowtop_failing_docs (
     pillow text NOT NULL,
     doc_id text NOT NULL,
     failed_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (pillow, doc_id)
   )`,
  // the partition count a checkpoint was written under (null: written before this was recorded);
  // a partition resumes only from a checkpoint of its own doc set (see checkpoint-layout.ts)
  `ALTER TABLE pillowtop_checkpoints ADD COLUMN IF NOT EXISTS partitions integer`,
];

const migrated = new WeakMap<Pool, Promise<void>>();

/** Creates the state tables once per pool; concurrent workers serialize on an advisory lock. */
export function ensureStateSchema(pool: Pool): Promise<void> {
  let done = migrated.get(pool);
  if (!done) {
    done = withTransaction(pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('pillowtop:state-schema'))`);
      for (const sql of MIGRATIONS) await client.query(sql);
    });
    migrated.set(pool, done);
    done.catch(() => migrated.delete(pool));
  }
  return done;
}
