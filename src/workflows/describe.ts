import * as wf from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import { describePillow, describePillowOnce, NON_RETRYABLE, NOT_KNOWN } from './pillow-activities';
import { pillowArgs, type PillowIdentity } from './identity';
import type { PillowState } from './pillow-state';
import type { PillowDescription } from './types';

// patch: unknown pillows wait for a worker that knows them
export const WAIT_FOR_KNOWING_WORKER = 'unknown-pillow-waits-for-a-knowing-worker';
const UNKNOWN_PILLOW_TIMEOUT_S = 600;

/**
 * Asks a worker for the pillow's config and stored checkpoint. A worker lacking the pillow (a rolling
 * deploy, a config not yet everywhere) leaves the task to another: the pillow shows `failing` with its
 * reason and asks again. A name that no worker takes within the timeout is a typo, not a deploy in
 * progress: fail then, naming what the workers know.
 */
export async function describe(
  identity: PillowIdentity,
  state: PillowState,
  timeoutS = UNKNOWN_PILLOW_TIMEOUT_S,
): Promise<PillowDescription> {
  // the start's partition count, if any (the describing worker's otherwise)
  const args = pillowArgs(identity, true);
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
  const since = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const desc = await describePillowOnce(args);
      if (attempt > 1) state.workerFound();
      return desc;
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (!(cause instanceof ApplicationFailure && cause.type && NOT_KNOWN.includes(cause.type))) throw err;
      const waitedS = Math.round((Date.now() - since) / 1000);
      if (waitedS >= timeoutS) {
        throw ApplicationFailure.nonRetryable(
          `unknown pillow "${identity.name}"${identity.partition !== null ? ` partition ${identity.partition}` : ''}: ` +
            `no worker on task queue "${wf.workflowInfo().taskQueue}" took it in ${waitedS}s (last: ${cause.message})`,
          cause.type === 'UnknownPartition' ? 'UnknownPartition' : 'UnknownPillow',
        );
      }
      state.waitForWorker(cause.message);
      wf.setCurrentDetails(`**failing** · ${cause.message}`);
      wf.log.warn('no worker knows the pillow yet', { pillow: identity.name, attempt, error: cause.message });
      await wf.sleep(Math.min(10_000, 1000 * 2 ** (attempt - 1), Math.max(1, timeoutS - waitedS) * 1000));
    }
  }
}
