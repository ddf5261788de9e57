/**
 * The fault suite's end-of-case check: the sink equals the source (every live doc at its winning
 * revision, deleted docs gone, nothing the source does not have) and the checkpoint is sound (the workflow's checkpoint is
 * the one stored with the rows, and it is at the feed's head). Counts go to the suite's tally.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import nano from 'nano';
import type { Pool } from 'pg';
import { seqToText } from '../../src/checkpoint/seq';
import { tally } from './faults-tally';
import { eventually, type Suite } from './harness';

export interface SourceState {
  live: Map<string, string>;
  deleted: Set<string>;
  updateSeq: string;
}

/**
 * Every doc of the database as the feed would give it: winning rev, or deleted. With `docTypes`,
 * a doc of another type counts as deleted, as it does for a pillow with that filter.
 */
export async function sourceState(couchUrl: string, db: string, docTypes?: string[]): Promise<SourceState> {
  const server = nano(couchUrl);
  const body = (await server.request({
    db,
    path: '_changes',
    qs: { since: 0, style: 'main_only', ...(docTypes ? { include_docs: true } : {}) },
  })) as {
    results: { id: string; changes: { rev: string }[]; deleted?: boolean; doc?: { doc_type?: string } }[];
  };
  const info = (await server.request({ db })) as { update_seq: unknown };
  const live = new Map<string, string>();
  const deleted = new Set<string>();
  for (const r of body.results) {
    if (r.id.startsWith('_design/')) continue;
    const outside = docTypes !== undefined && !docTypes.includes(r.doc?.doc_type ?? '');
    if (r.deleted || outside) {
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
  /** Live in the source, missing (or deleted) in the sink. */
  lost: string[];
  /** In the sink at another revision than the source's winner. */
  stale: string[];
  /** Live in the sink, deleted in the source or never there. */
  extra: string[];
}

/** How a postgresMirror table differs from the source's winning revisions. */
export async function sinkDiff(pool: Pool, table: string, source: SourceState): Promise<SinkDiff> {
  const { rows } = await pool.query<{ id: string; rev: string; deleted: boolean }>(
    `SELECT id, rev, deleted FROM ${table}`,
  );
  return diffRows(
    rows.filter((r) => !r.deleted),
    source,
  );
}

/** How a postgresTable (one row per live doc: doc_id, doc_rev) differs from the source. */
export async function indexDiff(pool: Pool, table: string, source: SourceState): Promise<SinkDiff> {
  const { rows } = await pool.query<{ id: string; rev: string }>(`SELECT doc_id AS id, doc_rev AS rev FROM ${table}`);
  return diffRows(rows, source);
}

function diffRows(live: { id: string; rev: string }[], source: SourceState): SinkDiff {
  const byId = new Map(live.map((r) => [r.id, r.rev]));
  const diff: SinkDiff = { lost: [], stale: [], extra: [] };
  for (const [id, rev] of source.live) {
    const held = byId.get(id);
    if (held === undefined) diff.lost.push(id);
    else if (held !== rev) diff.stale.push(id);
  }
  for (const id of byId.keys()) if (!source.live.has(id)) diff.extra.push(id);
  return diff;
}

const clean = (d: SinkDiff) => d.lost.length + d.stale.length + d.extra.length === 0;

/**
 * How many times changes reached a custom processor again: it appends `<id> <rev>` per delivery to
 * `file` (see test/fixtures/faults.config.ts). At-least-once is the processors' contract; this says how much.
 */
export function replays(file: string): number {
  if (!existsSync(file)) return 0;
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return lines.length - new Set(lines).size;
}

/**
 * Waits (generously) until the mirror (and the typed table, if given) equals the source's winning
 * revisions, the stored checkpoint is at the feed's head and the workflow's checkpoint is the stored
 * one, then asserts it, recording lost, stale and extra docs (and replays) in the suite's tally.
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
  /** The file a counting custom processor appends its deliveries to. */
  deliveries?: string;
  /** The pillow's `docTypes` filter: docs of other types must not be in the sinks. */
  docTypes?: string[];
  timeoutMs?: number;
}): Promise<{ docs: number }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let source: SourceState;
  let diff: SinkDiff = { lost: ['(sink table not readable yet)'], stale: [], extra: [] };
  let index: SinkDiff = { lost: [], stale: [], extra: [] };
  let stored: string | null = null;
  let workflow: string | null = null;
  for (;;) {
    source = await sourceState(opts.couchUrl, opts.db, opts.docTypes);
    diff = await sinkDiff(opts.pool, opts.table, source).catch(() => diff);
    if (opts.indexTable) index = await indexDiff(opts.pool, opts.indexTable, source).catch(() => index);
    stored = await opts.pool
      .query<{ seq: string }>('SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1', [opts.pillowKey])
      .then((r) => r.rows[0]?.seq ?? null)
      .catch(() => null);
    // the workflow hears of a committed page when its activity completes: a moment after the commit
    workflow = opts.checkpoint ? await opts.checkpoint().catch(() => null) : stored;
    if (clean(diff) && clean(index) && stored === source.updateSeq && workflow === stored) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  tally.docsChecked += source.live.size;
  tally.lost += diff.lost.length + index.lost.length;
  tally.stale += diff.stale.length + index.stale.length;
  tally.extra += diff.extra.length + index.extra.length;
  if (opts.deliveries) tally.replayed = replays(opts.deliveries);
  const show = (ids: string[]) => `${ids.length} ${JSON.stringify(ids.slice(0, 5))}`;
  const counts = (d: SinkDiff) => ({ lost: d.lost.length, stale: d.stale.length, extra: d.extra.length });
  assert.deepEqual(
    counts(diff),
    { lost: 0, stale: 0, extra: 0 },
    `${opts.table} differs from the source: lost ${show(diff.lost)}, stale ${show(diff.stale)}, extra ${show(diff.extra)}`,
  );
  if (opts.indexTable)
    assert.deepEqual(
      counts(index),
      { lost: 0, stale: 0, extra: 0 },
      `${opts.indexTable} differs from the source: lost ${show(index.lost)}, stale ${show(index.stale)}, extra ${show(index.extra)}`,
    );
  assert.equal(stored, source.updateSeq, 'the stored checkpoint is at the feed head');
  assert.equal(workflow, stored, "the workflow's checkpoint is the stored one");
  return { docs: source.live.size };
}

/**
 * `assertSinkMatchesSource` for the (unpartitioned) pillow `name` of a test suite, on the suite's
 * servers, with the workflow's checkpoint converged to the stored one.
 */
export function assertPillowMatchesSource(
  s: Pick<Suite, 'pool' | 'couchUrl' | 'status'>,
  name: string,
  opts: Omit<Parameters<typeof assertSinkMatchesSource>[0], 'pool' | 'couchUrl' | 'pillowKey' | 'checkpoint'>,
): Promise<{ docs: number }> {
  return assertSinkMatchesSource({
    pool: s.pool,
    couchUrl: s.couchUrl,
    pillowKey: name,
    checkpoint: async () => (await s.status(name)).checkpoint,
    ...opts,
  });
}

/** `eventually` for a check that returns the value it waited for (or false / null while it waits). */
export async function eventuallyValue<T>(
  what: string,
  check: () => Promise<T | false | null | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  return (await eventually(what, check, timeoutMs)) as T;
}
