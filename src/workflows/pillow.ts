import * as wf from '@temporalio/workflow';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { seqProblem, shortSeq } from '../checkpoint/seq';
import {
  FOLLOW_OPTIONS,
  FOLLOW_SLICE_MS,
  NON_RETRYABLE,
  NOT_ON_THIS_WORKER,
  SLICE_OPTIONS,
  failureMessage,
  processBatch,
  processSlice,
  saveCheckpoint,
} from './pillow-activities';
import { describe, WAIT_FOR_KNOWING_WORKER } from './describe';
import { Display } from './display';
import { registerHandlers } from './handlers';
import { pillowArgs, pillowIdentity, withLayout, type PillowIdentity } from './identity';
import { applyMoves } from './moves';
import { PillowState } from './pillow-state';
import { RunLimit } from './run-limit';
import { seqCheck } from './seq-check';
import type { PillowInput, PillowResult, SliceOutcome } from './types';

// patches (each names a change to the commands; see CONTRIBUTING.md "Changing workflow code")
const LAYOUT_IN_INPUT = 'partition-count-in-input';
// the slice activity's name before "batch" came to mean only what one page writes; histories from
// before the patch scheduled processBatch, and replay must schedule the same
const SLICE_ACTIVITY_NAME = 'activity-named-process-slice';
const CHECK_START_CHECKPOINT = 'check-start-checkpoint';
// a caught-up pillow follows the feed in one activity of about a minute, not one activity per change
const FOLLOW_SLICE = 'follow-slice';

/**
 * A pillow: follows one CouchDB database's `_changes` from its checkpoint for as long as it runs.
 * Entity workflow: the checkpoint is its state, slices are activities, operators steer it with
 * pause / resume / rewind signals and the setCheckpoint update, and it continues-as-new when
 * Temporal suggests, carrying its state. Cancel is a graceful stop: the checkpoint stays stored
 * with the sinks' rows, and a new start with only the name resumes there.
 */
export async function pillow(input: PillowInput): Promise<PillowResult> {
  validateInput(input);
  let identity = pillowIdentity(input, wf.workflowInfo().workflowId);
  const runLimit = new RunLimit(input.continueAsNewAfterBatches);
  const state = new PillowState(input.checkpoint ?? '', input.carried, new Date(), runLimit);
  // handlers go in before the first activity, so that a status query or a signal sent right after
  // the start is answered at once (the checkpoint shows once the stored one is read)
  let slice: wf.CancellationScope | null = null;
  registerHandlers(
    identity.key,
    state,
    () => slice?.cancel(),
    () => ({
      ...state.view(identity.name, identity.partition, identity.workflowId),
      partitions: identity.partitions,
    }),
  );

  const desc = await describe(identity, state, input.unknownPillowTimeoutSeconds);
  identity = withLayout(identity, desc.partitions);
  if (!input.carried) await startAt(identity, state, input.checkpoint, desc.storedCheckpoint);
  const display = new Display(state, desc, identity.name);
  display.announce();

  for (;;) {
    await applyMoves(identity, state, display);
    if (state.paused) {
      display.status('paused');
      display.publish();
      await wf.condition(() => !state.paused || state.hasMoves());
      continue;
    }
    if (state.continueAsNewDue(wf.workflowInfo().continueAsNewSuggested)) {
      await wf.condition(() => wf.allHandlersFinished() || state.hasMoves());
      if (state.hasMoves()) continue;
      await wf.continueAsNew<typeof pillow>(nextRunInput(identity, input, state, runLimit));
    }

    let outcome: SliceOutcome | null = null;
    slice = new wf.CancellationScope();
    try {
      outcome = await slice.run(() => runSlice(identity, state));
    } catch (err) {
      // the workflow itself was cancelled: stop (as cancelled, whatever the slice died of)
      if (wf.CancellationScope.current().consideredCancelled)
        throw wf.isCancellation(err) ? err : new CancelledFailure('pillow stopped');
      if (!wf.isCancellation(err)) await onSliceFailure(err, identity, state, display);
    } finally {
      slice = null;
    }
    if (outcome) {
      display.status(state.recordSlice(outcome, desc.batchSize, new Date()));
      if (outcome.rewound)
        wf.log.warn('feed went backwards', { pillow: identity.key, since: outcome.since, lastSeq: outcome.lastSeq });
      // a backfill ends at the head it found; the next `pillowtop reindex` starts again from zero
      if (identity.reindex && !outcome.full && !state.hasMoves() && !state.paused) {
        display.publish();
        await wf.condition(wf.allHandlersFinished);
        await saveCheckpoint({ key: identity.key, seq: '0', reason: `reindex finished at ${state.checkpoint}` });
        return { name: identity.name, checkpoint: state.checkpoint, processed: state.processed, failed: state.failed };
      }
    }
    display.publish();
  }
}

function validateInput(input: PillowInput): void {
  if (typeof input !== 'object' || input === null || typeof input.name !== 'string' || input.name === '') {
    throw ApplicationFailure.nonRetryable(
      'pillow input must be {"name": "<pillow>"} with an optional "checkpoint"',
      'BadInput',
    );
  }
  if (input.checkpoint !== undefined && seqProblem(input.checkpoint)) {
    throw ApplicationFailure.nonRetryable(`input.checkpoint: ${seqProblem(input.checkpoint)}`, 'BadInput');
  }
}

/** A first run resumes at the start's checkpoint (checked against the source, then stored), else the stored one. */
async function startAt(
  identity: PillowIdentity,
  state: PillowState,
  checkpoint: string | undefined,
  stored: string | null,
) {
  state.resumeAt(checkpoint ?? stored ?? '0');
  if (checkpoint === undefined) return;
  if (checkpoint !== '0' && wf.patched(CHECK_START_CHECKPOINT)) {
    const problem = await seqCheck(identity.name, checkpoint);
    if (problem) throw ApplicationFailure.nonRetryable(`input.checkpoint: ${problem}`, 'BadInput');
  }
  await saveCheckpoint({ key: identity.key, seq: checkpoint, reason: 'start with checkpoint' });
}

/** The pillow in an activity's or the next run's input; the partition count only for workflows since it was passed. */
function targetArgs(identity: PillowIdentity) {
  return pillowArgs(
    identity,
    identity.partition !== null && identity.partitions !== null && wf.patched(LAYOUT_IN_INPUT),
  );
}

/**
 * One processSlice activity from the checkpoint (processBatch in histories from before the rename):
 * a follow slice once the pillow is caught up (not a backfill: it ends once caught up), else a
 * catch-up slice.
 */
function runSlice(identity: PillowIdentity, state: PillowState): Promise<SliceOutcome> {
  const activity = wf.patched(SLICE_ACTIVITY_NAME) ? processSlice : processBatch;
  const target = { ...targetArgs(identity), since: state.checkpoint };
  if (state.following() && !identity.reindex && wf.patched(FOLLOW_SLICE)) {
    const maxPages = state.followPages();
    return activity.executeWithOptions(
      { ...FOLLOW_OPTIONS, summary: `${identity.key}: following from ${shortSeq(state.checkpoint)}` },
      [{ ...target, followMs: FOLLOW_SLICE_MS, ...(maxPages !== undefined ? { maxPages } : {}) }],
    );
  }
  return activity.executeWithOptions(
    { ...SLICE_OPTIONS, summary: `${identity.key}: slice from ${shortSeq(state.checkpoint)}` },
    [{ ...target, maxPages: state.slicePages() }],
  );
}

/** What the next run (continue-as-new) starts with: the same pillow and options, and the state carried over. */
function nextRunInput(
  identity: PillowIdentity,
  input: PillowInput,
  state: PillowState,
  runLimit: RunLimit,
): PillowInput {
  return {
    ...targetArgs(identity),
    ...(input.unknownPillowTimeoutSeconds !== undefined
      ? { unknownPillowTimeoutSeconds: input.unknownPillowTimeoutSeconds }
      : {}),
    ...runLimit.input(),
    carried: state.carry(),
  };
}

/** A slice that failed (an outage): visible as `failing`, retried after a growing wait that a move or a pause ends. */
async function onSliceFailure(err: unknown, identity: PillowIdentity, state: PillowState, display: Display) {
  const cause = (err as { cause?: unknown }).cause;
  // workers from before PillowNotOnThisWorker refused an unknown pillow for good; now it waits, failing
  if (
    cause instanceof ApplicationFailure &&
    cause.type &&
    NON_RETRYABLE.includes(cause.type) &&
    !wf.patched(WAIT_FOR_KNOWING_WORKER)
  ) {
    throw ApplicationFailure.nonRetryable(cause.message, cause.type);
  }
  const notHere = cause instanceof ApplicationFailure && cause.type === NOT_ON_THIS_WORKER;
  const { attempt, backoffMs } = state.recordFailure(failureMessage(err), notHere);
  display.status('failing');
  display.publish();
  wf.log.warn('slice failing', { pillow: identity.key, since: state.checkpoint, attempt, error: state.lastError });
  await wf.condition(() => state.hasMoves() || state.paused, backoffMs);
}
