import type { Change, ChangeFailure, Processor } from '../types';
import { identifierProblem, quoteIdent } from '../postgres/identifiers';
import { revGeneration } from './revisions';
import { DocError, errorText } from './doc-error';
import { docKey, heldDocIdsOf, migrateToDocKey } from './doc-keys';
import type { PoolClient } from 'pg';
import { tableGenerations } from './postgres-table-generations';

export interface PostgresMirrorOptions {
  /** Table to write, created if missing. Lowercase letters, digits and `_`. */
  table: string;
  /** Processor name in metrics and errors. @default `postgresMirror:<table>` */
  name?: string;
}

/**
 * One row per doc: `id, rev, rev_num, seq, doc jsonb, deleted, updated_at`, keyed by `id_key` (the
 * SHA-256 of the id, so ids of any length fit; see doc-keys.ts). Each change replaces the row with
 * what CouchDB's feed says now: the feed's order is the truth, not revision generations, because
 * CouchDB's winner can be a lower generation than a deleted branch and a re-created database starts
 * its generations again. A deletion marks a row the mirror holds `deleted` with no body; a deletion
 * of a doc the mirror never held writes nothing, so filtered-out docs leave no tombstones behind.
 */
export function postgresMirror(options: PostgresMirrorOptions): Processor {
  const table = options.table;
  const name = options.name ?? `postgresMirror:${table}`;
  // a rebuilt mirror holds the live docs, and tombstones only of docs deleted since the rebuild began
  const rebuild = tableGenerations(
    table,
    { create: createMirrorTable, liveProblem: async () => null },
    (changes, db, target) => writeMirror(db, target, changes, ''),
  );
  return {
    name,
    rebuild,
    describe: () => `postgresMirror → ${table}`,
    validate: () => {
      const problem = identifierProblem(table, 'table');
      return problem ? [problem] : [];
    },
    async setup({ db }) {
      await db.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`pillowtop:table:${table}`]);
      await createMirrorTable(db, table);
    },
    heldDocIds: ({ db }, cursor, limit) => heldDocIdsOf(db, table, 'id', 'NOT deleted', cursor, limit),
    async processBatch(changes, { db, lastSeq, building: generations }) {
      const result = await writeMirror(db, table, changes, lastSeq);
      // read in this transaction under its write lock, under which a rebuild registers (write-changes.ts)
      const building = generations.get(name) ?? null;
      if (building !== null) await writeMirror(db, rebuild.tableOf(building), changes, lastSeq);
      return result;
    },
  };
}

async function createMirrorTable(db: PoolClient, table: string): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (
    id_key bytea PRIMARY KEY,
    id text NOT NULL,
    rev text NOT NULL,
    rev_num integer NOT NULL,
    seq text,
    doc jsonb,
    deleted boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`);
  await migrateToDocKey(db, table, 'id');
}

async function writeMirror(db: PoolClient, table: string, changes: Change[], lastSeq: string) {
  const rows = {
    key: [] as Buffer[],
    id: [] as string[],
    rev: [] as string[],
    revNum: [] as number[],
    seq: [] as (string | null)[],
    doc: [] as (string | null)[],
    deleted: [] as boolean[],
  };
  const failed: ChangeFailure[] = [];
  for (const change of changes) {
    let doc: string | null;
    try {
      doc = change.deleted ? null : serializeDoc(change);
    } catch (err) {
      failed.push({ id: change.id, seq: change.seq, error: errorText(err) });
      continue;
    }
    rows.key.push(docKey(change.id));
    rows.id.push(change.id);
    rows.rev.push(change.rev ?? '');
    rows.revNum.push(revGeneration(change.rev));
    rows.seq.push(change.seq ?? (lastSeq || null));
    rows.doc.push(doc);
    rows.deleted.push(change.deleted);
  }
  if (rows.id.length > 0) {
    const t = quoteIdent(table);
    // one statement: live docs upserted, deletions mark only rows that exist (a page holds each id once)
    await db.query(
      `WITH input AS (
         SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::int[], $5::text[], $6::jsonb[], $7::bool[])
           AS u(id_key, id, rev, rev_num, seq, doc, deleted)
       ), upserted AS (
         INSERT INTO ${t} AS cur (id_key, id, rev, rev_num, seq, doc, deleted, updated_at)
         SELECT id_key, id, rev, rev_num, seq, doc, false, now() FROM input WHERE NOT deleted
         ON CONFLICT (id_key) DO UPDATE SET id = excluded.id, rev = excluded.rev, rev_num = excluded.rev_num,
           seq = excluded.seq, doc = excluded.doc, deleted = false, updated_at = now()
       )
       UPDATE ${t} AS cur SET rev = i.rev, rev_num = i.rev_num, seq = i.seq, doc = NULL, deleted = true, updated_at = now()
       FROM input i WHERE i.deleted AND cur.id_key = i.id_key`,
      [rows.key, rows.id, rows.rev, rows.revNum, rows.seq, rows.doc, rows.deleted],
    );
  }
  return { failed };
}

function serializeDoc(change: Change): string {
  if (!change.doc) throw new DocError('change has no doc (was the feed read without include_docs?)');
  // PostgreSQL jsonb cannot hold NUL characters; say so instead of failing the whole batch
  const text = JSON.stringify(change.doc);
  if (text.includes('\\u0000')) throw new DocError('doc contains a NUL character (\\u0000), which jsonb cannot store');
  return text;
}
