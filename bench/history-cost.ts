/**
 * What a pillow costs Temporal, read from its workflow history: history events (≈ persistence
 * writes), activity executions and an estimate of Temporal Cloud billable actions
 * (https://docs.temporal.io/cloud/actions). Queries and activity heartbeats are billed too but
 * leave no history event, so they are not counted here (the pillow's status is queried by operators
 * and UIs, not by its own running; its activities heartbeat while long-polling).
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { RETRY_CHANGE_WORKFLOW_TYPE } from '../src/workflows/ids';
import { FOLLOW_HEARTBEAT_MS } from '../src/activities/process-slice';
import { CANCEL_WATCH_MS } from '../src/activities/cancel-watch';

export type HistoryEvent = NonNullable<temporal.api.history.v1.IHistory['events']>[number];

export interface HistoryCost {
  /** Every history event (each is at least one write to Temporal's persistence). */
  events: number;
  /** `ActivityTaskScheduled` events plus retried attempts. */
  activityExecutions: number;
  /** Billable actions estimated from the events (see `ONE_ACTION`). */
  actions: number;
  /** Those actions by the event that bills them (`activityTaskScheduled`, `timerStarted`, …; `activityRetry`). */
  actionsByEvent: Record<string, number>;
}

export const NO_COST: HistoryCost = { events: 0, activityExecutions: 0, actions: 0, actionsByEvent: {} };

export function addCost(a: HistoryCost, b: HistoryCost): HistoryCost {
  const actionsByEvent = { ...a.actionsByEvent };
  for (const [k, n] of Object.entries(b.actionsByEvent)) actionsByEvent[k] = (actionsByEvent[k] ?? 0) + n;
  return {
    events: a.events + b.events,
    activityExecutions: a.activityExecutions + b.activityExecutions,
    actions: a.actions + b.actions,
    actionsByEvent,
  };
}

/**
 * Events that are one billable action each: a run started (by a client, continue-as-new or a
 * parent: the new run's `WorkflowExecutionStarted`, so `ContinuedAsNew` itself is not counted
 * again), an activity scheduled (each retried attempt once more), a signal, an accepted update, a
 * timer, a child or external signal started by the workflow, a search attribute or property change;
 * and a local activity's marker.
 */
const ONE_ACTION = new Set([
  'workflowExecutionStartedEventAttributes',
  'activityTaskScheduledEventAttributes',
  'workflowExecutionSignaledEventAttributes',
  'workflowExecutionUpdateAcceptedEventAttributes',
  'timerStartedEventAttributes',
  'startChildWorkflowExecutionInitiatedEventAttributes',
  'signalExternalWorkflowExecutionInitiatedEventAttributes',
  'upsertWorkflowSearchAttributesEventAttributes',
  'workflowPropertiesModifiedEventAttributes',
]);

/** A local activity's marker bills an action; the markers of `patched()` (`core_patch`) do not. */
const isLocalActivityMarker = (e: HistoryEvent) =>
  /local_?activity/i.test(e.markerRecordedEventAttributes?.markerName ?? '');

/** The cost of a list of history events (pure). */
export function historyCost(events: HistoryEvent[]): HistoryCost {
  let activityExecutions = 0;
  let actions = 0;
  const actionsByEvent: Record<string, number> = {};
  const bill = (kind: string, n: number) => {
    actions += n;
    actionsByEvent[kind] = (actionsByEvent[kind] ?? 0) + n;
  };
  for (const e of events) {
    for (const key of ONE_ACTION) if ((e as Record<string, unknown>)[key]) bill(key.replace(/EventAttributes$/, ''), 1);
    if (isLocalActivityMarker(e)) bill('localActivityMarker', 1);
    if (e.activityTaskScheduledEventAttributes) activityExecutions++;
    // a retried activity records only its last attempt's start, with its attempt number
    const retries = Math.max(0, (e.activityTaskStartedEventAttributes?.attempt ?? 1) - 1);
    activityExecutions += retries;
    if (retries > 0) bill('activityRetry', retries);
  }
  return { events: events.length, activityExecutions, actions, actionsByEvent };
}

export const eventTimeMs = (e: HistoryEvent): number =>
  e.eventTime ? Number(e.eventTime.seconds) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6) : NaN;

/**
 * The events of a workflow id between two times, over every run in that window: follows the
 * continue-as-new chain back from the latest run.
 */
export async function eventsBetween(
  client: Client,
  workflowId: string,
  fromMs: number,
  toMs: number,
): Promise<HistoryEvent[]> {
  const found: HistoryEvent[] = [];
  let runId: string | undefined;
  for (let runs = 0; runs < 100; runs++) {
    const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    found.push(...events.filter((e) => eventTimeMs(e) >= fromMs && eventTimeMs(e) <= toMs));
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    const previous = started?.continuedExecutionRunId;
    if (!previous || !(eventTimeMs(events[0]) > fromMs)) break;
    runId = previous;
  }
  return found;
}

/** The `retryChange` workflows of a pillow started between two times, with their events in that window. */
export async function retryChangeEventsBetween(
  client: Client,
  pillow: string,
  fromMs: number,
  toMs: number,
): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  const query = `WorkflowType = '${RETRY_CHANGE_WORKFLOW_TYPE}' AND StartTime >= '${new Date(fromMs).toISOString()}'`;
  for await (const wf of client.workflow.list({ query })) {
    if (!wf.workflowId.startsWith(`pillow/${pillow}/change/`)) continue;
    const all = (await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory()).events ?? [];
    events.push(...all.filter((e) => eventTimeMs(e) <= toMs));
  }
  return events;
}

/** How often a catch-up slice's heartbeats reach Temporal: the worker's throttle (maxHeartbeatThrottleInterval). */
const CATCH_UP_HEARTBEAT_MS = 1000;

export interface SliceRequests {
  /** Heartbeats: each a persistence write, and a billed action on Temporal Cloud, but not in history. */
  heartbeats: number;
  /** A follow slice's once-a-second DescribeWorkflowExecution (cancel-watch.ts): reads, not billed. */
  cancelChecks: number;
}

/**
 * An estimate of the requests the pillow's slices made to Temporal besides their history: every
 * slice that closed among the events, its running time at its cadence (a catch-up slice heartbeats
 * once a second; a follow slice, told apart by its 30 s heartbeat timeout, every 10 s and checks for
 * a cancel every second), one more for the first heartbeat.
 */
export function sliceRequests(events: HistoryEvent[]): SliceRequests {
  const follow = new Map<string, boolean>();
  const startedAt = new Map<string, number>();
  const found: SliceRequests = { heartbeats: 0, cancelChecks: 0 };
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled && /^process(Slice|Batch)$/.test(scheduled.activityType?.name ?? ''))
      follow.set(String(e.eventId), Number(scheduled.heartbeatTimeout?.seconds ?? 0) >= 30);
    const started = e.activityTaskStartedEventAttributes;
    if (started) startedAt.set(String(started.scheduledEventId), eventTimeMs(e));
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskCanceledEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    const id = String(closed?.scheduledEventId ?? '');
    if (!closed || !follow.has(id) || !startedAt.has(id)) continue;
    const ms = eventTimeMs(e) - startedAt.get(id)!;
    const following = follow.get(id)!;
    found.heartbeats += 1 + Math.floor(ms / (following ? FOLLOW_HEARTBEAT_MS : CATCH_UP_HEARTBEAT_MS));
    if (following) found.cancelChecks += Math.floor(ms / CANCEL_WATCH_MS);
  }
  return found;
}
