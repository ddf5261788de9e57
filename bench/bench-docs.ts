import nano from 'nano';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import type { Doc } from '../src/types';

/** Writes `count` case docs (ids from `first`) with `_bulk_docs`, a few requests in flight. */
export async function loadDocs(couchUrl: string, db: string, count: number, first = 0): Promise<void> {
  const CHUNK = 1000;
  const chunks: number[] = [];
  for (let i = 0; i < count; i += CHUNK) chunks.push(i);
  let next = 0;
  const lane = async () => {
    while (next < chunks.length) {
      const start = chunks[next++];
      const docs = Array.from({ length: Math.min(CHUNK, count - start) }, (_, k) => caseDoc(first + start + k));
      await writeDocs(couchUrl, db, docs, CHUNK);
    }
  };
  await Promise.all([lane(), lane()]);
}

/** The sum of `properties.age` over docs `0..count-1`: the rows check at the end of a catch-up. */
export function expectedAgeSum(count: number): number {
  let sum = 0;
  for (let i = 0; i < count; i++) sum += (caseDoc(i).properties as { age: number }).age;
  return sum;
}

export interface RateWriter {
  /** Write time (ms since epoch) of each doc by id. */
  written: Map<string, number>;
  stop(): Promise<void>;
}

const TICK_MS = 10;

/**
 * Writes new case docs at a steady `perSecond` in small bulks (whatever is due every 10 ms), each
 * stamped with `bench_written_ms`, the time its write was sent.
 */
export function writeAtRate(couchUrl: string, db: string, perSecond: number, firstId: number): RateWriter {
  const database = nano(couchUrl).use<Doc>(db);
  const written = new Map<string, number>();
  const started = Date.now();
  let sent = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const due = Math.floor(((Date.now() - started) / 1000) * perSecond) - sent;
      if (due > 0) {
        const now = Date.now();
        const docs = Array.from({ length: due }, (_, k) => ({ ...caseDoc(firstId + sent + k), bench_written_ms: now }));
        sent += due;
        // known before the response, so a row that shows up early is never missed by the poller
        for (const d of docs) written.set(d._id as string, now);
        const results = await database.bulk({ docs }).catch(() => docs.map((d) => ({ id: d._id, error: 'failed' })));
        for (const r of results) if (r.id && r.error) written.delete(r.id);
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  })();
  return {
    written,
    async stop() {
      running = false;
      await loop;
    },
  };
}
