import type { Context } from '@temporalio/activity';
import type { SliceInput, SliceOutcome } from '../workflows/types';

/**
 * How long one activity goes on with the next page while the feed keeps handing out full pages.
 * Each page is still its own transaction with its checkpoint; the workflow hears of them at the end.
 * @default 3000
 */
export const CATCH_UP_SLICE_MS = 3000;

/** Failed changes a slice's outcome lists at most: history stays small however many fail; the rest are counted. */
export const MAX_FAILED_IN_HISTORY = 50;

/**
 * Catching up, one activity per page pays a workflow round trip (and six history events) per page.
 * Instead the activity takes the next page itself (already prefetched while this one was written)
 * until the page is not full, the slice is spent (3 s, or `maxPages`, which the pillow workflow doubles
 * from 1 while pages come back full), or the activity is cancelled (pause, rewind, stop).
 *
 * Guarantees stay those of one page per activity: every page commits its rows with its checkpoint in
 * one transaction; if a later page fails, the slice ends with the pages before it and the next
 * activity meets the failure again (retried as usual). A cancel (pause, rewind, stop) seen between
 * pages ends the slice with what is committed; one that lands inside a page rolls it back (unless
 * committed already) and cancels the activity, as a dying worker does: the workflow's checkpoint is then
 * behind the committed mirror, so a resumed pillow reads those pages again (processors are
 * idempotent), a rewind overwrites the mirror, and a stopped one restarts from the mirror.
 */
export async function runCatchUpSlice(
  input: SliceInput,
  ctx: Context,
  runPage: (input: SliceInput, first: boolean) => Promise<SliceOutcome>,
  sliceMs = CATCH_UP_SLICE_MS,
): Promise<SliceOutcome> {
  const until = performance.now() + sliceMs;
  let outcome = await runPage(input, true);
  const maxPages = input.maxPages ?? Infinity;
  while (
    outcome.full &&
    !outcome.rewound &&
    (outcome.pages ?? 1) < maxPages &&
    performance.now() < until &&
    !ctx.cancellationSignal.aborted
  ) {
    ctx.heartbeat({ since: input.since, committed: outcome.lastSeq });
    let next: SliceOutcome;
    try {
      next = await runPage({ ...input, since: outcome.lastSeq }, false);
    } catch (err) {
      if (ctx.cancellationSignal.aborted) throw err;
      break; // report what is committed; the next activity starts at the failing page
    }
    outcome = mergeOutcomes(outcome, next);
  }
  return outcome;
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
