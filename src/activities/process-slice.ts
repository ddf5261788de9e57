import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import type { Seq, SliceInput, SliceOutcome } from '../workflows/types';
import { pillowKey } from '../workflows/ids';
import { runSlicePages } from './slice-pages';
import { SliceProgress } from './slice-progress';
import { runPage } from './page/run-page';
import { emptyOutcome } from './page/empty-outcome';
import { watchForCancel } from './cancel-watch';

/**
 * The `processSlice` activity: a run of pages (a catch-up slice while pages come back full, a
 * follow slice of about a minute while caught up; see slice-pages.ts), each read, written with its
 * checkpoint and settled by runPage. It heartbeats its progress throughout, and ends as soon as the
 * workflow cancels it, with the pages it committed.
 */
export async function processSlice(deps: ActivityDeps, input: SliceInput): Promise<SliceOutcome> {
  const ctx = Context.current();
  const following = input.followMs !== undefined;
  const progress = new SliceProgress(input.since, following);
  const beatNow = () => ctx.heartbeat(progress.details());
  // heartbeats through the whole slice (reads, writes, slow processors, long polls) so only a dead
  // worker times out. Temporal hands a cancel (pause, rewind, stop) to an activity only in a
  // heartbeat's answer: a catch-up slice sends one a second (the worker's throttle,
  // maxHeartbeatThrottleInterval in start-worker.ts); a follow slice, which runs for as long as the
  // pillow does, one every 10 s, and watches for a cancel with a cheaper read meanwhile (cancel-watch.ts)
  const beat = setInterval(beatNow, following ? FOLLOW_HEARTBEAT_MS : HEARTBEAT_MS);
  const stopWatch = following ? watchForCancel(deps.temporal, ctx.info, beatNow) : () => undefined;
  try {
    return await untilCancelled(
      ctx,
      input.since,
      progress,
      runSlicePages(input, ctx, (page, waitMs) => runPage(deps, page, ctx, waitMs), progress),
    );
  } catch (err) {
    // while slices fail the pillow is not caught up, whatever it last reported: the lag clock runs
    if (!ctx.cancellationSignal.aborted) deps.metrics.failing(pillowKey(input.name, input.partition, input.reindex));
    throw err;
  } finally {
    clearInterval(beat);
    stopWatch();
  }
}

/** How often a catch-up slice heartbeats; the worker's throttle decides how many of these reach Temporal (one a second). */
const HEARTBEAT_MS = 500;
/** How often a follow slice heartbeats: well inside its heartbeat timeout (FOLLOW_OPTIONS in the workflow, 30 s). */
export const FOLLOW_HEARTBEAT_MS = 10_000;

/**
 * Ends the activity as soon as the cancel arrives (pause, rewind, stop, or this worker shutting
 * down), even while a processor that ignores the signal is still busy: its transaction sees the
 * abort before COMMIT and rolls back (write-changes.ts). The slice completes with the pages it
 * committed before the cancel (none: an outcome that moves nothing), so the workflow records them
 * and goes on at once; a worker shutting down leaves no activity to time out. Should the abort land
 * during a COMMIT, that page is committed with its checkpoint but not reported, and the next page
 * (or a rewind, which waits for the checkpoint row) finds the stored checkpoint moved.
 */
function untilCancelled(
  ctx: Context,
  since: Seq,
  progress: SliceProgress,
  work: Promise<SliceOutcome>,
): Promise<SliceOutcome> {
  const signal = ctx.cancellationSignal;
  let onAbort: () => void = () => undefined;
  const cancelled = new Promise<SliceOutcome>((resolve) => {
    onAbort = () => {
      work.catch(() => undefined); // finishes (and rolls back) on its own; nobody waits for it
      resolve(progress.committed ?? nothingCommitted(since));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, cancelled]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** A slice cancelled before its first page committed: the pillow stays where it was, following. */
function nothingCommitted(since: Seq): SliceOutcome {
  return { ...emptyOutcome(since, since), full: false, pages: 0 };
}
