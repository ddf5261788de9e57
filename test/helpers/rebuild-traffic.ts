/** Live traffic around a rebuild: a writer changing the source, readers querying the target every 100 ms. */
import nano from 'nano';
import type { Pool } from 'pg';
import { caseDoc } from '../../src/dev/demo-data';
import type { Doc } from '../../src/types';

export interface LiveWriter {
  /** Stops after the round in flight; resolves with how many changes it made. */
  stop(): Promise<number>;
}

/**
 * Keeps updating docs of the first `existing` cases (never deleting them), adding new cases from
 * `existing` on and deleting some of those new ones again: the source never holds fewer than
 * `existing` cases while it runs.
 */
export function startLiveWriter(couchUrl: string, db: string, revs: Map<string, string>, existing: number): LiveWriter {
  const database = nano(couchUrl).use<Doc>(db);
  let stopped = false;
  let changes = 0;
  let next = existing;
  let round = 0;
  const added: string[] = [];
  const loop = (async () => {
    while (!stopped) {
      round++;
      const docs: Doc[] = [];
      for (let i = 0; i < 20; i++) {
        const n = (round * 37 + i * 101) % existing;
        const doc = caseDoc(n, round);
        docs.push({ ...doc, _rev: revs.get(doc._id) });
      }
      for (let i = 0; i < 10; i++) {
        const doc = caseDoc(next++, 0);
        docs.push(doc);
        added.push(doc._id);
      }
      for (const id of added.splice(0, round % 2 === 0 ? 5 : 0))
        docs.push({ _id: id, _rev: revs.get(id), _deleted: true });
      const results = await database.bulk({ docs });
      for (const r of results) if (r.id && r.rev) revs.set(r.id, r.rev);
      changes += docs.length;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return changes;
    },
  };
}

export interface Readers {
  /** Stops; resolves with the fewest rows any read saw, the number of reads and the errors seen. */
  stop(): Promise<{ fewest: number; reads: number; errors: string[] }>;
}

/** Reads `count(*)` of `sql`'s target every 100 ms, as a dashboard would. */
export function startReaders(read: () => Promise<number>): Readers {
  let stopped = false;
  let fewest = Number.POSITIVE_INFINITY;
  let reads = 0;
  const errors: string[] = [];
  const loop = (async () => {
    while (!stopped) {
      try {
        fewest = Math.min(fewest, await read());
        reads++;
      } catch (err) {
        errors.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { fewest, reads, errors };
    },
  };
}

export const tableRows = (pool: Pool, table: string) => async () =>
  Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

/** The source's live docs and their winning revisions. */
export async function sourceWinners(couchUrl: string, db: string): Promise<Map<string, string>> {
  const body = await nano(couchUrl).use(db).list();
  return new Map(body.rows.map((r) => [r.id, r.value.rev]));
}

/** The rows of a table as doc id → revision. */
export async function tableWinners(pool: Pool, table: string): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ doc_id: string; doc_rev: string }>(`SELECT doc_id, doc_rev FROM ${table}`);
  return new Map(rows.map((r) => [r.doc_id, r.doc_rev]));
}

/** The first few differences between two id → rev maps, or '' when equal. */
export function differences(expected: Map<string, string>, actual: Map<string, string>): string {
  const out: string[] = [];
  for (const [id, rev] of expected)
    if (actual.get(id) !== rev) out.push(`${id}: ${actual.get(id) ?? 'missing'} ≠ ${rev}`);
  for (const id of actual.keys()) if (!expected.has(id)) out.push(`${id}: extra`);
  return out.length === 0 ? '' : `${out.length} differences: ${out.slice(0, 5).join('; ')}`;
}
