/**
 * Thrown (or reported) when a change cannot be processed because of the doc itself: a value a
 * column cannot hold, a required field missing. Such a change is isolated and retried on its own;
 * the feed moves on. Anything else thrown by a processor is treated the same unless it is a
 * transient server error (see `isOutage` in activities/write-changes.ts).
 */
export class DocError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DocError';
  }
}

const MAX_ERROR_LENGTH = 500;

/** An error message short enough for workflow history; never a doc body. */
export function errorText(err: unknown): string {
  const message = err instanceof Error ? `${err.name === 'Error' ? '' : err.name + ': '}${err.message}` : String(err);
  return message.length > MAX_ERROR_LENGTH ? message.slice(0, MAX_ERROR_LENGTH - 1) + '…' : message;
}
