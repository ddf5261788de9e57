import type { ActivityDeps } from './deps';
import type { RetryChangeInput } from '../workflows/types';
import { RETRY_CHANGE_WORKFLOW_TYPE } from '../workflows/ids';
import { retryChangeId, retryChangeIdCandidates } from '../temporal/retry-change-id';
import { changeFailedSignal, changeResolvedSignal } from '../workflows/messages';
import { countFailingDocs, markHandedOff, unhandedFailingDocs, type FailingDoc } from '../postgres/failing-docs';
import { errorText } from '../processors/doc-error';

// pillows whose last hand-off did not finish: the next page tries again
const unfinished = new Set<string>();

// signal-with-starts in flight at once
const CHUNK = 100;

/**
 * Hands the pillow's recorded failing changes to their `retryChange` workflows: starts each, or
 * signals the one already running for that doc (signal-with-start), so a doc that fails again joins
 * its own retry. The failures were recorded with the checkpoint that passed them, so a worker that
 * dies (or a pillow stopped or terminated) before this runs loses nothing: the next page, or the
 * pillow's next start, hands them off. Never throws: what is not handed off now is tried again.
 */
export async function handOffFailures(deps: ActivityDeps, pillow: string, taskQueue: string): Promise<void> {
  try {
    for (;;) {
      const docs = await unhandedFailingDocs(deps.pool, pillow, CHUNK);
      if (docs.length === 0) break;
      const started = await Promise.allSettled(docs.map((doc) => startRetry(deps, pillow, taskQueue, doc)));
      await markHandedOff(
        deps.pool,
        pillow,
        docs.filter((_, i) => started[i].status === 'fulfilled'),
      );
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      deps.log.warn('changes failed and were handed to retryChange workflows', {
        pillow,
        docIds: docs.slice(0, 20).map((d) => d.docId),
        count: docs.length,
      });
      if (docs.length < CHUNK) break;
    }
    unfinished.delete(pillow);
  } catch (err) {
    unfinished.add(pillow);
    deps.log.warn('could not hand failing changes to their retry workflows yet; trying again with the next page', {
      pillow,
      error: errorText(err),
    });
  }
  deps.metrics.parked(pillow, await countFailingDocs(deps.pool, pillow).catch(() => 0));
}

/** Whether an earlier hand-off of this pillow's failures is still to finish (in this worker process). */
export function handOffUnfinished(pillow: string): boolean {
  return unfinished.has(pillow);
}

async function startRetry(deps: ActivityDeps, pillow: string, taskQueue: string, doc: FailingDoc) {
  const failure = { id: doc.docId, seq: doc.seq, error: doc.error };
  // with a codec key, a retry workflow started before a rotation (or before the key) has another id:
  // a running one is told of the new failure rather than a second one started
  for (const workflowId of retryChangeIdCandidates(pillow, doc.docId, deps.codecKeys).slice(1)) {
    const told = await deps.temporal.workflow
      .getHandle(workflowId)
      .signal(changeFailedSignal, failure)
      .then(
        () => true,
        (err: Error) => {
          if (err.name === 'WorkflowNotFoundError') return false;
          throw err;
        },
      );
    if (told) return;
  }
  const input: RetryChangeInput = { pillow, docId: doc.docId, seq: doc.seq, error: doc.error };
  return deps.temporal.workflow.signalWithStart(RETRY_CHANGE_WORKFLOW_TYPE, {
    workflowId: retryChangeId(pillow, doc.docId, deps.codecKeys),
    taskQueue,
    args: [input],
    signal: changeFailedSignal,
    signalArgs: [failure],
    staticSummary: `${pillow}: doc ${doc.docId.length > 100 ? doc.docId.slice(0, 100) + '…' : doc.docId} failed`,
    ...(deps.searchAttributes ? { searchAttributes: { PillowName: [pillow], PillowStatus: ['retrying'] } } : {}),
  });
}

/** Tells the retry workflows of docs that just went through (a newer revision) that they are resolved. */
export async function signalResolved(deps: ActivityDeps, pillow: string, docIds: string[]): Promise<void> {
  if (docIds.length === 0) return;
  await Promise.allSettled(
    docIds.flatMap((id) =>
      retryChangeIdCandidates(pillow, id, deps.codecKeys).map((workflowId) =>
        deps.temporal.workflow
          .getHandle(workflowId)
          .signal(changeResolvedSignal)
          .catch((err: Error) => {
            // already finished or never started: nothing left to tell it; otherwise its own retry resolves it
            if (err.name !== 'WorkflowNotFoundError')
              deps.log.warn('could not tell a retry workflow its doc went through', {
                pillow,
                docId: id,
                error: errorText(err),
              });
          }),
      ),
    ),
  );
  deps.metrics.parked(pillow, await countFailingDocs(deps.pool, pillow).catch(() => 0));
  deps.log.info('failing docs went through with a newer revision', {
    pillow,
    docIds: docIds.slice(0, 20),
    count: docIds.length,
  });
}
