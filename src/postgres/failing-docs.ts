import type { Pool, PoolClient } from 'pg';
import type { ChangeFailure } from '../types';
import { docKeys } from '../processors/doc-keys';

/** A failing change as recorded, waiting to be handed to (or already with) its retryChange workflow. */
export interface FailingDoc {
  docId: string;
  seq: string | null;
  error: string;
  failedAt: Date;
}

/**
 * Records failing changes in the transaction that moves the checkpoint past them. A doc failing
 * again (a newer revision) is recorded again and handed off again: its retry workflow hears of it.
 */
export async function recordFailingDocs(db: PoolClient, pillow: string, failures: ChangeFailure[]): Promise<void> {
  if (failures.length === 0) return;
  const byId = new Map(failures.map((f) => [f.id, f]));
  const ids = [...byId.keys()];
  await db.query(
    `INSERT INTO pillowtop_failing_docs (pillow, doc_key, doc_id, seq, error, handed_off, failed_at)
     SELECT $1, k, id, seq, error, false, date_trunc('milliseconds', clock_timestamp())
     FROM unnest($2::bytea[], $3::text[], $4::text[], $5::text[]) AS u(k, id, seq, error)
     ON CONFLICT (pillow, doc_key) DO UPDATE SET seq = excluded.seq, error = excluded.error, handed_off = false,
       failed_at = excluded.failed_at`,
    [pillow, docKeys(ids), ids, ids.map((id) => byId.get(id)!.seq), ids.map((id) => byId.get(id)!.error)],
  );
}

/** Removes the docs that went through; returns those that had been failing (one query per page). */
export async function resolveFailingDocs(db: Pool | PoolClient, pillow: string, docIds: string[]): Promise<string[]> {
  if (docIds.length === 0) return [];
  const { rows } = await db.query<{ doc_id: string }>(
    `DELETE FROM pillowtop_failing_docs WHERE pillow = $1 AND doc_key = ANY($2::bytea[]) RETURNING doc_id`,
    [pillow, docKeys(docIds)],
  );
  return rows.map((r) => r.doc_id);
}

/** Failing changes whose retry workflow has not been started or signalled yet (oldest first). */
export async function unhandedFailingDocs(pool: Pool, pillow: string, limit: number): Promise<FailingDoc[]> {
  const { rows } = await pool.query<{ doc_id: string; seq: string | null; error: string; failed_at: Date }>(
    `SELECT doc_id, seq, error, failed_at FROM pillowtop_failing_docs WHERE pillow = $1 AND NOT handed_off
     ORDER BY failed_at LIMIT $2`,
    [pillow, limit],
  );
  return rows.map((r) => ({ docId: r.doc_id, seq: r.seq, error: r.error, failedAt: r.failed_at }));
}

/**
 * Marks failing changes as handed off, unless they failed again since (then they are handed off
 * again). `failed_at` is kept to the millisecond so that it survives the round trip through a JS Date.
 */
export async function markHandedOff(pool: Pool, pillow: string, docs: FailingDoc[]): Promise<void> {
  if (docs.length === 0) return;
  await pool.query(
    `UPDATE pillowtop_failing_docs f SET handed_off = true
     FROM unnest($2::bytea[], $3::timestamptz[]) AS u(k, failed_at)
     WHERE f.pillow = $1 AND f.doc_key = u.k AND f.failed_at = u.failed_at`,
    [pillow, docKeys(docs.map((d) => d.docId)), docs.map((d) => d.failedAt)],
  );
}

export async function countFailingDocs(pool: Pool, pillow: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM pillowtop_failing_docs WHERE pillow = $1`,
    [pillow],
  );
  return Number(rows[0].n);
}
