/**
 * Where a partitioned pillow's slices ran: from the partitions' histories, how much of the time two
 * partitions were both running a slice on the same worker process, where they share one JavaScript
 * thread. Temporal hands each slice to whichever worker polls first, so this is chance, not design.
 */
import type { HistoryEvent } from './history-cost';

export interface SliceSpan {
  start: number;
  end: number;
  identity: string;
}

const ms = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

/** Each finished `processSlice` of one history: when it started and ended, and on which worker. */
export function sliceSpans(events: HistoryEvent[]): SliceSpan[] {
  const slices = new Set<number>();
  const started = new Map<number, { at: number; identity: string }>();
  const spans: SliceSpan[] = [];
  for (const e of events) {
    const id = Number(e.eventId);
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'processSlice') slices.add(id);
    const s = e.activityTaskStartedEventAttributes;
    if (s && slices.has(Number(s.scheduledEventId))) started.set(id, { at: ms(e), identity: s.identity ?? '' });
    const end =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    const from = end ? started.get(Number(end.startedEventId)) : undefined;
    if (from) spans.push({ start: from.at, end: ms(e), identity: from.identity });
  }
  return spans;
}

/**
 * Of the time two partitions both ran a slice (summed over every pair of partitions), the share they
 * ran it on the same worker; null if no two ever ran at once.
 */
export function colocatedShare(partitions: SliceSpan[][]): number | null {
  let both = 0;
  let same = 0;
  for (let i = 0; i < partitions.length; i++)
    for (let j = i + 1; j < partitions.length; j++)
      for (const x of partitions[i])
        for (const y of partitions[j]) {
          const overlap = Math.min(x.end, y.end) - Math.max(x.start, y.start);
          if (overlap <= 0) continue;
          both += overlap;
          if (x.identity === y.identity) same += overlap;
        }
  return both > 0 ? same / both : null;
}
