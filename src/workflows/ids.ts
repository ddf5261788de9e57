/** Workflow ids and search attribute names from the contract (DESIGN.md). Pure: used by workflows too. */
export const PILLOW_WORKFLOW_TYPE = 'pillow';
export const RETRY_CHANGE_WORKFLOW_TYPE = 'retryChange';
export const RUN_DOCS_WORKFLOW_TYPE = 'runDocs';
export const DEFAULT_TASK_QUEUE = 'pillowtop';

/** The checkpoint key of a pillow or one of its partitions: `cases`, `cases/p1`. */
export function pillowKey(name: string, partition?: number | null, reindex?: boolean): string {
  const base = partition === undefined || partition === null ? name : `${name}/p${partition}`;
  return reindex ? `${base}/reindex` : base;
}

export function pillowWorkflowId(name: string, partition?: number | null): string {
  return `pillow/${pillowKey(name, partition)}`;
}

/** `pillow/<name>/reindex`: the backfill run by `pillowtop reindex`. */
export function reindexWorkflowId(name: string): string {
  return `pillow/${pillowKey(name, null, true)}`;
}

const MAX_DOC_ID_IN_WORKFLOW_ID = 200;

/**
 * `pillow/<name>/change/<doc id>`. Doc ids can be long; past 200 characters the id part becomes
 * `sha1:<hex>` (the doc id stays in the workflow's input and summary).
 */
export function retryChangeWorkflowId(pillow: string, docId: string, hash: (text: string) => string): string {
  const part = docId.length > MAX_DOC_ID_IN_WORKFLOW_ID ? `sha1:${hash(docId)}` : docId;
  return `pillow/${pillow}/change/${part}`;
}
