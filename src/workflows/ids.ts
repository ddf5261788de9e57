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
// Temporal's SQL persistence stores workflow ids in a varchar(255)
const MAX_WORKFLOW_ID_BYTES = 255;

/**
 * `pillow/<name>/change/<doc id>`. Doc ids can be long: past 200 characters, or when the whole id
 * would pass Temporal's 255-byte limit, the id part becomes `sha1:<hex>` (the doc id stays in the
 * workflow's input and summary). Pillow names are at most 100 characters, so that form always fits.
 */
export function retryChangeWorkflowId(pillow: string, docId: string, hash: (text: string) => string): string {
  const plain = `pillow/${pillow}/change/${docId}`;
  if (docId.length <= MAX_DOC_ID_IN_WORKFLOW_ID && utf8Length(plain) <= MAX_WORKFLOW_ID_BYTES) return plain;
  return `pillow/${pillow}/change/sha1:${hash(docId)}`;
}

/** UTF-8 length without Buffer or TextEncoder (this module runs in workflow code too). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}
