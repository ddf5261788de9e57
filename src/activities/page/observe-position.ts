import type { ChangesPage } from '../../couch/read-changes';
import { recordCheckpoint, REWIND_REASON } from '../../checkpoint';
import { seqEstimate } from '../../checkpoint/seq';
import type { Seq } from '../../types';
import { continueSweep, startSweep } from '../sweep-removed-docs';
import type { PageContext } from './page-context';
import type { ReadPage } from './read-page';

// a sweep under way takes this much of each page's time, so the feed keeps moving too
const SWEEP_BUDGET_MS = 1000;

export interface Position {
  /** Changes still past the page (CouchDB's count, else an estimate); null when unknown. */
  pending: number | null;
  feedRewound: boolean;
  durationMs: number;
}

/**
 * Where the pillow stands after the page: how much is pending (the position and lag metrics), whether
 * the feed rewound (recorded for `pillowtop fix-rewind`, and a sweep of the sinks started), a sweep
 * under way taken a step further, and the page logged.
 */
export async function observePosition(
  at: PageContext,
  since: Seq,
  read: ReadPage,
  failed: number,
  started: number,
): Promise<Position> {
  const { deps, pillow, key } = at;
  const { page } = read;
  const pending = page.pending ?? (await at.sourceAhead(page.lastSeq, read.full).catch(() => null));
  const feedRewound = read.dbBehind || isFeedRewound(since, page);
  const durationMs = Math.round(performance.now() - started);
  deps.metrics.batch(pillow.name, durationMs / 1000);
  deps.metrics.position(key, pending); // per partition: each has its own position
  if (feedRewound) {
    // the last good position, for `pillowtop fix-rewind`: the feed handed out seqs from before it
    await recordCheckpoint(deps.pool, key, since, REWIND_REASON);
    // a re-created or restored database may lack docs the sinks hold, and its feed never says so
    await startSweep(deps, pillow, key, read.dbBehind ? 'database behind the checkpoint' : 'feed went backwards');
    deps.metrics.rewind(pillow.name);
    deps.log.warn('feed went backwards: changes are being reprocessed (safe: processors are idempotent)', {
      pillow: key,
      since,
      lastSeq: page.lastSeq,
    });
  }
  await continueSweep(deps, pillow, key, at.partition, at.server, SWEEP_BUDGET_MS);
  if (page.changes.length > 0) {
    deps.log[deps.batchLogLevel ?? 'info']('batch', {
      pillow: key,
      since,
      lastSeq: page.lastSeq,
      read: page.changes.length,
      failed,
      ms: durationMs,
    });
  }
  return { pending, feedRewound, durationMs };
}

/**
 * A feed rewound when the seqs it hands out estimate lower than where we stood (CouchDB failover,
 * shard moves). Estimates only: the pillow keeps going either way.
 */
function isFeedRewound(since: Seq, page: ChangesPage): boolean {
  const before = seqEstimate(since);
  const first = page.changes.find((c) => c.seq !== null)?.seq ?? page.lastSeq;
  const after = seqEstimate(first);
  return before !== null && after !== null && page.changes.length > 0 && after < before;
}
