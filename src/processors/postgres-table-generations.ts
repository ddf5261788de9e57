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
    },
    async drop(db, generation) {
      await db.query(`DROP TABLE IF EXISTS ${quoteIdent(tableOf(generation))}`);
    },
  };
}
