import type { Context } from '@temporalio/activity';
import type { SliceInput, SliceOutcome } from '../workflows/types';
import type { SliceProgress } from './slice-progress';

/**
 * How long one activity goes on with the next page while the feed keeps handing out full pages.
 * Each page is still its own transaction with its checkpoint; the workflow hears of them at the end.
 * @default 3000
 */
export const CATCH_UP_SLICE_MS = 3000;

/** Failed changes a slice's outcome lists at most: history stays small however many fail; the rest are counted. */
export const MAX_FAILED_IN_HISTORY = 50;

/** Runs one page from `input.since`, long-polling up to `waitMs` while nothing is new (0: at once). */
export type RunPage = (input: SliceInput, waitMs: number) => Promise<SliceOutcome>;

/**
 * The pages of one activity. Two kinds of slice:
 *
 * - **catch-up**: one activity per page would pay a workflow round trip (and six history events) per
 *   page. Instead the activity takes the next page itself (already read ahead while this one was
 *   written) until a page is not full, the slice is spent (3 s, or `maxPages`, which the pillow
 *   doubles from 1 while pages come back full), or the activity is cancelled (pause, rewind, stop).
 * - **follow** (`followMs`: the pillow is caught up): one activity per change would cost Temporal a
 *   workflow task and an activity per change however quiet the feed. Instead the activity long-polls,
 *   commits each page as it comes and goes on for about a minute, then returns with the counts; its
 *   heartbeats carry the live position meanwhile (`SliceProgress`), and a cancel ends it at once.
 *
 * Guarantees stay those of one page per activity: every page commits its rows with its checkpoint in
 * one transaction; if a later page fails, the slice ends with the pages before it and the next
 * activity meets the failure again (retried as usual), unless those pages moved nothing (quiet long
 * polls): then the slice fails at once, so a source that hangs while the pillow follows shows as
 * failing after one read timeout, not two. A cancel (pause, rewind, stop) ends the slice
 * with what is committed (process-slice.ts returns it); one that lands inside a page rolls that page
 * back unless its COMMIT was already under way, in which case the next page finds the stored
 * checkpoint moved and carries on from it (run-page.ts).
 */
export async function runSlicePages(
  input: SliceInput,
  ctx: Context,
  runPage: RunPage,
  progress: SliceProgress,
  catchUpMs = CATCH_UP_SLICE_MS,
): Promise<SliceOutcome> {
  const following = input.followMs !== undefined;
  const until = performance.now() + (input.followMs ?? catchUpMs);
  const remaining = () => Math.max(0, until - performance.now());
  // the first page long-polls as a slice always did; a follow slice's wait ends with the slice
  let outcome = progress.record(await runPage(input, following ? remaining() : Infinity));
  const maxPages = input.maxPages ?? Infinity;
  while (
    (following || outcome.full) &&
    !outcome.rewound &&
    (outcome.pages ?? 1) < maxPages &&
    remaining() > 0 &&
    !ctx.cancellationSignal.aborted
  ) {
    let next: SliceOutcome;
    try {
      next = await runPage({ ...input, since: outcome.lastSeq }, following ? remaining() : 0);
    } catch (err) {
      // pages that moved nothing (quiet long polls) are not worth reporting late: the failure shows
      // at once, as if this page had been the slice's first
      if (ctx.cancellationSignal.aborted || movedNothing(outcome)) throw err;
      break; // report what is committed; the next activity starts at the failing page
    }
    outcome = progress.record(next);
  }
  return outcome;
}

/** Pages that read nothing and left the checkpoint where it was. */
function movedNothing(outcome: SliceOutcome): boolean {
  return outcome.read === 0 && outcome.lastSeq === outcome.since;
}

/** One outcome for consecutive pages: counts add up, the position is the last page's. */
export function mergeOutcomes(a: SliceOutcome, b: SliceOutcome): SliceOutcome {
  const failed = a.failed.concat(b.failed);
  return {
    since: a.since,
    lastSeq: b.lastSeq,
    read: a.read + b.read,
    processed: a.processed + b.processed,
    skipped: a.skipped + b.skipped,
    failed: failed.slice(0, MAX_FAILED_IN_HISTORY),
    failedOmitted: a.failedOmitted + b.failedOmitted + Math.max(0, failed.length - MAX_FAILED_IN_HISTORY),
    pending: b.pending,
    idle: a.idle && b.idle,
    full: b.full,
    rewound: a.rewound || b.rewound,
    durationMs: a.durationMs + b.durationMs,
    pages: (a.pages ?? 1) + (b.pages ?? 1),
  };
}
