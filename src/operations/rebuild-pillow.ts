import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import type { ResolvedPillow } from '../config/pillow-definition';
import { watchWorkflow } from './watch-workflow';
import { rebuildStatusQuery } from '../workflows/rebuild';
import {
  REBUILD_WORKFLOW_TYPE,
  rebuildWorkflowId,
  type RebuildInput,
  type RebuildStatus,
} from '../workflows/rebuild-types';

/** The processor asked for cannot be rebuilt, or none was named where several could be: a usage error. */
export class RebuildChoiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RebuildChoiceError';
  }
}

/**
 * The processor `pillowtop rebuild NAME [--processor P]` rebuilds: P (its name, or its target's name
 * like `case_index`), or the pillow's only rebuildable processor. Anything else is one line listing them.
 */
export function chooseRebuildProcessor(pillow: ResolvedPillow, wanted?: string): string {
  const rebuildable = pillow.processors.filter((p) => p.rebuild);
  const names = rebuildable.map((p) => p.name).join(', ') || 'none';
  const others = pillow.processors.filter((p) => !p.rebuild).map((p) => p.name);
  const notRebuildable = others.length ? `; not rebuildable: ${others.join(', ')}` : '';
  if (wanted !== undefined) {
    const found = rebuildable.find((p) => p.name === wanted || p.rebuild!.target === wanted);
    if (!found)
      throw new RebuildChoiceError(
        `pillow "${pillow.name}" has no rebuildable processor "${wanted}" (rebuildable: ${names}${notRebuildable})`,
      );
    return found.name;
  }
  if (rebuildable.length === 1) return rebuildable[0].name;
  if (rebuildable.length === 0)
    throw new RebuildChoiceError(`pillow "${pillow.name}" has no rebuildable processor${notRebuildable}`);
  throw new RebuildChoiceError(
    `pillow "${pillow.name}" has several rebuildable processors: name one with --processor (${names})`,
  );
}

/** Starts `pillow/<name>/rebuild/<processor>`, or attaches to the one running. */
export async function startRebuild(
  client: Client,
  pillow: ResolvedPillow,
  processor: string,
  taskQueue: string,
  graceSeconds?: number,
): Promise<{ workflowId: string; started: boolean }> {
  const workflowId = rebuildWorkflowId(pillow.name, processor);
  const existing = await client.workflow
    .getHandle(workflowId)
    .describe()
    .catch(() => null);
  if (existing?.status.name === 'RUNNING') return { workflowId, started: false };
  const input: RebuildInput = { name: pillow.name, processor, ...(graceSeconds !== undefined ? { graceSeconds } : {}) };
  await client.workflow.start(REBUILD_WORKFLOW_TYPE, {
    workflowId,
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    staticSummary: `rebuild of ${processor} of pillow ${pillow.name}: a new generation beside the live one, then swapped in`,
  });
  return { workflowId, started: true };
}

/** Polls a rebuild until it ends, reporting its status; resolves with its final status. */
export function watchRebuild(
  client: Client,
  workflowId: string,
  onProgress: (status: RebuildStatus) => void,
  intervalMs = 1000,
): Promise<RebuildStatus> {
  return watchWorkflow(client, workflowId, rebuildStatusQuery, onProgress, intervalMs);
}
