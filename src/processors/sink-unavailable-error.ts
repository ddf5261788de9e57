/**
 * Thrown by a processor when its sink as a whole cannot take writes (unreachable, overloaded, red,
 * or refusing them until a rebuild): an outage, not a doc's fault. The batch fails for Temporal to
 * retry, the checkpoint does not move, and nothing is parked. Recognised by name in
 * `isTransientError` so that a copy of this class from another module instance still counts.
 */
export class SinkUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SinkUnavailableError';
  }
}
