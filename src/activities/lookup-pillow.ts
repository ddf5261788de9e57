import { ApplicationFailure } from '@temporalio/common';
import { UnknownPillowError } from '../config/pillow-registry';
import type { ResolvedPillow } from '../config/pillow-definition';
import type { ActivityDeps } from './deps';

/**
 * The failure type of a task this worker cannot run because its config lacks the pillow (or the
 * partition): retryable, so that Temporal hands the task to another worker on the queue, one that
 * knows it (a rolling deploy, a config not yet everywhere). The pillow workflow shows it as `failing`.
 */
export const NOT_ON_THIS_WORKER = 'PillowNotOnThisWorker';

/** The pillow's definition; one this worker does not know is a retryable failure saying so. */
export function lookupPillow(deps: ActivityDeps, name: string): ResolvedPillow {
  try {
    return deps.registry.get(name);
  } catch (err) {
    if (err instanceof UnknownPillowError) {
      const known = err.known.length ? err.known.join(', ') : 'none';
      throw notOnThisWorker(deps, `does not know pillow "${name}" (known: ${known})`);
    }
    throw err;
  }
}

export function notOnThisWorker(deps: ActivityDeps, what: string): ApplicationFailure {
  return ApplicationFailure.retryable(
    `worker ${deps.identity ?? 'unnamed'} ${what}; waiting for a worker that does`,
    NOT_ON_THIS_WORKER,
  );
}
