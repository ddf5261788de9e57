import type { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../deps';
import type { SliceInput, SliceOutcome } from '../../workflows/types';
import type { Seq } from '../../types';
import { pageContext } from './page-context';
import { readPage } from './read-page';
import { writeBatch } from './write-batch';
import { settleFailures } from './settle-failures';
import { observePosition } from './observe-position';
import { emptyOutcome } from './empty-outcome';
import { MAX_FAILED_IN_HISTORY } from '../slice-pages';

/**
 * One page: read it (long-polling up to `waitMs` while nothing is new), write its batch with the checkpoint in one
 * transaction, hand its failing changes to `retryChange` workflows, and observe the position. Returns
 * only seqs, counts and failed ids.
 */
export async function runPage(
  deps: ActivityDeps,
  input: SliceInput,
  ctx: Context,
  waitMs = Infinity,
): Promise<SliceOutcome> {
  const started = performance.now();
  const at = await pageContext(deps, input, ctx);
  const read = await readPage(at, input.since, waitMs);
  const written = await writeBatch(at, input, read.page);
  if (written.checkpointMovedTo !== undefined) return movedOutcome(input.since, written.checkpointMovedTo, started);
  const { failures, processed } = await settleFailures(at, written);
  const position = await observePosition(at, input.since, read, failures.length, started);

  const { page, full } = read;
  return {
    since: input.since,
    lastSeq: page.lastSeq,
    read: page.changes.length,
    processed,
    // other partitions' docs, design docs, docs outside the filter (removed from the sinks), and in a
    // backfill the docs that moved on since it read them
    skipped: page.changes.length - processed - failures.length,
    failed: failures.slice(0, MAX_FAILED_IN_HISTORY),
    failedOmitted: Math.max(0, failures.length - MAX_FAILED_IN_HISTORY),
    pending: position.pending,
    idle: page.changes.length === 0 && page.lastSeq === input.since,
    full,
    rewound: position.feedRewound,
    durationMs: position.durationMs,
  };
}

/**
 * The stored checkpoint was not this page's `since` (a cancelled page that committed anyway, or an
 * earlier run's activity): nothing was written, and the pillow carries on from the stored one.
 */
function movedOutcome(since: Seq, stored: Seq, started: number): SliceOutcome {
  return { ...emptyOutcome(since, stored), durationMs: Math.round(performance.now() - started) };
}
