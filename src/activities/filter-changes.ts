import type { Change, ChangeFailure } from '../types';
import { errorText } from '../processors/doc-error';
import type { ResolvedPillow } from '../config/pillow-definition';

/** FNV-1a over the id's UTF-16 code units: stable across processes, so partitions agree. */
export function partitionOf(docId: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < docId.length; i++) {
    hash ^= docId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

/**
 * Keeps the changes this pillow (partition) processes. Deletions pass the doc filters: a deleted
 * doc has no body left to look at, and processors treat a delete of a doc they never wrote as a no-op.
 */
export function filterChanges(
  pillow: ResolvedPillow,
  changes: Change[],
  partition?: number,
): { kept: Change[]; failed: ChangeFailure[] } {
  const { docTypes, predicate, includeDesignDocs } = pillow.filter;
  const types = docTypes ? new Set(docTypes) : null;
  const failed: ChangeFailure[] = [];
  const kept = changes.filter((change) => {
    if (partition !== undefined && pillow.partitions > 1 && partitionOf(change.id, pillow.partitions) !== partition)
      return false;
    if (!includeDesignDocs && change.id.startsWith('_design/')) return false;
    if (change.deleted) return true;
    const doc = change.doc;
    if (!doc) return false;
    if (types && !(typeof doc.doc_type === 'string' && types.has(doc.doc_type))) return false;
    if (!predicate) return true;
    try {
      return predicate(doc) === true;
    } catch (err) {
      // a predicate that throws on one doc fails that change, not the batch
      failed.push({ id: change.id, seq: change.seq, error: `filter predicate failed: ${errorText(err)}` });
      return false;
    }
  });
  return { kept, failed };
}
