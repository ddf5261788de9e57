import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import type { ResolvedPillow } from '../config/pillow-definition';
import { redactUrl } from '../couch/redact-url';
import { pillowWorkflowId, PILLOW_WORKFLOW_TYPE } from '../workflows/ids';
import type { PillowInput } from '../workflows/types';

export interface StartedPillow {
  workflowId: string;
  runId: string;
  /** False when it was already running (starting is idempotent). */
  started: boolean;
}

/**
 * Starts a pillow (each partition of a partitioned one) exactly as `temporal workflow start` would,
 * plus a static summary and details for the Web UI. Already running is not an error.
 */
export async function startPillow(
  client: Client,
  pillow: ResolvedPillow,
  taskQueue: string,
  extra: Partial<PillowInput> = {},
): Promise<StartedPillow[]> {
  const partitions = pillow.partitions > 1 ? [...Array(pillow.partitions).keys()] : [undefined];
  const results: StartedPillow[] = [];
  for (const partition of partitions) {
    const workflowId = pillowWorkflowId(pillow.name, partition);
    const existing = await client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => null);
    if (existing?.status.name === 'RUNNING') {
      results.push({ workflowId, runId: existing.runId, started: false });
      continue;
    }
    const input: PillowInput = {
      name: pillow.name,
      // the count goes with the partition, so that it runs under this config's split whichever worker describes it
      ...(partition !== undefined ? { partition, partitions: pillow.partitions } : {}),
      ...extra,
    };
    const handle = await client.workflow.start(PILLOW_WORKFLOW_TYPE, {
      workflowId,
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      staticSummary: `pillow ${pillow.name}${partition !== undefined ? ` partition ${partition + 1}/${pillow.partitions}` : ''}: ${pillow.source.db} → ${pillow.processors.map((p) => p.describe?.() ?? p.name).join(', ')}`,
      staticDetails: [
        `**source**: ${redactUrl(pillow.source.url)}/${pillow.source.db}`,
        `**filter**: ${pillow.filter.docTypes ? `doc types ${pillow.filter.docTypes.join(', ')}` : 'all docs'}${pillow.filter.predicate ? ' + predicate' : ''}`,
        `**processors**: ${pillow.processors.map((p) => p.describe?.() ?? p.name).join(', ')}`,
        `**batch size**: ${pillow.batchSize}`,
      ].join('\n\n'),
    });
    results.push({ workflowId, runId: handle.firstExecutionRunId, started: true });
  }
  return results;
}
