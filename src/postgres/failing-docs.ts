import type { Pool } from 'pg';

/** Marks docs as handed to a retryChange workflow. */
export async function addFailingDocs(pool: Pool, pillow: string, docIds: string[]): Promise<void> {
  if (docIds.length === 0) return;
  await pool.query(
    `INSERT INTO pillowtop_failing_docs (pillow, doc_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
    [pillow, docIds],
  );
}

/** Unmarks the docs that went through; returns those that had been failing (one query per batch). */
export async function removeFailingDocs(pool: Pool, pillow: string, docIds: string[]): Promise<string[]> {
  if (docIds.length === 0) return [];
  const { rows } = await pool.query<{ doc_id: string }>(
    `DELETE FROM pillowtop_failing_docs WHERE pillow = $1 AND doc_id = ANY($2::text[]) RETURNING doc_id`,
    [pillow, docIds],
  );
  return rows.map((r) => r.doc_id);
}

export async function countFailingDocs(pool: Pool, pillow: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM pillowtop_failing_docs WHERE pillow = $1`,
    [pillow],
  );
  return Number(rows[0].n);
}
