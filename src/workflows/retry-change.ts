import * as wf from '@temporalio/workflow';
import type { PillowActivities } from '../activities/pillow-activities';
import { changeFailedSignal, changeResolvedSignal, retryNowSignal, retryStatusQuery } from './messages';
import { PILLOW_STATUS } from './search-attributes';
import type { ChangeFailure } from '../types';
import type { RetryChangeInput, RetryChangeState, RetryChangeStatus } from './types';

const { retryDoc, changeRetryPolicy } = wf.proxyActivities<PillowActivities>({
  startToCloseTimeout: '2 minutes',
  // outages (the activity throws) are retried here without spending one of the doc's attempts
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: ['UnknownPillow'],
  },
});

/**
 * One failing change of one pillow, in place of the original's PillowError row and cron job:
 * retried with growing waits against the doc as it is *now*, then parked (visible in the Web UI
 * and `pillowtop errors`) until `pillowtop retry`, a new failure of a newer revision, or the
 * pillow processing a newer revision successfully.
 */
export async function retryChange(input: RetryChangeInput): Promise<RetryChangeStatus> {
  const policy = await changeRetryPolicy({ pillow: input.pillow });
  const hasSearchAttributes = (wf.workflowInfo().typedSearchAttributes?.get(PILLOW_STATUS) ?? null) !== null;
  const status: RetryChangeStatus = {
    pillow: input.pillow,
    docId: input.docId,
    state: 'retrying',
    attempts: 0,
    lastError: input.error,
    nextAttemptAt: null,
    firstFailedAt: new Date().toISOString(),
  };
  let wake = false;
  let resolved = false;

  const setState = (state: RetryChangeState) => {
    if (state === status.state) return;
    status.state = state;
    if (hasSearchAttributes) wf.upsertSearchAttributes([{ key: PILLOW_STATUS, value: state }]);
  };
  const details = () =>
    wf.setCurrentDetails(
      [
        `**${status.state}** · pillow \`${input.pillow}\` · doc \`${input.docId}\``,
        `attempts: ${status.attempts} of ${policy.attempts}${status.nextAttemptAt ? ` · next: ${status.nextAttemptAt}` : ''}`,
        `last error: ${status.lastError}`,
      ].join('\n\n'),
    );

  wf.setHandler(retryStatusQuery, () => ({ ...status }));
  wf.setHandler(changeFailedSignal, (failure: ChangeFailure) => {
    status.lastError = failure.error;
    // the pillow failed it again (a newer revision, or a rewind): a parked change starts over
    if (status.state === 'parked') {
      status.attempts = 0;
      setState('retrying');
    }
  });
  wf.setHandler(retryNowSignal, () => {
    wake = true;
    if (status.state === 'parked') status.attempts = 0;
  });
  wf.setHandler(changeResolvedSignal, () => {
    resolved = true;
  });

  for (;;) {
    while (status.attempts < policy.attempts && !resolved) {
      const waitMs =
        Math.min(
          policy.maxIntervalSeconds,
          policy.initialIntervalSeconds * policy.backoffCoefficient ** status.attempts,
        ) * 1000;
      status.nextAttemptAt = new Date(Date.now() + waitMs).toISOString();
      setState('retrying');
      details();
      if (!wake) await wf.condition(() => wake || resolved, waitMs);
      wake = false;
      status.nextAttemptAt = null;
      if (resolved) break;
      status.attempts += 1;
      const outcome = await retryDoc({ pillow: input.pillow, docId: input.docId });
      if (outcome.ok) resolved = true;
      else status.lastError = outcome.error ?? 'unknown error';
    }
    if (resolved) {
      setState('resolved');
      details();
      return { ...status };
    }
    setState('parked');
    details();
    await wf.condition(() => wake || resolved || status.state === 'retrying');
    if (wf.workflowInfo().continueAsNewSuggested) {
      await wf.condition(wf.allHandlersFinished);
      await wf.continueAsNew<typeof retryChange>({ ...input, error: status.lastError });
    }
  }
}
