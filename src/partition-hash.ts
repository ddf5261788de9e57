/**
 * Which partition a doc belongs to: the feed reader's filter, its write locks, the sweeps and
 * operators' tools must agree on it, so it lives in one place.
 */

/** FNV-1a over the id's UTF-16 code units: stable across processes, so partitions agree. */
export function partitionOf(docId: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < docId.length; i++) {
    hash ^= docId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
