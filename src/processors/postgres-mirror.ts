import type { Change, Processor } from '../types';
import { identifierProblem, quoteIdent } from '../postgres/identifiers';
import { REV_GUARD, revGeneration } from './revisions';
import { DocError, errorText } from './doc-error';

export interface PostgresMirrorOptions {
  /** Table to write, created if missing. Lowercase letters, digits and `_`. */
  table: string;
  /** Processor name in metrics and errors. @default `postgresMirror:<table>` */
  name?: string;
}

/**
 * One row per doc: `id, rev, rev_num, seq, doc jsonb, deleted, updated_at`. Deletes keep a row with
 * `deleted = true` and no body, so that an older revision replayed later cannot bring the doc back.
 */
export function postgresMirror(options: PostgresMirrorOptions): Processor {
  const table = options.table;
  return {
    name: options.name ?? `postgresMirror:${table}`,
    describe: () => `postgresMirror → ${table}`,
    validate: () => {
      const problem = identifierProblem(table, 'table');
      return problem ? [problem] : [];
    },
    async setup({ db }) {
      await db.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`pillowtop:table:${table}`]);
      await db.query(`CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (
        id text PRIMARY KEY,
        rev text NOT NULL,
        rev_num integer NOT NULL,
        seq text,
        doc jsonb,
        deleted boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    },
    async processBatch(changes, { db, lastSeq }) {
      const rows = {
        id: [] as string[],
        rev: [] as string[],
        revNum: [] as number[],
        seq: [] as (string | null)[],
        doc: [] as (string | null)[],
        deleted: [] as boolean[],
      };
      const failed = [];
      for (const change of changes) {
        let doc: string | null;
        try {
          doc = change.deleted ? null : serializeDoc(change);
        } catch (err) {
          failed.push({ id: change.id, seq: change.seq, error: errorText(err) });
          continue;
        }
        rows.id.push(change.id);
        rows.rev.push(change.rev ?? '');
        rows.revNum.push(revGeneration(change.rev));
        rows.seq.push(change.seq ?? (lastSeq || null));
        rows.doc.push(doc);
        rows.deleted.push(change.deleted);
      }
      if (rows.id.length > 0) {
        const t = quoteIdent(table);
        await db.query(
          `INSERT INTO ${t} AS cur (id, rev, rev_num, seq, doc, deleted, updated_at)
           SELECT id, rev, rev_num, seq, doc, deleted, now()
           FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::jsonb[], $6::bool[]) AS u(id, rev, rev_num, seq, doc, deleted)
           ON CONFLICT (id) DO UPDATE SET rev = excluded.rev, rev_num = excluded.rev_num, seq = excluded.seq,
             doc = excluded.doc, deleted = excluded.deleted, updated_at = now()
           WHERE ${REV_GUARD('cur')}`,
          [rows.id, rows.rev, rows.revNum, rows.seq, rows.doc, rows.deleted],
        );
      }
      return { failed };
    },
  };
}

function serializeDoc(change: Change): string {
  if (!change.doc) throw new DocError('change has no doc (was the feed read without include_docs?)');
  // PostgreSQL jsonb cannot hold NUL characters; say so instead of failing the whole batch
  const text = JSON.stringify(change.doc);
  if (text.includes('\\u0000')) throw new DocError('doc contains a NUL character (\\u0000), which jsonb cannot store');
  return text;
}
