import type { Pool } from 'pg';
import { couchServer } from '../src/couch/couch-client';
import { readChanges } from '../src/couch/read-changes';
import { quoteIdent } from '../src/postgres/identifiers';
import type { Change } from '../src/types';

const BATCH = 1000;

export interface LoopResult {
  docs: number;
  seconds: number;
  docsPerSecond: number;
}

/** Source limit: the whole feed with `include_docs`, batches of 1,000, nothing written. */
export async function sourceLimit(couchUrl: string, db: string): Promise<LoopResult> {
  await couchServer(couchUrl); // looked up once, outside the timed loop
  const started = performance.now();
  const docs = await eachPage(couchUrl, db, async () => undefined);
  return result(docs, started);
}

/** Reads the whole feed serially in pages of 1,000, awaiting `onPage` before the next read; returns the changes read. */
async function eachPage(couchUrl: string, db: string, onPage: (changes: Change[]) => Promise<void>): Promise<number> {
  const server = await couchServer(couchUrl);
  let since = '0';
  let docs = 0;
  for (;;) {
    const page = await readChanges({ server, db, since, limit: BATCH, longPollMs: 0 });
    await onPage(page.changes);
    docs += page.changes.length;
    since = page.lastSeq;
    if (page.changes.length < BATCH) return docs;
  }
}

/**
 * The raw loop: the tightest honest hand-written serial loop. Read 1,000 changes with docs, one
 * multi-row `unnest` upsert into a table with the pillow table's columns, next batch.
 */
export async function rawLoop(couchUrl: string, db: string, pool: Pool, table: string): Promise<LoopResult> {
  const t = quoteIdent(table);
  await pool.query(`CREATE TABLE ${t} (doc_id text PRIMARY KEY, doc_rev text NOT NULL, domain text, case_type text,
    owner_id text, name text, opened_on timestamptz, closed boolean, age integer, village text, written_ms bigint)`);
  await couchServer(couchUrl); // looked up once, outside the timed loop
  const started = performance.now();
  const docs = await eachPage(couchUrl, db, async (changes) => {
    const live = changes.filter((c) => !c.deleted && c.doc?.doc_type === 'CommCareCase');
    if (live.length > 0) await upsert(pool, t, live);
  });
  return result(docs, started);
}

async function upsert(pool: Pool, t: string, changes: Change[]): Promise<void> {
  const col = (f: (doc: Record<string, unknown>, props: Record<string, unknown>) => unknown) =>
    changes.map((c) => {
      const doc = c.doc as Record<string, unknown>;
      const v = f(doc, (doc.properties ?? {}) as Record<string, unknown>);
      return v === undefined ? null : v;
    });
  await pool.query(
    `INSERT INTO ${t} (doc_id, doc_rev, domain, case_type, owner_id, name, opened_on, closed, age, village, written_ms)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
       $8::bool[], $9::int[], $10::text[], $11::bigint[])
     ON CONFLICT (doc_id) DO UPDATE SET doc_rev = excluded.doc_rev, domain = excluded.domain,
       case_type = excluded.case_type, owner_id = excluded.owner_id, name = excluded.name,
       opened_on = excluded.opened_on, closed = excluded.closed, age = excluded.age, village = excluded.village,
       written_ms = excluded.written_ms`,
    [
      changes.map((c) => c.id),
      changes.map((c) => c.rev ?? ''),
      col((d) => d.domain),
      col((d) => d.type),
      col((d) => d.owner_id),
      col((d) => d.name),
      col((d) => d.opened_on),
      col((d) => d.closed),
      col((_, p) => p.age),
      col((_, p) => p.village),
      col((d) => d.bench_written_ms),
    ],
  );
}

function result(docs: number, started: number): LoopResult {
  const seconds = (performance.now() - started) / 1000;
  return { docs, seconds, docsPerSecond: docs / seconds };
}
