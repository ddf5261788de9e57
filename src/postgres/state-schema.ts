import type { Pool } from 'pg';
import { MemoByKey } from '../memo-by-key';
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
  // the failing changes of each pillow, recorded in the transaction that moves the checkpoint past
  // them, so none is lost between a commit and its retryChange workflow's start (`handed_off` says the
  // workflow was started or signalled). Keyed by the SHA-256 of the doc id: ids of any length fit.
  `CREATE TABLE IF NOT EXISTS pillowtop_failing_docs (
     pillow text NOT NULL,
     doc_key bytea NOT NULL,
     doc_id text NOT NULL,
     seq text,
     error text NOT NULL DEFAULT '',
     handed_off boolean NOT NULL DEFAULT false,
     failed_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (pillow, doc_key)
   )`,
  // from the first version (primary key on the id text; every row had its workflow started)
  `DO $$ BEGIN
     IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                    WHERE table_schema = current_schema() AND table_name = 'pillowtop_failing_docs' AND column_name = 'doc_key') THEN
       ALTER TABLE pillowtop_failing_docs ADD COLUMN doc_key bytea, ADD COLUMN seq text,
         ADD COLUMN error text NOT NULL DEFAULT '', ADD COLUMN handed_off boolean NOT NULL DEFAULT true;
       UPDATE pillowtop_failing_docs SET doc_key = sha256(convert_to(doc_id, 'UTF8'));
       ALTER TABLE pillowtop_failing_docs ALTER COLUMN doc_key SET NOT NULL, ALTER COLUMN handed_off SET DEFAULT false;
       ALTER TABLE pillowtop_failing_docs DROP CONSTRAINT pillowtop_failing_docs_pkey;
       ALTER TABLE pillowtop_failing_docs ADD PRIMARY KEY (pillow, doc_key);
     END IF;
   END $$`,
  `CREATE INDEX IF NOT EXISTS pillowtop_failing_docs_unhanded ON pillowtop_failing_docs (pillow) WHERE NOT handed_off`,
  // sweeps under way: after a database was re-created or restored (its feed went backwards), each
  // processor's docs are checked against the source and those it no longer has are removed
  `CREATE TABLE IF NOT EXISTS pillowtop_sweeps (
     pillow text NOT NULL,
     processor text NOT NULL,
     cursor text,
     reason text NOT NULL,
     started_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (pillow, processor)
   )`,
  // the partition count a checkpoint was written under (null: written before this was recorded);
  // a partition resumes only from a checkpoint of its own doc set (see checkpoint/layout.ts)
  `ALTER TABLE pillowtop_checkpoints ADD COLUMN IF NOT EXISTS partitions integer`,
  // generations of a processor's target rebuilt by `pillowtop rebuild` (see src/workflows/rebuild.ts):
  // while `state` is 'building', every writer of the pillow writes `building_generation` too
  `CREATE TABLE IF NOT EXISTS pillowtop_generations (
     pillow text NOT NULL,
     processor text NOT NULL,
     live_generation integer NOT NULL DEFAULT 1,
     building_generation integer,
     old_generation integer,
     state text NOT NULL,
     cursor text,
     done bigint NOT NULL DEFAULT 0,
     started_at timestamptz,
     ended_at timestamptz,
     PRIMARY KEY (pillow, processor)
   )`,
];

const migrated = new MemoByKey<Pool, void>({ weak: true });

/** Creates the state tables once per pool; concurrent workers serialize on an advisory lock. */
export function ensureStateSchema(pool: Pool): Promise<void> {
  return migrated.get(pool, () =>
    withTransaction(pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('pillowtop:state-schema'))`);
      for (const sql of MIGRATIONS) await client.query(sql);
    }),
  );
}
