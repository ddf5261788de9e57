import type { PoolClient } from 'pg';
import type { Change, ChangeFailure, Doc, Processor } from '../types';
import { identifierProblem, quoteIdent } from '../postgres/identifiers';
import { arrayCast, COLUMN_TYPES, toColumnValue, type ColumnType } from './column-types';
import { DocError, errorText } from './doc-error';
import { docKey, heldDocIdsOf, migrateToDocKey } from './doc-keys';
import { SinkUnavailableError } from './sink-unavailable';
import { tableGenerations } from './postgres-table-generations';

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

const RESERVED = new Set(['doc_id', 'doc_rev', 'doc_id_key']);

/**
 * A typed table from a column mapping over the doc, like CommCare's UCR data sources: one row per
 * doc (`doc_id`, `doc_rev`, the mapped columns), keyed by `doc_id_key`, the SHA-256 of the id, so ids
 * of any length fit. Deletions remove the row. Each change writes what CouchDB's feed says now (the
 * feed's order is the truth; see postgres-mirror.ts). One statement per batch.
 */
export function postgresTable(options: PostgresTableOptions): Processor {
  const { table, columns } = options;
  // dot paths split once, not per doc
  const getters = columns.map((c) =>
    typeof c.expression === 'function' ? c.expression : pathGetter(c.expression ?? c.name),
  );
  const name = options.name ?? `postgresTable:${table}`;
  // why the live table cannot take the mapping (a changed column type), found at setup: the live
  // table is not written until `pillowtop rebuild` has built and swapped in one that can
  let needsRebuild: string | null = null;
  let checked = false;
  const rebuild = tableGenerations(
    table,
    {
      create: async (db, name) => void (await createOrMigrate(db, name, columns)),
      liveProblem: async (db) => (await columnTypeChanges(db, table, columns)).join(', ') || null,
    },
    (changes, db, target) => writeRows(changes, db, target),
  );
  const writeRows = async (changes: Change[], db: PoolClient, target: string) => {
    const { params, failed } = rowParams(changes, columns, getters);
    if (params[0].length > 0) await upsert(db, target, columns, params);
    return { failed };
  };
  return {
    name,
    describe: () => `postgresTable → ${table}${needsRebuild ? ` (needs rebuild: ${needsRebuild})` : ''}`,
    validate: () => tableProblems(options),
    rebuild,
    async setup({ db }) {
      await db.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`pillowtop:table:${table}`]);
      needsRebuild = (await createOrMigrate(db, table, columns)).join(', ') || null;
    },
    heldDocIds: ({ db }, cursor, limit) => heldDocIdsOf(db, table, 'doc_id', 'true', cursor, limit),
    async processBatch(changes, { db, pillow, building: generations }) {
      // read in this transaction under its write lock, under which a rebuild registers (write-changes.ts)
      const building = generations.get(name) ?? null;
      // looked at again while it needs one (swapped in since?), and once per process whatever the setup found
      if (needsRebuild || !checked) needsRebuild = await rebuild.needsRebuild(db);
      checked = true;
      if (needsRebuild && building === null)
        throw new SinkUnavailableError(
          `table "${table}" needs a rebuild (${needsRebuild}): pillowtop rebuild ${pillow} --processor ${name}`,
        );
      // the live table is written unless it is the one being replaced for a changed column type
      const result = needsRebuild ? { failed: [] } : await writeRows(changes, db, table);
      if (building === null) return result;
      const built = await writeRows(changes, db, rebuild.tableOf(building));
      return { failed: mergeFailures(result.failed, built.failed) };
    },
  };
}

function mergeFailures(a: ChangeFailure[], b: ChangeFailure[]): ChangeFailure[] {
  const seen = new Set(a.map((f) => f.id));
  return a.concat(b.filter((f) => !seen.has(f.id)));
}

/** The parameters of one upsert for a page (one array per column), and the changes that cannot be rows. */
function rowParams(
  changes: Change[],
  columns: ColumnMapping[],
  getters: ((doc: Doc) => unknown)[],
): { params: unknown[][]; failed: ChangeFailure[] } {
  const failed: ChangeFailure[] = [];
  const keys: Buffer[] = [];
  const ids: string[] = [];
  const revList: string[] = [];
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
    keys.push(docKey(change.id));
    ids.push(change.id);
    revList.push(change.rev ?? '');
    deleted.push(change.deleted);
    row.forEach((v, i) => values[i].push(v));
  }
  return { params: [keys, ids, revList, deleted, ...values], failed };
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

async function upsert(db: PoolClient, table: string, columns: ColumnMapping[], params: unknown[][]): Promise<void> {
  const t = quoteIdent(table);
  const cols = columns.map((c) => quoteIdent(c.name));
  const casts = columns.map((c, i) => `$${i + 5}::${arrayCast(c.type)}`);
  const sets = ['doc_id = excluded.doc_id', 'doc_rev = excluded.doc_rev', ...cols.map((c) => `${c} = excluded.${c}`)];
  // a page holds each id once, so the delete and the upsert never meet on one row
  await db.query(
    `WITH input AS (
       SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::bool[]${casts.map((c) => ', ' + c).join('')})
         AS u(doc_id_key, doc_id, doc_rev, deleted${cols.map((c) => ', ' + c).join('')})
     ), removed AS (
       DELETE FROM ${t} WHERE doc_id_key IN (SELECT doc_id_key FROM input WHERE deleted)
     )
     INSERT INTO ${t} (doc_id_key, doc_id, doc_rev${cols.map((c) => ', ' + c).join('')})
     SELECT doc_id_key, doc_id, doc_rev${cols.map((c) => ', ' + c).join('')} FROM input WHERE NOT deleted
     ON CONFLICT (doc_id_key) DO UPDATE SET ${sets.join(', ')}`,
    params,
  );
}

/**
 * Creates the table or adds the mapping's new columns. Returns the columns whose type differs from the
 * mapping (`column age integer → text`): those are never altered in place; `pillowtop rebuild` applies them.
 */
export async function createOrMigrate(db: PoolClient, table: string, columns: ColumnMapping[]): Promise<string[]> {
  const t = quoteIdent(table);
  await db.query(
    `CREATE TABLE IF NOT EXISTS ${t} (doc_id_key bytea PRIMARY KEY, doc_id text NOT NULL, doc_rev text NOT NULL)`,
  );
  await migrateToDocKey(db, table, 'doc_id');
  const { rows } = await db.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
    [table],
  );
  const existing = new Map(rows.map((r) => [r.column_name, r.data_type]));
  const changed: string[] = [];
  for (const c of columns) {
    const found = existing.get(c.name);
    if (!found) {
      await db.query(`ALTER TABLE ${t} ADD COLUMN ${quoteIdent(c.name)} ${c.type}`);
    } else if (normalizeType(found) !== c.type) {
      changed.push(`column ${c.name} ${normalizeType(found)} → ${c.type}`);
    }
  }
  return changed;
}

/** The mapping's columns whose type differs from the table's (`column age integer → text`). */
export async function columnTypeChanges(db: PoolClient, table: string, columns: ColumnMapping[]): Promise<string[]> {
  const { rows } = await db.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
    [table],
  );
  const existing = new Map(rows.map((r) => [r.column_name, normalizeType(r.data_type)]));
  return columns
    .filter((c) => existing.has(c.name) && existing.get(c.name) !== c.type)
    .map((c) => `column ${c.name} ${existing.get(c.name)} → ${c.type}`);
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
