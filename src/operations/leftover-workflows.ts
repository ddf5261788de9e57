import type { Client } from '@temporalio/client';
import type { ResolvedPillow } from '../config/pillow-definition';
import { PILLOW_WORKFLOW_TYPE } from '../workflows/ids';
import { pillowWorkflows } from './pillow-context';

/** A pillow workflow still running under a layout the config no longer has. */
export interface LeftoverWorkflow {
  workflowId: string;
  partition: number | null;
  /** Why it is left over, and how to stop it: one line. */
  reason: string;
}

/**
 * Running workflows of a pillow whose id the config no longer has: `pillow/<name>` while the config
 * splits it into partitions, or `pillow/<name>/p<i>` past the configured count (or any partition while
 * it is not partitioned). Found through visibility, so one started a moment ago may not show yet.
 * (A partition whose id is still configured but which runs under another count is found by its
 * status query: see `pillowStatusRows`.)
 */
export async function leftoverWorkflows(client: Client, pillow: ResolvedPillow): Promise<LeftoverWorkflow[]> {
  const expected = new Set(pillowWorkflows(pillow).map((w) => w.workflowId));
  const prefix = `pillow/${pillow.name}`;
  const found: LeftoverWorkflow[] = [];
  for await (const wfx of client.workflow.list({
    query: `WorkflowType = "${PILLOW_WORKFLOW_TYPE}" AND ExecutionStatus = "Running" AND WorkflowId STARTS_WITH "${prefix}"`,
  })) {
    const id = wfx.workflowId;
    // names are letters, digits, `_` and `-`: nothing to escape
    const match = id === prefix ? [id] : new RegExp(`^${prefix}/p(\\d+)$`).exec(id);
    if (!match || expected.has(id)) continue;
    found.push({
      workflowId: id,
      partition: match[1] !== undefined ? Number(match[1]) : null,
      reason: oldLayoutReason(pillow, id),
    });
  }
  return found.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
}

/** `left running under an old layout (…): stop it with …`, for an unexpected id or a partition's other count. */
export function oldLayoutReason(pillow: ResolvedPillow, workflowId: string, runsUnder?: number | null): string {
  const config =
    pillow.partitions > 1 ? `the config has ${pillow.partitions} partitions` : 'the config has no partitions';
  const under = runsUnder ? `it runs under ${runsUnder} partitions, ` : '';
  return (
    `left running under an old layout (${under}${config}): ` +
    `stop it with \`temporal workflow cancel --workflow-id ${workflowId}\`` +
    (runsUnder ? ` and start it again with \`pillowtop start ${pillow.name}\`` : '')
  );
}
