import type { Client } from '@temporalio/client';
import type { ResolvedPillow } from '../config/pillow-definition';
import { liveStatus } from './live-status';
import type { PillowStatusView } from '../workflows/types';
import { pillowWorkflows } from './pillow-context';
import { describeWorkflow, stateOf } from './pillow-handles';
import { leftoverWorkflows, oldLayoutReason } from './leftover-workflows';

/**
 * One row of `pillowtop status`, and the stable shape of `status --json`. Fields are added, never
 * renamed or removed.
 */
export interface PillowStatusRow {
  pillow: string;
  partition: number | null;
  workflowId: string;
  running: boolean;
  /** running, paused, catching-up, idle, failing while running; otherwise Temporal's state (CANCELLED, …) or `not started`. */
  state: string;
  paused: boolean;
  checkpoint: string | null;
  processed: number | null;
  failed: number | null;
  skipped: number | null;
  /** Changes after the checkpoint; null when unknown. */
  pending: number | null;
  /** 0 when caught up; else seconds since the pillow last had nothing left to read; null when unknown. */
  lagSeconds: number | null;
  /** Changes per second over the last batches. */
  rate: number | null;
  lastBatchAt: string | null;
  lastError: string | null;
  /**
   * Set when this workflow was left running under an old layout (an id the config no longer has, or
   * a partition running under another count): why, and the command that stops it. Otherwise null.
   */
  oldLayout: string | null;
}

const QUERY_TIMEOUT_MS = 10_000;

/**
 * Lag that stays honest for a quiet database: a pillow with nothing pending is 0 seconds behind
 * however long ago its last change came; one with changes waiting is behind since it last caught up.
 */
export function lagSeconds(view: PillowStatusView, now: Date = new Date()): number | null {
  if (view.pending === 0 || view.status === 'idle') return 0;
  const since = view.caughtUpAt ?? (view.pending !== null ? view.startedAt : null);
  if (since === null) return null;
  return Math.max(0, Math.round((now.getTime() - Date.parse(since)) / 1000));
}

/** Status of every workflow of a pillow: the `status` query where running, Temporal's state otherwise. */
export async function pillowStatusRows(
  client: Client,
  pillow: ResolvedPillow,
  now = new Date(),
): Promise<PillowStatusRow[]> {
  const leftovers = await leftoverWorkflows(client, pillow);
  const rows = await Promise.all(
    [...pillowWorkflows(pillow), ...leftovers].map(async ({ workflowId, partition }) => {
      const description = await describeWorkflow(client, workflowId);
      const state = stateOf(description);
      const leftover = leftovers.find((l) => l.workflowId === workflowId);
      const base = { pillow: pillow.name, partition, workflowId, oldLayout: leftover?.reason ?? null };
      if (state === 'RUNNING') {
        try {
          // bounded: a workflow whose worker is down answers no query, and status must still print
          const view = await client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
            liveStatus(client, workflowId, description ?? undefined),
          );
          const otherCount =
            partition !== null && view.partitions && view.partitions !== pillow.partitions ? view.partitions : null;
          return {
            ...base,
            ...(otherCount ? { oldLayout: oldLayoutReason(pillow, workflowId, otherCount) } : {}),
            running: true,
            state: view.status,
            paused: view.paused,
            checkpoint: view.checkpoint,
            processed: view.processed,
            failed: view.failed,
            skipped: view.skipped,
            pending: view.pending,
            lagSeconds: lagSeconds(view, now),
            rate: view.rate,
            lastBatchAt: view.lastBatchAt,
            lastError: view.lastError,
          };
        } catch (err) {
          // running but not answering: no worker polls the task queue, or it is still starting
          return {
            ...stopped(base, 'RUNNING'),
            running: true,
            state: 'no worker',
            lastError: (err as Error).message.split('\n')[0],
          };
        }
      }
      return stopped(base, state);
    }),
  );
  // a leftover that stopped between the listing and its describe is no longer worth a row
  return rows.filter((r) => r.running || r.oldLayout === null);
}

function stopped(
  base: Pick<PillowStatusRow, 'pillow' | 'partition' | 'workflowId' | 'oldLayout'>,
  state: string,
): PillowStatusRow {
  return {
    ...base,
    running: false,
    state,
    paused: false,
    checkpoint: null,
    processed: null,
    failed: null,
    skipped: null,
    pending: null,
    lagSeconds: null,
    rate: null,
    lastBatchAt: null,
    lastError: null,
  };
}
