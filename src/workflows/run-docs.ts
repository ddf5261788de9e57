import * as wf from '@temporalio/workflow';
import { ApplicationFailure, type ActivityOptions } from '@temporalio/common';
import type { PillowActivities } from '../activities/pillow-activities';
import type { RunDocsInput, RunDocsResult } from './types';

const OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  // an outage is retried a few times; the operator who asked is waiting for an answer
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 4 },
};
const { retryDoc } = wf.proxyActivities<PillowActivities>(OPTIONS);

const MAX_DOCS = 500;

/**
 * `pillowtop run-docs`: runs chosen docs through a pillow's filter and processors now, as they are
 * in CouchDB now (the same `retryDoc` activity a `retryChange` workflow uses). History holds doc ids
 * and errors only. Short-lived: one activity per doc, then the outcome per doc.
 */
export async function runDocs(input: RunDocsInput): Promise<RunDocsResult> {
  if (typeof input?.pillow !== 'string' || !Array.isArray(input.docIds) || input.docIds.length === 0) {
    throw ApplicationFailure.nonRetryable(
      'runDocs input must be {"pillow": "<name>", "docIds": ["<id>", …]}',
      'BadInput',
    );
  }
  if (input.docIds.length > MAX_DOCS) {
    throw ApplicationFailure.nonRetryable(`at most ${MAX_DOCS} docs per run`, 'BadInput');
  }
  const docs: RunDocsResult['docs'] = [];
  for (const docId of input.docIds) {
    try {
      const outcome = await retryDoc.executeWithOptions(
        {
          ...OPTIONS,
          summary: `${input.pillow}: run doc ${docId.length > 80 ? docId.slice(0, 80) + '…' : docId}`,
        },
        [{ pillow: input.pillow, docId }],
      );
      docs.push(outcome.ok ? { docId, ok: true } : { docId, ok: false, error: outcome.error ?? 'unknown error' });
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      const message = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
      docs.push({ docId, ok: false, error: message });
    }
  }
  return { pillow: input.pillow, docs };
}
