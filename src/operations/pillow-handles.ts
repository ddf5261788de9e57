import type { Client, WorkflowHandle } from '@temporalio/client';
import type { ResolvedPillow } from '../config/pillow-definition';
import { pillowWorkflows } from './pillow-context';

/** Thrown when a command needs a running pillow workflow and there is none. */
export class PillowNotRunningError extends Error {
  constructor(
    readonly workflowId: string,
    readonly state: string,
  ) {
    const name = workflowId.replace(/^pillow\//, '').replace(/\/p\d+$/, '');
    super(`pillow "${name}" is not running (${workflowId}: ${state}); start it with \`pillowtop start ${name}\``);
    this.name = 'PillowNotRunningError';
  }
}

/** How a pillow workflow stands in Temporal: RUNNING, CANCELLED, … or `not started`. */
export async function workflowState(client: Client, workflowId: string): Promise<string> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return 'not started';
    throw err;
  }
}

/** Handles of a pillow's running workflows (every partition); fails if any is not running. */
export async function runningHandles(client: Client, pillow: ResolvedPillow): Promise<WorkflowHandle[]> {
  const handles: WorkflowHandle[] = [];
  for (const { workflowId } of pillowWorkflows(pillow)) {
    const state = await workflowState(client, workflowId);
    if (state !== 'RUNNING') throw new PillowNotRunningError(workflowId, state);
    // no run id: signals and queries follow the workflow across continue-as-new
    handles.push(client.workflow.getHandle(workflowId));
  }
  return handles;
}
