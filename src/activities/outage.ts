import { isCouchError } from '../couch/couch-errors';
import { isPgOutage } from '../postgres/pg-errors';
import { isSinkUnavailable } from '../processors/sink-unavailable';

/**
 * Thrown when a page cannot be written for a reason that is not a doc's fault: a sink down, read-only,
 * missing a table or a grant. The activity fails and is retried; the checkpoint does not move and no
 * change is handed to a retry workflow.
 */
export class BatchOutageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BatchOutageError';
  }
}

/** A failure that says the source or a sink is unusable: the page is retried whole, nothing is parked. */
export function isOutage(err: unknown): boolean {
  if (err instanceof BatchOutageError || isSinkUnavailable(err)) return true;
  // the source unreadable (a retry's or a sweep's read): not the doc's fault either
  return isCouchError(err) || isPgOutage(err);
}
