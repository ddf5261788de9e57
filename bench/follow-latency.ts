import type { Pool } from 'pg';
import { quoteIdent } from '../src/postgres/identifiers';
import { writeAtRate } from './bench-docs';

export interface FollowResult {
  /** Docs written during the measurement. */
  docs: number;
  /** Docs whose row never showed up within the grace period. */
  missing: number;
  actualRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface FollowOptions {
  pool: Pool;
  couchUrl: string;
  db: string;
  table: string;
  rate: number;
  seconds: number;
  /** Ids of the written docs start here, above every doc already in the database. */
  firstId: number;
  progress: (line: string) => void;
}

const POLL_MS = 10;
const GRACE_MS = 30_000;

/**
 * A writer adds docs at a steady rate while the (caught-up) pillow follows; a poller notes when
 * each doc's row becomes visible. Latency = visible - written, per doc. A row in a query's result
 * was committed before the query started, so the query's start time is the visibility time.
 */
export async function measureFollow(opts: FollowOptions): Promise<FollowResult> {
  const table = quoteIdent(opts.table);
  const seen = new Map<string, number>();
  let written = new Map<string, number>(); // the writer's, once it runs
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const unseen = [...written.keys()].filter((id) => !seen.has(id));
      if (unseen.length > 0) {
        const at = Date.now();
        const { rows } = await opts.pool.query<{ doc_id: string }>(
          `SELECT doc_id FROM ${table} WHERE doc_id = ANY($1::text[]) AND written_ms IS NOT NULL`,
          [unseen],
        );
        for (const r of rows) seen.set(r.doc_id, at);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();

  const started = Date.now();
  const writer = writeAtRate(opts.couchUrl, opts.db, opts.rate, opts.firstId);
  written = writer.written;
  while (Date.now() - started < opts.seconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    opts.progress(`  follow: ${writer.written.size} written, ${seen.size} visible`);
  }
  await writer.stop();
  const elapsed = (Date.now() - started) / 1000;
  const graceEnd = Date.now() + GRACE_MS;
  while (seen.size < writer.written.size && Date.now() < graceEnd) await new Promise((r) => setTimeout(r, 100));
  polling = false;
  await poller;

  const latencies: number[] = [];
  for (const [id, writtenAt] of writer.written) {
    const at = seen.get(id);
    if (at !== undefined) latencies.push(Math.max(0, at - writtenAt));
  }
  latencies.sort((a, b) => a - b);
  return {
    docs: writer.written.size,
    missing: writer.written.size - latencies.length,
    actualRate: writer.written.size / elapsed,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.length ? latencies[latencies.length - 1] : NaN,
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
