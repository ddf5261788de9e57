import type { Info } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const CANCEL_REQUESTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED;

/** How often a follow slice asks whether a cancel waits for it. */
export const CANCEL_WATCH_MS = 1000;

/**
 * Temporal hands an activity its cancel only in a heartbeat's answer. A follow slice heartbeats
 * every 10 s (each heartbeat is a persistence write, and a billed action on Temporal Cloud, for as
 * long as a pillow runs), so it asks once a second whether a cancel is waiting for it instead (a
 * read: DescribeWorkflowExecution, which writes nothing and bills nothing) and heartbeats at once
 * when one is: the cancel then arrives the usual way, and a pause, rewind or stop still takes effect
 * within about a second. A describe that fails changes nothing: the next heartbeat carries the cancel.
 * Returns a function that stops the watch.
 */
export function watchForCancel(client: Client, info: Info, heartbeatNow: () => void, everyMs = CANCEL_WATCH_MS) {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async () => {
    try {
      const { pendingActivities } = await client.workflowService.describeWorkflowExecution({
        namespace: info.namespace,
        execution: info.workflowExecution,
      });
      const slice = pendingActivities?.find((a) => a.activityId === info.activityId);
      // gone from the workflow (closed, reset): the heartbeat's answer ends the activity too
      if (!stopped && (!slice || slice.state === CANCEL_REQUESTED)) heartbeatNow();
    } catch {
      // unreachable for a moment: the regular heartbeat still brings the cancel
    }
    if (!stopped) timer = setTimeout(() => void check(), everyMs);
  };
  timer = setTimeout(() => void check(), everyMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
