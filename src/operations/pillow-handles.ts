import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
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

/** A workflow's description (its latest run), or null if it was never started. */
export async function describeWorkflow(
  client: Client,
  workflowId: string,
): Promise<WorkflowExecutionDescription | null> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return null;
    throw err;
  }
}

/** How a workflow stands in Temporal, from its description: RUNNING, CANCELLED, … or `not started`. */
export function stateOf(description: WorkflowExecutionDescription | null): string {
  return description?.status.name ?? 'not started';
}

/** How a pillow workflow stands in Temporal: RUNNING, CANCELLED, … or `not started`. */
export async function workflowState(client: Client, workflowId: string): Promise<string> {
  return stateOf(await describeWorkflow(client, workflowId));
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
