import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyCost, sliceHeartbeats, type HistoryEvent } from '../bench/history-cost';

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

test('sliceHeartbeats estimates the heartbeats of closed slices from their running time', () => {
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
  // a slice beats every second of its running time; the first beat counts
  assert.equal(sliceHeartbeats(slice(1, 10, 0, 60)), 61);
  assert.equal(sliceHeartbeats(slice(1, 10, 0, 3)), 4);
  assert.equal(sliceHeartbeats([...slice(1, 10, 0, 60), ...slice(10, 10, 60, 63)]), 65);
  // a slice still running (not closed) or scheduled before the window counts nothing
  assert.equal(sliceHeartbeats(slice(1, 30, 0, 60).slice(0, 2)), 0);
  assert.equal(sliceHeartbeats(slice(1, 30, 0, 60).slice(1)), 0);
});
