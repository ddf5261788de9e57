/**
 * Thrown by a processor when its sink cannot take writes at all (unreachable, rejecting, read-only),
 * whatever the docs: the page is retried whole, the checkpoint does not move, and nothing is handed
 * to retry workflows. Anything else a processor throws is taken as the fault of the docs in the page.
 */
export class SinkUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SinkUnavailableError';
  }
}

/** By name as well as by class: a custom processor may bring its own copy of the package. */
export function isSinkUnavailable(err: unknown): boolean {
  return err instanceof SinkUnavailableError || (err as Error | null)?.name === 'SinkUnavailableError';
}
