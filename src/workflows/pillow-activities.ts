import * as wf from '@temporalio/workflow';
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/common';
import type { PillowActivities } from '../activities/pillow-activities';

/**
 * The pillow's activities with their options: one home, so that options (part of the commands in
 * history) are not changed by accident. Changing any of them is a workflow change (CONTRIBUTING.md).
 */

export const NON_RETRYABLE = ['UnknownPillow', 'UnknownPartition'];
// a worker that lacks the pillow (or partition) leaves the task to one that has it (retryable);
// workers from before this said so with the non-retryable types above
export const NOT_ON_THIS_WORKER = 'PillowNotOnThisWorker';
export const NOT_KNOWN = [NOT_ON_THIS_WORKER, ...NON_RETRYABLE];

// describePillow's options (and those proxied with it): the two describe proxies differ only in what is not retried
function describeOptions(nonRetryableErrorTypes: string[]): ActivityOptions {
  return {
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: 8,
      nonRetryableErrorTypes,
    },
  };
}

export const { describePillow, saveCheckpoint, headSeq } = wf.proxyActivities<PillowActivities>(
  describeOptions(NON_RETRYABLE),
);

// asked before an operator's checkpoint is stored; a source that cannot be asked refuses the move
export const { checkSeq } = wf.proxyActivities<PillowActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

// A slice may long-poll for up to longPollSeconds (≤ 300) before it writes; the heartbeat is what
// notices a dead worker. A failed attempt comes straight back to the loop, which marks the pillow
// failing with the reason (status, search, Web UI) and retries with its own growing backoff: quiet
// activity retries would leave a stuck source looking healthy for a minute or more.
export const SLICE_OPTIONS: ActivityOptions = {
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
export const { processSlice, processBatch } = wf.proxyActivities<PillowActivities>(SLICE_OPTIONS);

/** How long a follow slice (the pillow is caught up) keeps its activity open before it reports back. */
export const FOLLOW_SLICE_MS = 60_000;

// A follow slice heartbeats every 10 s, not every second (each heartbeat is a persistence write and a
// billed action, for as long as the pillow runs), and learns of a cancel by a cheaper read meanwhile
// (process-slice.ts, cancel-watch.ts). The timeout leaves room for two late heartbeats.
export const FOLLOW_OPTIONS: ActivityOptions = { ...SLICE_OPTIONS, heartbeatTimeout: '30 seconds' };

// a describe that lands on a worker lacking the pillow comes back at once: the loop shows it and asks again
export const { describePillow: describePillowOnce } = wf.proxyActivities<PillowActivities>(describeOptions(NOT_KNOWN));

/** The failure an activity failed with (its cause), or the error itself. */
export function failureMessage(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
}
