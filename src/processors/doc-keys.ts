import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import { quoteIdent } from '../postgres/identifiers';

/**
 * CouchDB doc ids have no length limit, but a btree index entry must fit in a third of a page
 * (about 2,700 bytes): a 3,000-character random id cannot be a primary key. Sink tables are keyed by
 * the SHA-256 of the id instead (`<id column>_key bytea`), keep the id itself in a plain column, and
 * index that with a hash index, which stores only a hash and so takes ids of any length.
 */
export function docKey(id: string): Buffer {
  return createHash('sha256').update(id, 'utf8').digest();
}

/** The keys of many ids, for one `bytea[]` parameter. */
export function docKeys(ids: string[]): Buffer[] {
  return ids.map(docKey);
}

/**
 * Moves a table created by an earlier version (primary key on the id text) to the id-hash key, in
 * the setup transaction: adds and fills the key column, swaps the primary key, adds the hash index.
 * A no-op on a table that has it already.
 */
export async function migrateToDocKey(db: PoolClient, table: string, idColumn: string): Promise<void> {
  const keyColumn = `${idColumn}_key`;
  const t = quoteIdent(table);
  const { rows } = await db.query<{ has_key: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2) AS has_key`,
    [table, keyColumn],
  );
  if (!rows[0].has_key) {
    await db.query(`ALTER TABLE ${t} ADD COLUMN ${quoteIdent(keyColumn)} bytea`);
    await db.query(`UPDATE ${t} SET ${quoteIdent(keyColumn)} = sha256(convert_to(${quoteIdent(idColumn)}, 'UTF8'))`);
    await db.query(`ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(keyColumn)} SET NOT NULL`);
    const pk = await db.query<{ conname: string }>(
      `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
      [t],
    );
    for (const { conname } of pk.rows) await db.query(`ALTER TABLE ${t} DROP CONSTRAINT ${quoteIdent(conname)}`);
    await db.query(`ALTER TABLE ${t} ADD PRIMARY KEY (${quoteIdent(keyColumn)})`);
  }
  await db.query(
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(indexName(table, idColumn))} ON ${t} USING hash (${quoteIdent(idColumn)})`,
  );
}

function indexName(table: string, idColumn: string): string {
  // PostgreSQL truncates names at 63 bytes; table names are at most 56 (identifiers.ts)
  return `${table}_${idColumn}_hash`.slice(0, 63);
}

/**
 * A page of the doc ids a keyed table holds, in key order from `cursor` (the last key seen, hex);
 * `live` is an extra condition on the rows (the mirror keeps tombstones).
 */
export async function heldDocIdsOf(
  db: PoolClient,
  table: string,
  idColumn: string,
  live: string,
  cursor: string | null,
  limit: number,
): Promise<{ ids: string[]; cursor: string | null }> {
  const id = quoteIdent(idColumn);
  const key = quoteIdent(`${idColumn}_key`);
  const { rows } = await db.query<{ id: string; key: Buffer }>(
    `SELECT ${id} AS id, ${key} AS key FROM ${quoteIdent(table)}
     WHERE ${live} AND ($1::bytea IS NULL OR ${key} > $1::bytea) ORDER BY ${key} LIMIT $2`,
    [cursor === null ? null : Buffer.from(cursor, 'hex'), limit],
  );
  return {
    ids: rows.map((r) => r.id),
    cursor: rows.length < limit ? null : rows[rows.length - 1].key.toString('hex'),
  };
}
