import * as wf from '@temporalio/workflow';
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancelledFailure,
  type ActivityOptions,
} from '@temporalio/common';
import type { PillowActivities } from '../activities/pillow-activities';
import { seqProblem } from '../seq';
import { pauseSignal, resumeSignal, rewindSignal, setCheckpointUpdate, statusQuery } from './messages';
import { PillowState } from './pillow-state';
import { PILLOW_NAME, PILLOW_STATUS } from './search-attributes';
import { pillowKey } from './ids';
import type {
  SliceOutcome,
  PillowDescription,
  PillowInput,
  PillowResult,
  PillowStatusValue,
  PillowStatusView,
  RewindInput,
  SetCheckpointInput,
} from './types';

const NON_RETRYABLE = ['UnknownPillow', 'UnknownPartition'];
// a worker that lacks the pillow (or partition) leaves the task to one that has it (retryable);
// workers from before this said so with the non-retryable types above
const NOT_ON_THIS_WORKER = 'PillowNotOnThisWorker';
const NOT_KNOWN = [NOT_ON_THIS_WORKER, ...NON_RETRYABLE];
// patches: unknown pillows wait for a worker that knows them; partitions carry their count
const WAIT_FOR_KNOWING_WORKER = 'unknown-pillow-waits-for-a-knowing-worker';
const LAYOUT_IN_INPUT = 'partition-count-in-input';
const UNKNOWN_PILLOW_TIMEOUT_S = 600;

const { describePillow, saveCheckpoint, headSeq } = wf.proxyActivities<PillowActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 8,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

// asked before an operator's checkpoint is stored; a source that cannot be asked refuses the move
const { checkSeq } = wf.proxyActivities<PillowActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

// A batch may long-poll for up to longPollSeconds (≤ 300) before it writes; the heartbeat is what
// notices a dead worker. A failed attempt comes straight back to the loop, which marks the pillow
// failing with the reason (status, search, Web UI) and retries with its own growing backoff: quiet
// activity retries would leave a stuck source looking healthy for a minute or more.
const SLICE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  // the SDK sends heartbeats (and so learns of a cancel: pause, rewind, stop) at most every 0.8 × this
  heartbeatTimeout: '10 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    maximumAttempts: 1,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};
const { processSlice, processBatch } = wf.proxyActivities<PillowActivities>(SLICE_OPTIONS);
// the slice activity's name before "batch" came to mean only what one page writes; histories from
// before the patch scheduled processBatch, and replay must schedule the same
const SLICE_ACTIVITY_NAME = 'activity-named-process-slice';
// a describe that lands on a worker lacking the pillow comes back at once: the loop shows it and asks again
const { describePillow: describePillowOnce } = wf.proxyActivities<PillowActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 8,
    nonRetryableErrorTypes: NOT_KNOWN,
  },
});

const MAX_FAILURE_BACKOFF_MS = 60_000;
const NOT_HERE_BACKOFF_MS = 1000;
const MAX_SLICE_PAGES = 256;

/**
 * A pillow: follows one CouchDB database's `_changes` from its checkpoint for as long as it runs.
 * Entity workflow: the checkpoint is its state, batches are activities, operators steer it with
 * pause / resume / rewind signals and the setCheckpoint update, and it continues-as-new when
 * Temporal suggests, carrying its state. Cancel is a graceful stop: the checkpoint stays stored
 * with the sinks' rows, and a new start with only the name resumes there.
 */
export async function pillow(input: PillowInput): Promise<PillowResult> {
  if (typeof input !== 'object' || input === null || typeof input.name !== 'string' || input.name === '') {
    throw ApplicationFailure.nonRetryable(
      'pillow input must be {"name": "<pillow>"} with an optional "checkpoint"',
      'BadInput',
    );
  }
  if (input.checkpoint !== undefined && seqProblem(input.checkpoint)) {
    throw ApplicationFailure.nonRetryable(`input.checkpoint: ${seqProblem(input.checkpoint)}`, 'BadInput');
  }
  const { name } = input;
  const partition = input.partition ?? null;
  const info = wf.workflowInfo();

  const key = pillowKey(name, partition, input.reindex);
  // handlers go in before the first activity, so that a status query or a signal sent right after
  // the start is answered at once (the checkpoint shows once the stored one is read)
  const state = new PillowState(input.checkpoint ?? '', input.carried, new Date());
  let batchScope: wf.CancellationScope | null = null;
  const interrupt = () => batchScope?.cancel();
  // the partition count this partition runs under: from the start (or the previous run), else the describing worker's
  let layout: number | null = partition === null ? null : (input.partitions ?? null);
  registerHandlers(state, key, interrupt, () => ({
    ...state.view(name, partition, info.workflowId),
    partitions: layout,
  }));

  const desc = await describe(input, state);
  if (partition !== null) layout = input.partitions ?? desc.partitions;
  const layoutInput = () =>
    partition !== null && layout !== null && wf.patched(LAYOUT_IN_INPUT) ? { partitions: layout } : {};
  if (!input.carried) state.checkpoint = input.checkpoint ?? desc.storedCheckpoint ?? '0';
  if (input.checkpoint !== undefined && !input.carried) {
    if (input.checkpoint !== '0' && wf.patched('check-start-checkpoint')) {
      const problem = await seqCheck(name, input.checkpoint);
      if (problem) throw ApplicationFailure.nonRetryable(`input.checkpoint: ${problem}`, 'BadInput');
    }
    await saveCheckpoint({ key: desc.key, seq: input.checkpoint, reason: 'start with checkpoint' });
  }

  // catch-up slices grow while pages come back full (1, 2, 4, … pages per activity): progress shows
  // early and a short catch-up stops at once, while a long one pays few workflow round trips
  let slicePages = 1;

  const setStatus = (status: PillowStatusValue) => {
    if (status === state.status) return;
    state.status = status;
    if (desc.searchAttributes) wf.upsertSearchAttributes([{ key: PILLOW_STATUS, value: status }]);
  };
  if (desc.searchAttributes)
    wf.upsertSearchAttributes([
      { key: PILLOW_NAME, value: name },
      { key: PILLOW_STATUS, value: state.paused ? 'paused' : 'running' },
    ]);

  const applyMoves = async () => {
    while (state.moves.length > 0) {
      const move = state.moves[0];
      const previous = state.checkpoint;
      // a seq the source would not accept is refused before it is stored ("0" and "now" always are)
      if (move.to !== '0' && move.to !== 'now' && wf.patched('check-checkpoint-moves')) {
        const problem = await seqCheck(name, move.to);
        if (problem) {
          state.moves.shift();
          state.rejectMove(move, problem, new Date());
          wf.log.warn('checkpoint move refused', { pillow: desc.key, to: move.to, reason: problem });
          publish(state, desc);
          continue;
        }
      }
      const target = move.to === 'now' ? await headSeq({ name }) : move.to;
      await saveCheckpoint({ key: desc.key, seq: target, reason: `${move.reason} from ${previous}` });
      state.checkpoint = target;
      state.moves.shift();
      state.appliedMoves.set(move.id, { previous, current: target });
      wf.log.info('checkpoint moved', { pillow: desc.key, previous, current: target, reason: move.reason });
    }
  };

  for (;;) {
    await applyMoves();
    if (state.paused) {
      setStatus('paused');
      publish(state, desc);
      await wf.condition(() => !state.paused || state.moves.length > 0);
      continue;
    }
    if (
      wf.workflowInfo().continueAsNewSuggested ||
      (input.continueAsNewAfterBatches && state.batchesThisRun >= input.continueAsNewAfterBatches)
    ) {
      await wf.condition(() => wf.allHandlersFinished() || state.moves.length > 0);
      if (state.moves.length > 0) continue;
      await wf.continueAsNew<typeof pillow>({
        name,
        ...(input.partition !== undefined ? { partition: input.partition } : {}),
        ...layoutInput(),
        ...(input.unknownPillowTimeoutSeconds !== undefined
          ? { unknownPillowTimeoutSeconds: input.unknownPillowTimeoutSeconds }
          : {}),
        ...(input.continueAsNewAfterBatches ? { continueAsNewAfterBatches: input.continueAsNewAfterBatches } : {}),
        ...(input.reindex ? { reindex: true } : {}),
        carried: state.carry(),
      });
    }

    let outcome: SliceOutcome | null = null;
    const scope = new wf.CancellationScope();
    batchScope = scope;
    try {
      outcome = await scope.run(() =>
        (wf.patched(SLICE_ACTIVITY_NAME) ? processSlice : processBatch).executeWithOptions(
          { ...SLICE_OPTIONS, summary: `${desc.key}: slice from ${shortSeq(state.checkpoint)}` },
          [
            {
              name,
              ...(input.partition !== undefined ? { partition: input.partition } : {}),
              ...layoutInput(),
              ...(input.reindex ? { reindex: true } : {}),
              since: state.checkpoint,
              // a catch-up slice stops where a test's continue-as-new is due
              maxPages: input.continueAsNewAfterBatches
                ? Math.min(slicePages, Math.max(1, input.continueAsNewAfterBatches - state.batchesThisRun))
                : slicePages,
            },
          ],
        ),
      );
    } catch (err) {
      // the workflow itself was cancelled: stop (as cancelled, whatever the batch died of)
      if (wf.CancellationScope.current().consideredCancelled)
        throw wf.isCancellation(err) ? err : new CancelledFailure('pillow stopped');
      if (!wf.isCancellation(err)) await onBatchFailure(err, state, desc, setStatus);
    } finally {
      batchScope = null;
    }
    if (outcome) {
      slicePages = outcome.full ? Math.min(slicePages * 2, MAX_SLICE_PAGES) : 1;
      setStatus(state.applyBatch(outcome, desc.batchSize, new Date()));
      if (outcome.rewound)
        wf.log.warn('feed went backwards', { pillow: desc.key, since: outcome.since, lastSeq: outcome.lastSeq });
      // a backfill ends at the head it found; the next `pillowtop reindex` starts again from zero
      if (input.reindex && !outcome.full && state.moves.length === 0 && !state.paused) {
        publish(state, desc);
        await wf.condition(wf.allHandlersFinished);
        await saveCheckpoint({ key: desc.key, seq: '0', reason: `reindex finished at ${state.checkpoint}` });
        return { name, checkpoint: state.checkpoint, processed: state.processed, failed: state.failed };
      }
    }
    publish(state, desc);
  }
}

/** Queries, signals and the update; what they change, the loop applies. */
function registerHandlers(state: PillowState, key: string, interrupt: () => void, view: () => PillowStatusView): void {
  wf.setHandler(statusQuery, view);
  wf.setHandler(pauseSignal, () => {
    state.paused = true;
    interrupt();
  });
  wf.setHandler(resumeSignal, () => {
    state.paused = false;
  });
  wf.setHandler(rewindSignal, (rewind: RewindInput) => {
    const problem = rewindProblem(rewind);
    if (problem) {
      wf.log.warn('rewind signal ignored', { pillow: key, reason: problem });
      state.lastRejectedMove = {
        to: String((rewind as RewindInput)?.to).slice(0, 60),
        reason: `rewind signal: ${problem}`,
        at: new Date().toISOString(),
      };
      return;
    }
    state.queueMove(rewind.to, 'rewind signal');
    interrupt();
  });
  wf.setHandler(
    setCheckpointUpdate,
    async (update: SetCheckpointInput) => {
      const id = state.queueMove(update.seq, 'setCheckpoint update');
      interrupt();
      await wf.condition(() => state.appliedMoves.has(id) || state.rejectedMoves.has(id));
      const rejected = state.rejectedMoves.get(id);
      if (rejected !== undefined) {
        state.rejectedMoves.delete(id);
        throw ApplicationFailure.nonRetryable(rejected, 'BadCheckpoint');
      }
      const applied = state.appliedMoves.get(id)!;
      state.appliedMoves.delete(id);
      return applied;
    },
    { validator: setCheckpointValidator },
  );
}

async function describe(input: PillowInput, state: PillowState): Promise<PillowDescription> {
  const args = {
    name: input.name,
    ...(input.partition !== undefined ? { partition: input.partition } : {}),
    ...(input.partition !== undefined && input.partitions !== undefined ? { partitions: input.partitions } : {}),
    ...(input.reindex ? { reindex: true } : {}),
  };
  if (!wf.patched(WAIT_FOR_KNOWING_WORKER)) {
    try {
      return await describePillow(args);
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof ApplicationFailure && cause.type && NON_RETRYABLE.includes(cause.type)) {
        throw ApplicationFailure.nonRetryable(cause.message, cause.type);
      }
      throw err;
    }
  }
  // A worker lacking the pillow (a rolling deploy, a config not yet everywhere) leaves the task to
  // another: show `failing` with its reason and ask again. A name that no worker takes within the
  // timeout is a typo, not a deploy in progress: fail then, naming what the workers know.
  const timeoutS = input.unknownPillowTimeoutSeconds ?? UNKNOWN_PILLOW_TIMEOUT_S;
  const since = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const desc = await describePillowOnce(args);
      if (attempt > 1) {
        state.lastError = null;
        state.status = 'running';
      }
      return desc;
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (!(cause instanceof ApplicationFailure && cause.type && NOT_KNOWN.includes(cause.type))) throw err;
      const waitedS = Math.round((Date.now() - since) / 1000);
      if (waitedS >= timeoutS) {
        throw ApplicationFailure.nonRetryable(
          `unknown pillow "${input.name}"${input.partition !== undefined ? ` partition ${input.partition}` : ''}: ` +
            `no worker on task queue "${wf.workflowInfo().taskQueue}" took it in ${waitedS}s (last: ${cause.message})`,
          cause.type === 'UnknownPartition' ? 'UnknownPartition' : 'UnknownPillow',
        );
      }
      state.status = 'failing';
      state.lastError = cause.message;
      wf.setCurrentDetails(`**failing** · ${cause.message}`);
      wf.log.warn('no worker knows the pillow yet', { pillow: input.name, attempt, error: cause.message });
      await wf.sleep(Math.min(10_000, 1000 * 2 ** (attempt - 1), Math.max(1, timeoutS - waitedS) * 1000));
    }
  }
}

/** Why the source would refuse `seq` as a checkpoint, or null; a source that cannot be asked refuses it. */
async function seqCheck(name: string, seq: string): Promise<string | null> {
  try {
    return (await checkSeq({ name, seq })).problem;
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    const message = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
    return `could not check the seq against the source: ${message}`;
  }
}

/** A batch that failed: visible as `failing`, retried with a growing wait. */
async function onBatchFailure(
  err: unknown,
  state: PillowState,
  desc: PillowDescription,
  setStatus: (s: PillowStatusValue) => void,
) {
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
  state.consecutiveFailures += 1;
  state.lastError = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
  setStatus('failing');
  publish(state, desc);
  wf.log.warn('slice failing', {
    pillow: desc.key,
    since: state.checkpoint,
    attempt: state.consecutiveFailures,
    error: state.lastError,
  });
  // a worker without this pillow (a rolling deploy) is no reason to wait longer each time: the next
  // attempt may well reach one that has it
  const notHere = cause instanceof ApplicationFailure && cause.type === NOT_ON_THIS_WORKER;
  const backoff = notHere
    ? NOT_HERE_BACKOFF_MS
    : Math.min(MAX_FAILURE_BACKOFF_MS, 2000 * 2 ** (state.consecutiveFailures - 1));
  await wf.condition(() => state.moves.length > 0 || state.paused, backoff);
}

function publish(state: PillowState, desc: PillowDescription) {
  wf.setCurrentDetails(state.details(desc.key, desc.source, desc.processors));
}

function shortSeq(seq: string): string {
  return seq.length > 24 ? seq.slice(0, 24) + '…' : seq;
}

function rewindProblem(rewind: unknown): string | null {
  if (typeof rewind !== 'object' || rewind === null || !('to' in rewind))
    return 'expected {"to": "<seq>" | "0" | "now"}';
  const to = (rewind as RewindInput).to;
  if (to === 'now' || to === '0') return null;
  const problem = seqProblem(to);
  return problem ? `"to": ${problem}` : null;
}

function setCheckpointValidator(update: SetCheckpointInput): void {
  if (typeof update !== 'object' || update === null) throw new Error('expected {"seq": "<seq>"}');
  const problem = seqProblem(update.seq);
  if (problem) throw new Error(`"seq": ${problem}`);
  if (update.seq === 'now') throw new Error('"now" is not a seq; use the rewind signal with {"to": "now"}');
}
