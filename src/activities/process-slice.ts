import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import type { SliceInput, SliceOutcome } from '../workflows/types';
import { pillowKey } from '../workflows/ids';
import { runCatchUpSlice } from './catch-up-slice';
import { runPage } from './page/run-page';
import { sliceCancelled } from './page/cancelled';

/**
 * The `processSlice` activity: a run of pages (one while caught up, up to `maxPages` while catching
 * up, see catch-up-slice.ts), each read, written with its checkpoint and settled by runPage. It
 * heartbeats throughout and ends as soon as the workflow cancels it.
 */
export async function processSlice(deps: ActivityDeps, input: SliceInput): Promise<SliceOutcome> {
  const ctx = Context.current();
  // heartbeats through the whole slice (reads, writes, slow processors) so only a dead worker times out;
  // and since Temporal hands a cancel (pause, rewind, stop) to an activity only in a heartbeat's answer,
  // often: the worker sends at most one per second (maxHeartbeatThrottleInterval in start-worker.ts)
  const beat = setInterval(() => ctx.heartbeat({ since: input.since }), HEARTBEAT_MS);
  try {
    return await untilCancelled(
      ctx,
      runCatchUpSlice(input, ctx, (page, first) => runPage(deps, page, ctx, first)),
    );
  } catch (err) {
    // while slices fail the pillow is not caught up, whatever it last reported: the lag clock runs
    if (!ctx.cancellationSignal.aborted) deps.metrics.failing(pillowKey(input.name, input.partition, input.reindex));
    throw err;
  } finally {
    clearInterval(beat);
  }
}

/** How often a slice heartbeats; the worker's throttle decides how many of these reach Temporal. */
const HEARTBEAT_MS = 500;

/**
 * Ends the activity as cancelled as soon as the cancel arrives, even while a processor that ignores
 * the signal is still busy: its transaction sees the abort before COMMIT and rolls back (write-changes.ts).
 * Should the abort land during the COMMIT itself, the page is committed with its checkpoint, and the
 * next page (or a rewind, which waits for the checkpoint row) finds the stored checkpoint moved.
 */
function untilCancelled<T>(ctx: Context, work: Promise<T>): Promise<T> {
  const signal = ctx.cancellationSignal;
  let onAbort: () => void = () => undefined;
  const cancelled = new Promise<never>((_, reject) => {
    onAbort = () => {
      work.catch(() => undefined); // finishes (and rolls back) on its own; nobody waits for it
      reject(sliceCancelled(signal));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, cancelled]).finally(() => signal.removeEventListener('abort', onAbort));
}
