import { createHash } from 'node:crypto';
import type { ActivityDeps } from './deps';
import type { ChangeFailure } from '../types';
import type { RetryChangeInput } from '../workflows/types';
import { retryChangeWorkflowId, RETRY_CHANGE_WORKFLOW_TYPE } from '../workflows/ids';
import { changeFailedSignal, changeResolvedSignal } from '../workflows/messages';
import { addFailingDocs, countFailingDocs, removeFailingDocs } from '../postgres/failing-docs';

/** Tells the retry workflows of docs that just went through that they are resolved. */
export async function resolveFailures(deps: ActivityDeps, pillow: string, succeededIds: string[]): Promise<void> {
  const resolved = await removeFailingDocs(deps.pool, pillow, succeededIds);
  if (resolved.length === 0) return;
  await Promise.all(
    resolved.map((id) =>
      deps.temporal.workflow
        .getHandle(retryChangeWorkflowId(pillow, id, sha1))
        .signal(changeResolvedSignal)
        .catch((err: Error) => {
          // already finished or never started: nothing left to tell it
          if (err.name !== 'WorkflowNotFoundError') throw err;
        }),
    ),
  );
  deps.metrics.parked(pillow, await countFailingDocs(deps.pool, pillow));
  deps.log.info('failing docs went through with a newer revision', {
    pillow,
    docIds: resolved.slice(0, 20),
    count: resolved.length,
  });
}

export const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/**
 * Hands each failing change to its `retryChange` workflow: starts it, or signals the one already
 * running for that doc (signal-with-start), so a doc that fails again joins its own retry.
 */
export async function parkFailures(
  deps: ActivityDeps,
  pillow: string,
  failures: ChangeFailure[],
  taskQueue: string,
): Promise<void> {
  const byId = new Map(failures.map((f) => [f.id, f]));
  await addFailingDocs(deps.pool, pillow, [...byId.keys()]);
  await Promise.all(
    [...byId.values()].map((failure) => {
      const input: RetryChangeInput = { pillow, docId: failure.id, seq: failure.seq, error: failure.error };
      return deps.temporal.workflow.signalWithStart(RETRY_CHANGE_WORKFLOW_TYPE, {
        workflowId: retryChangeWorkflowId(pillow, failure.id, sha1),
        taskQueue,
        args: [input],
        signal: changeFailedSignal,
        signalArgs: [{ id: failure.id, seq: failure.seq, error: failure.error }],
        staticSummary: `${pillow}: doc ${failure.id.length > 100 ? failure.id.slice(0, 100) + '…' : failure.id} failed`,
        ...(deps.searchAttributes ? { searchAttributes: { PillowName: [pillow], PillowStatus: ['retrying'] } } : {}),
      });
    }),
  );
  deps.metrics.parked(pillow, await countFailingDocs(deps.pool, pillow));
  deps.log.warn('changes failed and were handed to retryChange workflows', {
    pillow,
    docIds: [...byId.keys()].slice(0, 20),
    count: byId.size,
  });
}
