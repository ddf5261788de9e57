import type { Client } from '@temporalio/client';
import { measureFollow, type FollowOptions, type FollowResult } from './follow-latency';
import {
  addCost,
  eventsBetween,
  historyCost,
  retryChangeEventsBetween,
  sliceRequests,
  type HistoryCost,
} from './history-cost';
import { workflowIds } from './catchup';
import type { BenchPillowSpec } from './bench-pillow';
import type { WorkerProcess } from './worker-process';

export interface FollowPhaseResult extends FollowResult {
  rate: number;
  seconds: number;
  /** History cost of the pillow (and its retryChange workflows, if any) over the phase. */
  cost: HistoryCost;
  /** Heartbeats the slices sent (an estimate: not in history, but billed on Temporal Cloud). */
  heartbeats: number;
  /** Describes the follow slices made to watch for a cancel (an estimate: reads, not billed). */
  cancelChecks: number;
  /** The same, per hour of one pillow following at this rate (without the breakdown). */
  perPillowHour: Omit<HistoryCost, 'actionsByEvent'> & { heartbeats: number; cancelChecks: number };
  /** Worker CPU seconds per second of following (one core = 1); null where /proc is missing. */
  workerCpuShare: number | null;
}

/**
 * One phase of following at a steady rate: latency as `measureFollow` measures it, and what the
 * pillow cost Temporal and the worker's CPU over the phase (its window runs from the first write
 * to the last row seen).
 */
export async function followPhase(
  client: Client,
  spec: BenchPillowSpec,
  worker: WorkerProcess,
  opts: FollowOptions,
): Promise<FollowPhaseResult> {
  const from = Date.now();
  const cpuFrom = worker.cpuSeconds();
  const follow = await measureFollow(opts);
  const to = Date.now();
  const cpuTo = worker.cpuSeconds();
  let cost = historyCost([]);
  let heartbeats = 0;
  let cancelChecks = 0;
  for (const id of workflowIds(spec)) {
    const events = await eventsBetween(client, id, from, to);
    cost = addCost(cost, historyCost(events));
    const requests = sliceRequests(events);
    heartbeats += requests.heartbeats;
    cancelChecks += requests.cancelChecks;
  }
  cost = addCost(cost, historyCost(await retryChangeEventsBetween(client, spec.name, from, to)));
  const hours = (to - from) / 3_600_000;
  return {
    ...follow,
    rate: opts.rate,
    seconds: (to - from) / 1000,
    cost,
    heartbeats,
    cancelChecks,
    perPillowHour: {
      heartbeats: heartbeats / hours,
      cancelChecks: cancelChecks / hours,
      events: cost.events / hours,
      activityExecutions: cost.activityExecutions / hours,
      actions: cost.actions / hours,
    },
    workerCpuShare: cpuFrom === null || cpuTo === null ? null : (cpuTo - cpuFrom) / ((to - from) / 1000),
  };
}
