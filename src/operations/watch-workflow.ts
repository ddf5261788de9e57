import type { Client } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';

/**
 * Polls a workflow with `query` until it ends, reporting each answer (a query that fails, e.g.
 * before the first task, is skipped); resolves with the workflow's result, or rejects with its failure.
 */
export async function watchWorkflow<Status, Result>(
  client: Client,
  workflowId: string,
  query: QueryDefinition<Status>,
  onProgress: (status: Status) => void,
  intervalMs: number,
): Promise<Result> {
  const handle = client.workflow.getHandle(workflowId);
  const result = handle.result() as Promise<Result>;
  let done = false;
  result.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done) {
    const status = await handle.query(query).catch(() => null);
    if (status) onProgress(status);
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, intervalMs))]);
  }
  return result;
}
