import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { statusQuery } from '../workflows/messages';
import type { PillowStatusView, SliceProgressDetails } from '../workflows/types';

const SLICE_ACTIVITIES = new Set(['processSlice', 'processBatch']);

/**
 * A pillow's status with the running slice's progress in it. The `status` query answers from the
 * workflow's state, which hears of a slice when it returns: a follow slice returns about once a
 * minute, and its heartbeats (one a second) carry what it committed meanwhile.
 */
export async function liveStatus(
  client: Client,
  workflowId: string,
  /** The workflow's description where the caller has it already. */
  described?: WorkflowExecutionDescription,
): Promise<PillowStatusView> {
  const handle = client.workflow.getHandle(workflowId);
  const [view, description] = await Promise.all([
    handle.query(statusQuery),
    described ?? handle.describe().catch(() => null),
  ]);
  const progress = description ? await sliceProgress(client, description).catch(() => null) : null;
  return withSliceProgress(view, progress);
}

/** The heartbeat details of the workflow's running slice, if it has sent any. */
export async function sliceProgress(
  client: Client,
  description: WorkflowExecutionDescription,
): Promise<SliceProgressDetails | null> {
  const slice = description.raw.pendingActivities?.find((a) => SLICE_ACTIVITIES.has(a.activityType?.name ?? ''));
  const payloads = slice?.heartbeatDetails?.payloads;
  if (!payloads || payloads.length === 0) return null;
  const details = await decodeFromPayloadsAtIndex<unknown>(client.workflow.options.loadedDataConverter, 0, payloads);
  return isProgress(details) ? details : null;
}

/**
 * The view as of the slice's last heartbeat: its committed checkpoint and counts added, when the
 * slice started from the view's checkpoint (a heartbeat from before a move or a restart is ignored).
 */
export function withSliceProgress(view: PillowStatusView, progress: SliceProgressDetails | null): PillowStatusView {
  if (!progress || progress.committed === null || progress.since !== view.checkpoint) return view;
  return {
    ...view,
    checkpoint: progress.committed,
    processed: view.processed + progress.processed,
    failed: view.failed + progress.failed,
    skipped: view.skipped + progress.skipped,
    batches: view.batches + progress.pages,
    pending: progress.pending,
    lastBatchAt: progress.lastBatchAt ?? view.lastBatchAt,
    status: liveState(view, progress),
  };
}

/**
 * A slice that commits pages is running, whatever the last slice said: catching up while its pages
 * come back full, idle when its last poll found nothing. A pausing pillow keeps the workflow's word.
 */
function liveState(view: PillowStatusView, progress: SliceProgressDetails): PillowStatusView['status'] {
  if (view.paused) return view.status;
  if (progress.full) return 'catching-up';
  return progress.idle ? 'idle' : 'running';
}

// heartbeats from older workers carried only `{ since }`
function isProgress(d: unknown): d is SliceProgressDetails {
  return typeof d === 'object' && d !== null && 'committed' in d && 'since' in d && 'processed' in d;
}
