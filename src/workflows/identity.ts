import { pillowKey } from './ids';
import type { PillowInput } from './types';

/**
 * Who a pillow run is: built once from the input, passed to whatever needs the name, the partition,
 * the checkpoint key or the workflow id (instead of deriving each where it is used).
 */
export interface PillowIdentity {
  readonly name: string;
  /** Partition index of a partitioned pillow; null for the whole feed. */
  readonly partition: number | null;
  /**
   * The partition count this partition runs under: from the start (or the previous run), else the
   * describing worker's (see `withLayout`); null for an unpartitioned pillow or while not yet known.
   */
  readonly partitions: number | null;
  /** A backfill (`pillowtop reindex`) with its own checkpoint. */
  readonly reindex: boolean;
  /** The checkpoint key: `cases`, `cases/p1`, `cases/reindex`. */
  readonly key: string;
  readonly workflowId: string;
}

export function pillowIdentity(input: PillowInput, workflowId: string): PillowIdentity {
  const partition = input.partition ?? null;
  return {
    name: input.name,
    partition,
    partitions: partition === null ? null : (input.partitions ?? null),
    reindex: input.reindex === true,
    key: pillowKey(input.name, partition, input.reindex),
    workflowId,
  };
}

/** The identity once the layout is settled: the start's partition count, else the describing worker's. */
export function withLayout(identity: PillowIdentity, described: number): PillowIdentity {
  if (identity.partition === null || identity.partitions !== null) return identity;
  return { ...identity, partitions: described };
}

/**
 * What names the pillow in an activity's or the next run's input: `{name, partition?, partitions?, reindex?}`.
 * Whether the partition count goes along is the caller's to say (workflows from before it was passed
 * do not send it: see `targetArgs` in pillow.ts).
 */
export function pillowArgs(
  identity: PillowIdentity,
  withPartitions: boolean,
): { name: string; partition?: number; partitions?: number; reindex?: true } {
  return {
    name: identity.name,
    ...(identity.partition !== null ? { partition: identity.partition } : {}),
    ...(withPartitions && identity.partition !== null && identity.partitions !== null
      ? { partitions: identity.partitions }
      : {}),
    ...(identity.reindex ? { reindex: true as const } : {}),
  };
}
