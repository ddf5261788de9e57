import type { PoolClient } from 'pg';
import type { BatchResult, Change, RebuildTarget } from '../types';
import { quoteIdent } from '../postgres/identifiers';

export type TableGenerations = RebuildTarget & {
  /** The table a generation is built in: `<table>__v<generation>` (the live one is always `<table>`). */
  tableOf(generation: number): string;
};

/** How a processor's table is made, and how the live one differs from the configured definition. */
export interface TableDefinition {
  /** Creates the table `name` with the configured definition. */
  create(db: PoolClient, name: string): Promise<void>;
  /** Why the live table cannot take the configured definition, or null. */
  liveProblem(db: PoolClient): Promise<string | null>;
}

/**
 * The generations of a PostgreSQL processor's table (`postgresTable`, `postgresMirror`) for `pillowtop rebuild`: readers query the plain name (`case_index`),
 * which is always the live generation; generation N is built in `case_index__vN` and swapped in by two
 * renames in one transaction (the old one becomes `case_index__v<live>` until dropped). A reader's
 * statement waits for the swap's lock and then sees the new table whole, never an empty or half one.
 */
export function tableGenerations(
  table: string,
  definition: TableDefinition,
  write: (changes: Change[], db: PoolClient, target: string) => Promise<BatchResult>,
): TableGenerations {
  const tableOf = (generation: number) => `${table}__v${generation}`;
  return {
    target: table,
    tableOf,
    needsRebuild: (db) => definition.liveProblem(db),
    async create(db, generation) {
      await db.query(`DROP TABLE IF EXISTS ${quoteIdent(tableOf(generation))}`);
      await definition.create(db, tableOf(generation));
    },
    write: (changes, db, generation) => write(changes, db, tableOf(generation)),
    async swap(db, live, generation) {
      await db.query(`DROP TABLE IF EXISTS ${quoteIdent(tableOf(live))}`);
      await db.query(`ALTER TABLE ${quoteIdent(table)} RENAME TO ${quoteIdent(tableOf(live))}`);
      await db.query(`ALTER TABLE ${quoteIdent(tableOf(generation))} RENAME TO ${quoteIdent(table)}`);
      // the indexes follow their tables' names, so that setup (CREATE INDEX IF NOT EXISTS by name)
      // finds the live table's own and does not add a second one
      await renameIndexes(db, tableOf(live), table, tableOf(live));
      await renameIndexes(db, table, tableOf(generation), table);
    },
    async drop(db, generation) {
      await db.query(`DROP TABLE IF EXISTS ${quoteIdent(tableOf(generation))}`);
    },
  };
}

/** Renames the indexes of `table` named `<from>_…` to `<to>_…` (PostgreSQL's 63-byte limit kept). */
async function renameIndexes(db: PoolClient, table: string, from: string, to: string): Promise<void> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1`,
    [table],
  );
  for (const { name } of rows) {
    if (!name.startsWith(`${from}_`)) continue;
    const renamed = `${to}${name.slice(from.length)}`.slice(0, 63);
    if (renamed !== name) await db.query(`ALTER INDEX ${quoteIdent(name)} RENAME TO ${quoteIdent(renamed)}`);
  }
}
