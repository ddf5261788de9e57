import type { Client } from '@temporalio/client';
import { isHashedRetryChangeId, retryChangeIdCandidates } from '../temporal/retry-change-id';
import type { CodecKeys } from '../codec/codec-keys';
import { retryNowSignal, retryStatusQuery } from '../workflows/messages';
import { RETRY_CHANGE_WORKFLOW_TYPE } from '../workflows/ids';
import type { RetryChangeStatus } from '../workflows/types';

/** One failing change as `pillowtop errors` shows it (and `errors --json` prints it). */
export interface RetryChangeRow {
  pillow: string;
  docId: string;
  workflowId: string;
  /** retrying or parked; `unknown` when the workflow did not answer its status query. */
  state: string;
  attempts: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  firstFailedAt: string | null;
}

const MAX_LISTED = 1000;

/**
 * The open `retryChange` workflows, from visibility, as
 * `temporal workflow list --query 'WorkflowType="retryChange" AND ExecutionStatus="Running" AND PillowName="…"'`,
 * each with its `status` query.
 */
export async function listRetryChanges(client: Client, pillows: string[]): Promise<RetryChangeRow[]> {
  if (pillows.length === 0) return [];
  const names = pillows.map((p) => `"${p.replace(/["\\]/g, '')}"`).join(', ');
  const query = `WorkflowType="${RETRY_CHANGE_WORKFLOW_TYPE}" AND ExecutionStatus="Running" AND PillowName IN (${names})`;
  const ids: string[] = [];
  try {
    for await (const wf of client.workflow.list({ query })) {
      ids.push(wf.workflowId);
      if (ids.length >= MAX_LISTED) break;
    }
  } catch (err) {
    if (/PillowName/.test((err as Error).message))
      throw new Error('the PillowName search attribute is not registered on this namespace: run `pillowtop setup`');
    throw err;
  }
  const rows = await Promise.all(ids.map((id) => describeRetryChange(client, id)));
  return rows.sort((a, b) => a.pillow.localeCompare(b.pillow) || a.docId.localeCompare(b.docId));
}

async function describeRetryChange(client: Client, workflowId: string): Promise<RetryChangeRow> {
  try {
    const s: RetryChangeStatus = await client.workflow.getHandle(workflowId).query(retryStatusQuery);
    return {
      pillow: s.pillow,
      docId: s.docId,
      workflowId,
      state: s.state,
      attempts: s.attempts,
      lastError: s.lastError,
      nextAttemptAt: s.nextAttemptAt,
      firstFailedAt: s.firstFailedAt,
    };
  } catch (err) {
    const [, pillow = '', docId = workflowId] = /^pillow\/([^/]+)\/change\/(.*)$/.exec(workflowId) ?? [];
    return {
      pillow,
      // a hashed id (codec key configured) says nothing of the doc: its id is in the status it did not give
      docId: isHashedRetryChangeId(workflowId) ? '(unknown: hashed id)' : docId,
      workflowId,
      state: 'unknown',
      attempts: null,
      lastError: (err as Error).message.split('\n')[0],
      nextAttemptAt: null,
      firstFailedAt: null,
    };
  }
}

/** Thrown by `retry NAME DOC_ID` for a doc that has no retry workflow running. */
export class NotFailingError extends Error {
  constructor(pillow: string, docIds: string[]) {
    super(`not failing in pillow "${pillow}" (no running retryChange workflow): ${docIds.join(', ')}`);
    this.name = 'NotFailingError';
  }
}

/**
 * Sends `retryNow` to the retry workflows of the given docs, or of every failing doc of the pillow:
 * `temporal workflow signal --workflow-id 'pillow/<name>/change/<doc id>' --name retryNow`. With a
 * codec key a doc's workflow id is a keyed hash (retry-change-id.ts): every id it may have is tried.
 */
export async function retryNow(
  client: Client,
  pillow: string,
  docIds: string[],
  keys?: CodecKeys | null,
): Promise<string[]> {
  const signal = (workflowId: string) =>
    client.workflow
      .getHandle(workflowId)
      .signal(retryNowSignal)
      .then(
        () => true,
        (err: Error) => {
          if (err.name !== 'WorkflowNotFoundError') throw err;
          return false;
        },
      );
  if (docIds.length === 0) {
    const targets = (await listRetryChanges(client, [pillow])).map((r) => r.workflowId);
    const missing = (await Promise.all(targets.map(signal))).flatMap((ok, i) => (ok ? [] : [targets[i]]));
    if (missing.length > 0) throw new NotFailingError(pillow, missing);
    return targets;
  }
  const missing: string[] = [];
  const targets: string[] = [];
  await Promise.all(
    docIds.map(async (docId) => {
      const candidates = retryChangeIdCandidates(pillow, docId, keys);
      const told = await Promise.all(candidates.map(signal));
      const hit = candidates.filter((_, i) => told[i]);
      if (hit.length === 0) missing.push(docId);
      targets.push(...hit);
    }),
  );
  if (missing.length > 0) throw new NotFailingError(pillow, missing);
  return targets;
}
