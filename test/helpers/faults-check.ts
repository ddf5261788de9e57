/**
 * The fault suite's end-of-case check: the sink equals the source (every live doc at its latest
 * revision, deletes gone, no duplicates) and the checkpoint is sound (the workflow's checkpoint is
 * the one stored with the rows, and it is at the feed's head). Counts go to the suite's tally.
 */
import assert from 'node:assert/strict';
import nano from 'nano';
import type { Pool } from 'pg';
import { seqToText } from '../../src/seq';
import { tally } from './faults-tally';
import { eventually } from './harness';

export interface SourceState {
  live: Map<string, string>;
  deleted: Set<string>;
  updateSeq: string;
}

/** Every doc of the database as the feed would give it: winning rev, or deleted. */
export async function sourceState(couchUrl: string, db: string): Promise<SourceState> {
  const server = nano(couchUrl);
  const body = (await server.request({ db, path: '_changes', qs: { since: 0, style: 'main_only' } })) as {
    results: { id: string; changes: { rev: string }[]; deleted?: boolean }[];
  };
  const info = (await server.request({ db })) as { update_seq: unknown };
  const live = new Map<string, string>();
  const deleted = new Set<string>();
  for (const r of body.results) {
    if (r.id.startsWith('_design/')) continue;
    if (r.deleted) {
      deleted.add(r.id);
      live.delete(r.id);
    } else {
      live.set(r.id, r.changes[0].rev);
      deleted.delete(r.id);
    }
  }
  return { live, deleted, updateSeq: seqToText(info.update_seq) ?? '0' };
}

export interface SinkDiff {
  lost: string[];
  stale: string[];
  undeleted: string[];
  extra: string[];
  duplicates: number;
}

/** How a postgresMirror table differs from the source. */
export async function sinkDiff(pool: Pool, table: string, source: SourceState): Promise<SinkDiff> {
  const { rows } = await pool.query<{ id: string; rev: string; deleted: boolean }>(
    `SELECT id, rev, deleted FROM ${table}`,
  );
  const dup = await pool.query<{ n: string }>(`SELECT count(*) - count(DISTINCT id) AS n FROM ${table}`);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const diff: SinkDiff = { lost: [], stale: [], undeleted: [], extra: [], duplicates: Number(dup.rows[0].n) };
  for (const [id, rev] of source.live) {
    const row = byId.get(id);
    if (!row || row.deleted) diff.lost.push(id);
    else if (row.rev !== rev) diff.stale.push(id);
  }
  for (const id of source.deleted) if (byId.get(id)?.deleted === false) diff.undeleted.push(id);
  for (const r of rows) if (!r.deleted && !source.live.has(r.id) && !source.deleted.has(r.id)) diff.extra.push(r.id);
  return diff;
}

const clean = (d: SinkDiff) =>
  d.lost.length + d.stale.length + d.undeleted.length + d.extra.length + d.duplicates === 0;

/**
 * Waits (generously) until the mirror equals the source and the checkpoint is at the head, then
 * asserts it, recording the figures. `checkpoint` reads the pillow's checkpoint from its workflow.
 */
export async function assertSinkMatchesSource(opts: {
  pool: Pool;
  couchUrl: string;
  db: string;
  table: string;
  pillowKey: string;
  checkpoint?: () => Promise<string>;
  /** A postgresTable fed by the same pillow: one row per live doc. */
  indexTable?: string;
  timeoutMs?: number;
}): Promise<{ docs: number }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let source = await sourceState(opts.couchUrl, opts.db);
  let diff: SinkDiff = { lost: ['(sink table not readable yet)'], stale: [], undeleted: [], extra: [], duplicates: 0 };
  let stored: string | null = null;
  for (;;) {
    source = await sourceState(opts.couchUrl, opts.db);
    diff = await sinkDiff(opts.pool, opts.table, source).catch(() => diff);
    stored = await opts.pool
      .query<{ seq: string }>('SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1', [opts.pillowKey])
      .then((r) => r.rows[0]?.seq ?? null)
      .catch(() => null);
    if (clean(diff) && stored === source.updateSeq) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  tally.docsChecked += source.live.size;
  tally.lost += diff.lost.length + diff.stale.length;
  tally.duplicates += diff.duplicates;
  const show = (ids: string[]) => `${ids.length} ${JSON.stringify(ids.slice(0, 5))}`;
  assert.deepEqual(
    { lost: diff.lost.length, stale: diff.stale.length, undeleted: diff.undeleted.length, extra: diff.extra.length },
    { lost: 0, stale: 0, undeleted: 0, extra: 0 },
    `sink differs from source: lost ${show(diff.lost)}, stale ${show(diff.stale)}, undeleted ${show(diff.undeleted)}, extra ${show(diff.extra)}`,
  );
  assert.equal(diff.duplicates, 0, 'no duplicate rows');
  assert.equal(stored, source.updateSeq, 'the stored checkpoint is at the feed head');
  if (opts.checkpoint) assert.equal(await opts.checkpoint(), stored, "the workflow's checkpoint is the stored one");
  if (opts.indexTable) {
    const { rows } = await opts.pool.query<{ n: string; d: string }>(
      `SELECT count(*) AS n, count(DISTINCT doc_id) AS d FROM ${opts.indexTable}`,
    );
    assert.equal(Number(rows[0].n), source.live.size, `${opts.indexTable} has one row per live doc`);
    assert.equal(Number(rows[0].d), source.live.size);
  }
  return { docs: source.live.size };
}

/** `eventually` for a check that returns the value it waited for (or false / null while it waits). */
export async function eventuallyValue<T>(
  what: string,
  check: () => Promise<T | false | null | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  return (await eventually(what, check, timeoutMs)) as T;
}
