import type { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';

/** The failure a cancelled slice ends with (pause, rewind, stop). */
export function sliceCancelled(signal: AbortSignal): CancelledFailure {
  return new CancelledFailure(`slice cancelled: ${String(signal.reason ?? 'cancel requested')}`);
}

/**
 * A cancelled activity (pause, rewind, stop) reports cancellation, not the aborted request's error,
 * so the workflow sees a cancellation and not a failing slice.
 */
export function throwIfCancelled(ctx: Context): void {
  if (ctx.cancellationSignal.aborted) throw sliceCancelled(ctx.cancellationSignal);
}
