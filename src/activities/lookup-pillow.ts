import { ApplicationFailure } from '@temporalio/common';
import { UnknownPillowError } from '../config/pillow-registry';
import type { ResolvedPillow } from '../config/pillow-definition';
import type { ActivityDeps } from './deps';

/** The pillow's definition; an unknown name is a non-retryable failure naming the known pillows. */
export function lookupPillow(deps: ActivityDeps, name: string): ResolvedPillow {
  try {
    return deps.registry.get(name);
  } catch (err) {
    if (err instanceof UnknownPillowError) throw ApplicationFailure.nonRetryable(err.message, 'UnknownPillow');
    throw err;
  }
}
