import type { Change, ChangeFailure, Doc } from '../types';
import { errorText } from '../processors/doc-error';
import type { ResolvedPillow } from '../config/pillow-definition';
import { partitionOf } from '../partition-hash';

/** CommCare's soft delete: `CommCareCase` becomes `CommCareCase-Deleted` (as the original pillowtop knows it). */
export const DELETED_SUFFIX = '-Deleted';

export interface FilteredChanges {
  /**
   * What the processors get: the pillow's live docs, and a deletion (`deleted: true`) for every doc
   * that is deleted, soft-deleted, or whose new revision no longer passes the filter, so that every
   * sink drops a doc it may hold from an earlier revision. Sinks ignore deletions of docs they never held.
   */
  kept: Change[];
  /** Changes whose filter predicate threw: that change fails, not the page. */
  failed: ChangeFailure[];
  /** Ids of kept changes that are deletions only because the doc left the filter (counted as skipped). */
  filteredOut: Set<string>;
}

/**
 * Decides per change what the pillow (partition) does with it. Other partitions' docs and design
 * docs are dropped. Everything else reaches the processors, as the doc or as its deletion.
 */
export function filterChanges(pillow: ResolvedPillow, changes: Change[], partition?: number): FilteredChanges {
  const { docTypes, includeDesignDocs } = pillow.filter;
  const types = docTypes ? new Set(docTypes) : null;
  const failed: ChangeFailure[] = [];
  const kept: Change[] = [];
  const filteredOut = new Set<string>();
  for (const change of changes) {
    if (!isOwnDoc(pillow, change.id, partition)) continue;
    if (!includeDesignDocs && change.id.startsWith('_design/')) continue;
    if (change.deleted) {
      kept.push(change);
      continue;
    }
    let keep: boolean;
    try {
      keep = passes(change.doc, types, pillow.filter.predicate);
    } catch (err) {
      // a predicate that throws on one doc fails that change, not the page
      failed.push({ id: change.id, seq: change.seq, error: `filter predicate failed: ${errorText(err)}` });
      continue;
    }
    if (keep) {
      kept.push(change);
    } else {
      // the doc may have passed before (a case soft-deleted, a form archived): every sink drops it
      kept.push(asDeletion(change));
      filteredOut.add(change.id);
    }
  }
  return { kept, failed, filteredOut };
}

/** Whether the doc is this partition's (every doc is an unpartitioned pillow's). */
export function isOwnDoc(pillow: ResolvedPillow, docId: string, partition: number | undefined): boolean {
  return partition === undefined || pillow.partitions <= 1 || partitionOf(docId, pillow.partitions) === partition;
}

/**
 * Whether `filterChanges` needs the change's body: a live change of this partition's that is not a
 * design doc it drops anyway. A partition reads the feed without bodies and fetches these alone.
 */
export function needsBody(pillow: ResolvedPillow, change: Change, partition: number | undefined): boolean {
  if (change.deleted || !isOwnDoc(pillow, change.id, partition)) return false;
  return pillow.filter.includeDesignDocs === true || !change.id.startsWith('_design/');
}

function passes(doc: Doc | undefined, types: Set<string> | null, predicate?: (doc: Doc) => boolean): boolean {
  if (!doc) return false;
  const docType = typeof doc.doc_type === 'string' ? doc.doc_type : undefined;
  // `<type>-Deleted` is a deletion unless the pillow asks for that doc type by name
  if (docType?.endsWith(DELETED_SUFFIX) && !types?.has(docType)) return false;
  if (types && !(docType !== undefined && types.has(docType))) return false;
  return predicate ? predicate(doc) === true : true;
}

/** The change as a deletion: no body goes further, the revision stays (it is CouchDB's winner). */
function asDeletion(change: Change): Change {
  return { id: change.id, seq: change.seq, rev: change.rev, deleted: true };
}
