import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import type { ResolvedPillow } from '../config/pillow-definition';
import { watchWorkflow } from './watch-workflow';
import { PILLOW_WORKFLOW_TYPE, reindexWorkflowId } from '../workflows/ids';
import { statusQuery } from '../workflows/messages';
import type { PillowInput, PillowResult, PillowStatusView } from '../workflows/types';

export interface ReindexStart {
  workflowId: string;
  /** False when a reindex of this pillow was already running (this call joins it). */
  started: boolean;
}

/**
 * Starts `pillow/<name>/reindex`: the pillow's processors over the whole feed, on a checkpoint of
 * its own (`<name>/reindex`), completing once caught up. A reindex stopped half-way resumes where
 * it was; `fromZero` starts over. The live pillow keeps following meanwhile: each reindex page
 * checks its revisions against CouchDB under the pillow's write lock and leaves a doc that moved on
 * to the live pillow, so the two never write an older revision over a newer one.
 */
export async function startReindex(
  client: Client,
  pillow: ResolvedPillow,
  taskQueue: string,
  fromZero = false,
): Promise<ReindexStart> {
  const workflowId = reindexWorkflowId(pillow.name);
  const existing = await client.workflow
    .getHandle(workflowId)
    .describe()
    .catch(() => null);
  if (existing?.status.name === 'RUNNING') return { workflowId, started: false };
  const input: PillowInput = { name: pillow.name, reindex: true, ...(fromZero ? { checkpoint: '0' } : {}) };
  await client.workflow.start(PILLOW_WORKFLOW_TYPE, {
    workflowId,
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    staticSummary: `reindex of pillow ${pillow.name}: every doc of ${pillow.source.db} through its processors, then done`,
  });
  return { workflowId, started: true };
}

/** Polls the reindex until it completes, reporting its status; resolves with its result. */
export function watchReindex(
  client: Client,
  workflowId: string,
  onProgress: (status: PillowStatusView) => void,
  intervalMs = 1000,
): Promise<PillowResult> {
  return watchWorkflow(client, workflowId, statusQuery, onProgress, intervalMs);
}
