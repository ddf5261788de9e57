import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { RUN_DOCS_WORKFLOW_TYPE } from '../workflows/ids';
import type { RunDocsInput, RunDocsResult } from '../workflows/types';

/**
 * Runs chosen docs through a pillow now: a short `runDocs` workflow on the pillow task queue reads
 * each doc as it is in CouchDB and runs the pillow's filter and processors on it (the `retryDoc`
 * activity). The same as `temporal workflow execute --type runDocs --input '{"pillow": …, "docIds": […]}'`.
 */
export async function runDocs(
  client: Client,
  pillow: string,
  docIds: string[],
  taskQueue: string,
): Promise<RunDocsResult & { workflowId: string }> {
  await requireWorker(client, taskQueue);
  const workflowId = `pillow/${pillow}/run-docs/${randomUUID()}`;
  const input: RunDocsInput = { pillow, docIds };
  const result = await client.workflow.execute(RUN_DOCS_WORKFLOW_TYPE, {
    workflowId,
    taskQueue,
    args: [input],
    workflowExecutionTimeout: '15 minutes',
    staticSummary: `${pillow}: run ${docIds.length} doc(s) on request (pillowtop run-docs)`,
  });
  return { ...(result as RunDocsResult), workflowId };
}

/** Fails at once, instead of waiting for a worker that may never come, when nobody polls the queue. */
async function requireWorker(client: Client, taskQueue: string): Promise<void> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  if (!pollers || pollers.length === 0)
    throw new Error(
      `no worker polls task queue "${taskQueue}": start one with \`pillowtop worker\` (or set PILLOWTOP_TASK_QUEUE)`,
    );
}
