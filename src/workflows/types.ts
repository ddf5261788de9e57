/**
 * Types shared by workflows, activities, the CLI and tests. Pure types only: workflow code
 * imports this, so nothing here may touch Node.
 */
import type { ChangeFailure } from '../types';
import type { Seq } from '../checkpoint/seq';
export type { Seq };

/** Values of the `PillowStatus` search attribute on `pillow` workflows. */
export type PillowStatusValue = 'running' | 'paused' | 'catching-up' | 'idle' | 'failing';

/** Input of the `pillow` workflow. Only `name` is needed; the rest is for overrides and continue-as-new. */
export interface PillowInput {
  name: string;
  /** Start here instead of the stored checkpoint. */
  checkpoint?: Seq;
  /** Partition index of a partitioned pillow (`pillow/<name>/p<i>`). */
  partition?: number;
  /**
   * The partition count this partition belongs to (`pillowtop start` sets it from the config; carried
   * across continue-as-new). Without it the worker that first describes the pillow decides.
   */
  partitions?: number;
  /**
   * How long a start waits for a worker that knows the pillow before failing as `UnknownPillow`.
   * @default 600
   */
  unknownPillowTimeoutSeconds?: number;
  /** Continue-as-new after this many batches (tests); otherwise when Temporal suggests it. */
  continueAsNewAfterBatches?: number;
  /**
   * A backfill (`pillowtop reindex`, workflow `pillow/<name>/reindex`): its own checkpoint
   * (`<name>/reindex`), every doc through the processors, and it completes once caught up.
   */
  reindex?: boolean;
  /** Carried across continue-as-new. */
  carried?: CarriedState;
}

/** What one run hands to the next on continue-as-new. */
export interface CarriedState {
  checkpoint: Seq;
  paused: boolean;
  processed: number;
  failed: number;
  skipped: number;
  batches: number;
  rewindsDetected: number;
  runs: number;
  startedAt: string;
}

/** The `status` query's answer. */
export interface PillowStatusView {
  name: string;
  partition: number | null;
  workflowId: string;
  checkpoint: Seq;
  status: PillowStatusValue;
  paused: boolean;
  processed: number;
  failed: number;
  skipped: number;
  batches: number;
  /** Changes after the checkpoint, from CouchDB's `pending` or an estimate; null when unknown. */
  pending: number | null;
  lastBatchAt: string | null;
  /** When the pillow last saw the feed with nothing left to read. */
  caughtUpAt: string | null;
  lastError: string | null;
  /** The last rewind / setCheckpoint / start checkpoint the source would not accept (nothing was stored). */
  lastRejectedMove: { to: Seq; reason: string; at: string } | null;
  rewindsDetected: number;
  /** Changes per second over the last batches. */
  rate: number;
  runs: number;
  startedAt: string;
  /** The partition count a partition runs under (null for an unpartitioned pillow, or not yet known). */
  partitions?: number | null;
}

/** The `pillow` workflow's result when stopped (cancelled). */
export interface PillowResult {
  name: string;
  checkpoint: Seq;
  processed: number;
  failed: number;
}

export interface PillowDescription {
  name: string;
  key: string;
  batchSize: number;
  partitions: number;
  /** The checkpoint committed with the sinks' rows, or null if the pillow never ran. */
  storedCheckpoint: Seq | null;
  /** Whether PillowName / PillowStatus exist on this namespace (upserting a missing one fails the task). */
  searchAttributes: boolean;
  /** One line per processor, for the Web UI. */
  processors: string[];
  source: string;
}

export interface SliceInput {
  name: string;
  partition?: number;
  /** The partition count the workflow runs under; absent from workflows started before it was passed. */
  partitions?: number;
  reindex?: boolean;
  since: Seq;
  /** At most this many pages in one activity (a catch-up slice; the pillow doubles it while pages are full). @default as many as fit in the slice */
  maxPages?: number;
  /**
   * A follow slice (the pillow is caught up): go on long-polling and committing pages for this long,
   * then return. Absent: a catch-up slice, which returns once a page is not full.
   */
  followMs?: number;
}

/**
 * A slice's heartbeat details: what it has committed so far (seqs and counts only). `pillowtop status`
 * reads them from the pending activity, so a pillow following for a minute shows a live checkpoint.
 */
export interface SliceProgressDetails {
  /** The checkpoint the slice started from (the workflow's own). */
  since: Seq;
  /** The checkpoint committed with the sinks' rows so far; null before the first page commits. */
  committed: Seq | null;
  pages: number;
  read: number;
  processed: number;
  failed: number;
  skipped: number;
  pending: number | null;
  /** The last page found nothing new (a long poll that ended empty). */
  idle: boolean;
  /** The last page was full: more is waiting (a burst the slice is catching up with). */
  full: boolean;
  following: boolean;
  /** When the last page committed (ISO time); null before the first. */
  lastBatchAt: string | null;
}

/** What a batch returns to the workflow: seqs, counts and failed ids, never doc bodies. */
export interface SliceOutcome {
  since: Seq;
  lastSeq: Seq;
  /** Changes read from the feed. */
  read: number;
  processed: number;
  /** Dropped by the filter (or belonging to another partition). */
  skipped: number;
  failed: ChangeFailure[];
  /** How many failures were left out of `failed` to keep history small. */
  failedOmitted: number;
  pending: number | null;
  /** The feed had nothing new: this was a long poll that timed out. */
  idle: boolean;
  /** The page was full: more is waiting. */
  full: boolean;
  /** The feed's seq went backwards (estimate from the numeric prefix). */
  rewound: boolean;
  durationMs: number;
  /** Pages of `batchSize` this outcome covers (a catch-up slice holds several). @default 1 */
  pages?: number;
}

export interface RewindInput {
  to: string;
}

export interface SetCheckpointInput {
  seq: Seq;
}

export interface SetCheckpointResult {
  previous: Seq;
  current: Seq;
}

/** Input of a `retryChange` workflow: one failing doc of one pillow. */
export interface RetryChangeInput {
  pillow: string;
  docId: string;
  seq: Seq | null;
  error: string;
}

export type RetryChangeState = 'retrying' | 'parked' | 'resolved';

export interface RetryChangeStatus {
  pillow: string;
  docId: string;
  state: RetryChangeState;
  attempts: number;
  lastError: string;
  nextAttemptAt: string | null;
  firstFailedAt: string;
}

export interface RetryDocOutcome {
  ok: boolean;
  error?: string;
  /** Attempts and backoff from the pillow's config. */
  retry: { attempts: number; initialIntervalSeconds: number; backoffCoefficient: number; maxIntervalSeconds: number };
}

/** Input of a `runDocs` workflow (`pillowtop run-docs`). */
export interface RunDocsInput {
  pillow: string;
  docIds: string[];
}

/** What `runDocs` returns: per doc, whether it went through, and why not. */
export interface RunDocsResult {
  pillow: string;
  docs: { docId: string; ok: boolean; error?: string }[];
}
