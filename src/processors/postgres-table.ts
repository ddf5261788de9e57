import type { PoolClient } from 'pg';
import type { Change, ChangeFailure, Doc, Processor } from '../types';
import { identifierProblem, quoteIdent } from '../postgres/identifiers';
import { arrayCast, COLUMN_TYPES, toColumnValue, type ColumnType } from './column-types';
import { DocError, errorText } from './doc-error';
import { REV_GUARD, revGeneration } from './revisions';

export interface ColumnMapping {
  /** Column name: lowercase letters, digits and `_`. */
  name: string;
  type: ColumnType;
  /** A dot path into the doc (`properties.owner_id`) or a function of the doc. @default the column name */
  expression?: string | ((doc: Doc) => unknown);
  /** A doc without a value for this column fails (and is retried) instead of writing NULL. @default false */
  required?: boolean;
}

export interface PostgresTableOptions {
  /** Table to write, created if missing; columns added to the mapping are added to the table. */
  table: string;
  columns: ColumnMapping[];
  /** Processor name in metrics and errors. @default `postgresTable:<table>` */
  name?: string;
}

const RESERVED = new Set(['doc_id', 'doc_rev']);

/**
 * A typed table from a column mapping over the doc, like CommCare's UCR data sources: one row per
 * doc, keyed by `doc_id`; deletes remove the row. The newest revision seen per doc is kept in a
 * companion `<table>_revs` table so that an older revision can never overwrite a newer one or bring
 * back a deleted doc. One statement per batch.
 */
export function postgresTable(options: PostgresTableOptions): Processor {
  const { table, columns } = options;
  const revs = `${table}_revs`;
  // dot paths split once, not per doc
  const getters = columns.map((c) =>
    typeof c.expression === 'function' ? c.expression : pathGetter(c.expression ?? c.name),
  );
  return {
    name: options.name ?? `postgresTable:${table}`,
    describe: () => `postgresTable → ${table}`,
    validate: () => tableProblems(options),
    async setup({ db }) {
      await db.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`pillowtop:table:${table}`]);
      await createOrMigrate(db, table, revs, columns);
    },
    async processBatch(changes, { db }) {
      const failed: ChangeFailure[] = [];
      const ids: string[] = [];
      const revList: string[] = [];
      const revNums: number[] = [];
      const deleted: boolean[] = [];
      const values: unknown[][] = columns.map(() => []);
      for (const change of changes) {
        let row: unknown[];
        try {
          row = change.deleted ? columns.map(() => null) : rowFor(change, columns, getters);
        } catch (err) {
          failed.push({ id: change.id, seq: change.seq, error: errorText(err) });
          continue;
        }
        ids.push(change.id);
        revList.push(change.rev ?? '');
        revNums.push(revGeneration(change.rev));
        deleted.push(change.deleted);
        row.forEach((v, i) => values[i].push(v));
      }
      if (ids.length > 0) await upsert(db, table, revs, columns, [ids, revList, revNums, deleted, ...values]);
      return { failed };
    },
  };
}

function rowFor(change: Change, columns: ColumnMapping[], getters: ((doc: Doc) => unknown)[]): unknown[] {
  const doc = change.doc;
  if (!doc) throw new DocError('change has no doc (was the feed read without include_docs?)');
  return columns.map((c, i) => {
    let raw: unknown;
    try {
      raw = getters[i](doc);
    } catch (err) {
      throw new DocError(`column "${c.name}": expression failed: ${(err as Error).message}`);
    }
    if (c.required && (raw === undefined || raw === null || raw === ''))
      throw new DocError(`column "${c.name}" is required but the doc has no value for it`);
    return toColumnValue(raw, c.type, c.name);
  });
}

function pathGetter(path: string): (doc: Doc) => unknown {
  const keys = path.split('.');
  return (doc) => {
    let current: unknown = doc;
    for (const key of keys) {
      if (current === null || typeof current !== 'object') return undefined;
      current = (current as Record<string, unknown>)[key];
    }
    return current;
  };
}

async function upsert(
  db: PoolClient,
  table: string,
  revs: string,
  columns: ColumnMapping[],
  params: unknown[][],
): Promise<void> {
  const t = quoteIdent(table);
  const r = quoteIdent(revs);
  const cols = columns.map((c) => quoteIdent(c.name));
  const casts = columns.map((c, i) => `$${i + 5}::${arrayCast(c.type)}`);
  const sets = ['doc_rev = excluded.doc_rev', ...cols.map((c) => `${c} = excluded.${c}`)];
  await db.query(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bool[]${casts.map((c) => ', ' + c).join('')})
         AS u(doc_id, rev, rev_num, deleted${cols.map((c) => ', ' + c).join('')})
     ), newer AS (
       INSERT INTO ${r} AS cur (doc_id, rev, rev_num, deleted)
       SELECT doc_id, rev, rev_num, deleted FROM input
       ON CONFLICT (doc_id) DO UPDATE SET rev = excluded.rev, rev_num = excluded.rev_num, deleted = excluded.deleted
       WHERE ${REV_GUARD('cur')}
       RETURNING doc_id, deleted
     ), removed AS (
       DELETE FROM ${t} WHERE doc_id IN (SELECT doc_id FROM newer WHERE deleted)
     )
     INSERT INTO ${t} (doc_id, doc_rev${cols.map((c) => ', ' + c).join('')})
     SELECT i.doc_id, i.rev${cols.map((c) => ', i.' + c).join('')} FROM input i JOIN newer n USING (doc_id) WHERE NOT n.deleted
     ON CONFLICT (doc_id) DO UPDATE SET ${sets.join(', ')}`,
    params,
  );
}

async function createOrMigrate(db: PoolClient, table: string, revs: string, columns: ColumnMapping[]): Promise<void> {
  const t = quoteIdent(table);
  await db.query(`CREATE TABLE IF NOT EXISTS ${t} (doc_id text PRIMARY KEY, doc_rev text NOT NULL)`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${quoteIdent(revs)} (
    doc_id text PRIMARY KEY, rev text NOT NULL, rev_num integer NOT NULL, deleted boolean NOT NULL)`);
  const { rows } = await db.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
    [table],
  );
  const existing = new Map(rows.map((r) => [r.column_name, r.data_type]));
  for (const c of columns) {
    const found = existing.get(c.name);
    if (!found) {
      await db.query(`ALTER TABLE ${t} ADD COLUMN ${quoteIdent(c.name)} ${c.type}`);
    } else if (normalizeType(found) !== c.type) {
      throw new Error(
        `table "${table}" column "${c.name}" is ${found} but the mapping says ${c.type}; migrate it by hand or rename the column`,
      );
    }
  }
}

function normalizeType(dataType: string): string {
  return dataType === 'timestamp with time zone' ? 'timestamptz' : dataType;
}

function tableProblems(options: PostgresTableOptions): string[] {
  const problems: string[] = [];
  const tableProblem = identifierProblem(options.table, 'table');
  if (tableProblem) problems.push(tableProblem);
  if (!Array.isArray(options.columns) || options.columns.length === 0)
    return [...problems, 'columns must be a non-empty array'];
  const seen = new Set<string>();
  options.columns.forEach((c, i) => {
    const at = `columns[${i}]`;
    const nameProblem = identifierProblem(c?.name, `${at}.name`);
    if (nameProblem) problems.push(nameProblem);
    else if (RESERVED.has(c.name)) problems.push(`${at}.name "${c.name}" is reserved for the doc's id and revision`);
    else if (seen.has(c.name)) problems.push(`${at}.name "${c.name}" is declared twice`);
    else seen.add(c.name);
    if (!COLUMN_TYPES.includes(c?.type))
      problems.push(`${at}.type "${String(c?.type)}" must be one of: ${COLUMN_TYPES.join(', ')}`);
    if (c?.expression !== undefined && typeof c.expression !== 'string' && typeof c.expression !== 'function') {
      problems.push(`${at}.expression must be a dot path string or a function of the doc`);
    }
  });
  return problems;
}
