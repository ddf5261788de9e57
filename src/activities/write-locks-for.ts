import type { ResolvedPillow } from '../config/pillow-definition';
import { writeLockName } from '../postgres/write-lock';
import type { Change } from '../types';
import { partitionOf } from '../partition-hash';

/**
 * The write locks a writer of these changes holds: a partition's own pillow holds its partition's;
 * a writer beside the feed (backfill, retry, run-docs) holds those of the partitions its docs belong to.
 */
export function writeLocksFor(pillow: ResolvedPillow, partition: number | undefined, changes: Change[]): string[] {
  if (pillow.partitions <= 1) return [writeLockName(pillow.name, 0)];
  if (partition !== undefined) return [writeLockName(pillow.name, partition)];
  return [...new Set(changes.map((c) => partitionOf(c.id, pillow.partitions)))].map((p) =>
    writeLockName(pillow.name, p),
  );
}
