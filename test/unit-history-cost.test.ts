import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyCost, sliceRequests, type HistoryEvent } from '../bench/history-cost';

// the bench's estimate of Temporal Cloud actions from a history (https://docs.temporal.io/cloud/actions)
const ev = (attrs: Record<string, unknown>): HistoryEvent => attrs as HistoryEvent;

test('historyCost counts billable events, activity executions and retried attempts', () => {
  const events = [
    ev({ workflowExecutionStartedEventAttributes: {} }),
    ev({ workflowTaskScheduledEventAttributes: {} }),
    ev({ workflowTaskStartedEventAttributes: {} }),
    ev({ workflowTaskCompletedEventAttributes: {} }),
    ev({ activityTaskScheduledEventAttributes: {} }),
    ev({ activityTaskStartedEventAttributes: { attempt: 3 } }), // two failed attempts before this one
    ev({ activityTaskCompletedEventAttributes: {} }),
    ev({ workflowExecutionSignaledEventAttributes: {} }),
    ev({ workflowExecutionUpdateAcceptedEventAttributes: {} }),
    ev({ workflowExecutionUpdateCompletedEventAttributes: {} }),
    ev({ timerStartedEventAttributes: {} }),
    ev({ timerFiredEventAttributes: {} }),
    ev({ markerRecordedEventAttributes: { markerName: 'core_patch' } }), // patched(): not billed
    ev({ markerRecordedEventAttributes: { markerName: 'core_local_activity' } }),
    ev({ workflowExecutionContinuedAsNewEventAttributes: {} }), // billed as the next run's start
  ];
  assert.deepEqual(historyCost(events), {
    events: 15,
    activityExecutions: 3,
    actions: 8,
    actionsByEvent: {
      workflowExecutionStarted: 1,
      activityTaskScheduled: 1,
      activityRetry: 2,
      workflowExecutionSignaled: 1,
      workflowExecutionUpdateAccepted: 1,
      timerStarted: 1,
      localActivityMarker: 1,
    },
  });
});

test('historyCost of no events is zero', () => {
  assert.deepEqual(historyCost([]), { events: 0, activityExecutions: 0, actions: 0, actionsByEvent: {} });
});

test('sliceRequests estimates the heartbeats and cancel checks of closed slices from their running time', () => {
  const at = (s: number) => ({ seconds: s, nanos: 0 });
  const slice = (id: number, heartbeatSeconds: number, from: number, to: number) => [
    ev({
      eventId: id,
      eventTime: at(from),
      activityTaskScheduledEventAttributes: {
        activityType: { name: 'processSlice' },
        heartbeatTimeout: { seconds: heartbeatSeconds },
      },
    }),
    ev({ eventId: id + 1, eventTime: at(from), activityTaskStartedEventAttributes: { scheduledEventId: id } }),
    ev({ eventId: id + 2, eventTime: at(to), activityTaskCompletedEventAttributes: { scheduledEventId: id } }),
  ];
  // a follow slice of 60 s beats every 10 s and checks for a cancel every second; a catch-up slice of
  // 3 s beats every second; the first beat counts
  assert.deepEqual(sliceRequests(slice(1, 30, 0, 60)), { heartbeats: 7, cancelChecks: 60 });
  assert.deepEqual(sliceRequests(slice(1, 10, 0, 3)), { heartbeats: 4, cancelChecks: 0 });
  assert.deepEqual(sliceRequests([...slice(1, 30, 0, 60), ...slice(10, 10, 60, 63)]), {
    heartbeats: 11,
    cancelChecks: 60,
  });
  // a slice still running (not closed) or scheduled before the window counts nothing
  const none = { heartbeats: 0, cancelChecks: 0 };
  assert.deepEqual(sliceRequests(slice(1, 30, 0, 60).slice(0, 2)), none);
  assert.deepEqual(sliceRequests(slice(1, 30, 0, 60).slice(1)), none);
});
