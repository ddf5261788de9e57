import * as wf from '@temporalio/workflow';
import { ActivityCancellationType, ApplicationFailure, type RetryPolicy } from '@temporalio/common';
import type { RebuildActivities } from '../activities/rebuild-activities';
import { rebuildLine, type RebuildInput, type RebuildStatus } from './rebuild-types';

export const rebuildStatusQuery = wf.defineQuery<RebuildStatus>('status');

// every rebuild activity retries until it succeeds or finds its generation no longer building
const RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  nonRetryableErrorTypes: ['NotBuilding'],
};
const { startRebuild, swapRebuild, dropOldGeneration, cancelRebuild } = wf.proxyActivities<RebuildActivities>({
  startToCloseTimeout: '2 minutes',
  // a cancel waits for the registration or the page in flight to end, so that cancelRebuild runs after it
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: RETRY,
});
const { backfillRebuild } = wf.proxyActivities<RebuildActivities>({
  startToCloseTimeout: '5 minutes',
  // a worker killed mid-page is noticed within this; the retry goes on from the committed cursor
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: RETRY,
});

const DEFAULT_GRACE_SECONDS = 600;

/**
 * `pillowtop rebuild`: builds a new generation of ONE processor's target (a table, a search index)
 * from a full read of the source while the live pillow goes on and writes both generations, swaps it
 * in atomically, and drops the old one after a grace period. Resumable (the backfill's cursor commits
 * with its pages), cancellable (the new generation is dropped, the live one untouched). History holds
 * seqs and counts only. Workflow id `pillow/<name>/rebuild/<processor>`.
 */
export async function rebuild(input: RebuildInput): Promise<RebuildStatus> {
  if (typeof input?.name !== 'string' || typeof input.processor !== 'string')
    throw ApplicationFailure.nonRetryable(
      'rebuild input must be {"name": "<pillow>", "processor": "<processor name>"}',
      'BadInput',
    );
  const target = { name: input.name, processor: input.processor };
  const st: RebuildStatus = input.carried ?? {
    pillow: input.name,
    processor: input.processor,
    target: null,
    phase: 'starting',
    live: null,
    building: null,
    done: 0,
    failed: 0,
    estimatedTotal: null,
    rate: 0,
    cursor: null,
    startedAt: new Date().toISOString(),
    swappedAt: null,
  };
  wf.setHandler(rebuildStatusQuery, () => st);
  const show = () => wf.setCurrentDetails(`${rebuildLine(st)} · pillow \`${st.pillow}\` · processor ${st.processor}`);
  show();
  try {
    if (st.phase === 'starting' || st.phase === 'backfilling') {
      const started = await startRebuild(target);
      Object.assign(st, {
        phase: 'backfilling',
        target: started.target,
        live: started.live,
        building: started.building,
        cursor: started.cursor,
        done: started.done,
        estimatedTotal: st.estimatedTotal ?? started.estimatedTotal,
      });
      show();
      for (;;) {
        const began = Date.now();
        const out = await backfillRebuild({ ...target, generation: st.building!, cursor: st.cursor });
        const seconds = (Date.now() - began) / 1000;
        st.cursor = out.cursor;
        st.done += out.written;
        st.failed += out.failed;
        st.rate = seconds > 0 ? out.written / seconds : 0;
        show();
        if (out.finished) break;
        if (wf.workflowInfo().continueAsNewSuggested) await wf.continueAsNew<typeof rebuild>({ ...input, carried: st });
      }
      st.phase = 'swapping';
      show();
      await swapRebuild({ ...target, live: st.live!, generation: st.building! });
      st.swappedAt = new Date().toISOString();
      st.phase = 'grace';
      show();
    }
    if (st.phase === 'grace') {
      await wf.sleep((input.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000);
      st.phase = 'dropping';
    }
    show();
    await dropOldGeneration({ ...target, generation: st.live! });
    st.phase = 'done';
    show();
    return st;
  } catch (err) {
    // cancelled before the swap (a backfill that ended as the cancel came leaves the swap unscheduled):
    // the new generation is dropped and writers stop writing it; cancelRebuild leaves a swapped one be
    const beforeSwap =
      st.phase === 'starting' || st.phase === 'backfilling' || (st.phase === 'swapping' && !st.swappedAt);
    if (wf.isCancellation(err) && beforeSwap) {
      await wf.CancellationScope.nonCancellable(() => cancelRebuild({ ...target, generation: st.building }));
      st.phase = 'cancelled';
      show();
    }
    throw err;
  }
}
