import type { SliceOutcome, CarriedState, PillowStatusValue, PillowStatusView, Seq } from './types';

/** A queued checkpoint move: a rewind signal or a setCheckpoint update, applied by the loop in order. */
export interface CheckpointMove {
  id: number;
  to: string;
  reason: string;
}

const RATE_WINDOW = 10;

/**
 * The pillow's state, kept apart from the workflow function so the loop reads as the design:
 * read a batch, move the checkpoint, count. Everything here is deterministic.
 */
export class PillowState {
  checkpoint: Seq;
  paused: boolean;
  processed: number;
  failed: number;
  skipped: number;
  batches: number;
  batchesThisRun = 0;
  rewindsDetected: number;
  runs: number;
  startedAt: string;
  status: PillowStatusValue = 'running';
  pending: number | null = null;
  lastBatchAt: string | null = null;
  caughtUpAt: string | null = null;
  lastError: string | null = null;
  consecutiveFailures = 0;
  moves: CheckpointMove[] = [];
  appliedMoves = new Map<number, { previous: Seq; current: Seq }>();
  /** Moves the source would not accept, by id, with the reason (read by the setCheckpoint update). */
  rejectedMoves = new Map<number, string>();
  lastRejectedMove: { to: Seq; reason: string; at: string } | null = null;
  private nextMoveId = 1;
  private recent: { at: number; read: number }[] = [];

  constructor(checkpoint: Seq, carried: CarriedState | undefined, now: Date) {
    this.checkpoint = carried?.checkpoint ?? checkpoint;
    this.paused = carried?.paused ?? false;
    this.processed = carried?.processed ?? 0;
    this.failed = carried?.failed ?? 0;
    this.skipped = carried?.skipped ?? 0;
    this.batches = carried?.batches ?? 0;
    this.rewindsDetected = carried?.rewindsDetected ?? 0;
    this.runs = (carried?.runs ?? 0) + 1;
    this.startedAt = carried?.startedAt ?? now.toISOString();
  }

  queueMove(to: string, reason: string): number {
    const id = this.nextMoveId++;
    this.moves.push({ id, to, reason });
    return id;
  }

  /** A move refused before anything was stored: an update fails with the reason, a signal shows it in `status`. */
  rejectMove(move: CheckpointMove, reason: string, now: Date): void {
    this.rejectedMoves.set(move.id, reason);
    const to = move.to.length > 60 ? move.to.slice(0, 60) + '…' : move.to;
    this.lastRejectedMove = { to, reason: `${move.reason}: ${reason}`, at: now.toISOString() };
  }

  /** Applies a finished batch and returns the status it leaves the pillow in. */
  applyBatch(outcome: SliceOutcome, batchSize: number, now: Date): PillowStatusValue {
    this.checkpoint = outcome.lastSeq;
    this.processed += outcome.processed;
    this.failed += outcome.failed.length + outcome.failedOmitted;
    this.skipped += outcome.skipped;
    // a catch-up slice counts as the pages it held, so batch counts mean pages of `batchSize`
    const pages = outcome.pages ?? 1;
    this.batches += pages;
    this.batchesThisRun += pages;
    this.pending = outcome.pending;
    this.lastBatchAt = now.toISOString();
    this.lastError =
      outcome.failed.length > 0 ? `doc ${outcome.failed[0].id}: ${outcome.failed[0].error}` : this.lastError;
    this.consecutiveFailures = 0;
    if (outcome.rewound) this.rewindsDetected += 1;
    if (!outcome.full) this.caughtUpAt = now.toISOString();
    this.recent.push({ at: now.getTime(), read: outcome.read });
    if (this.recent.length > RATE_WINDOW) this.recent.shift();
    if (outcome.idle) return 'idle';
    if (outcome.full || (outcome.pending ?? 0) > batchSize) return 'catching-up';
    return 'running';
  }

  /** Changes per second over the last few batches. */
  rate(): number {
    if (this.recent.length < 2) return 0;
    const span = (this.recent[this.recent.length - 1].at - this.recent[0].at) / 1000;
    const read = this.recent.slice(1).reduce((sum, r) => sum + r.read, 0);
    return span > 0 ? Math.round(read / span) : 0;
  }

  carry(): CarriedState {
    return {
      checkpoint: this.checkpoint,
      paused: this.paused,
      processed: this.processed,
      failed: this.failed,
      skipped: this.skipped,
      batches: this.batches,
      rewindsDetected: this.rewindsDetected,
      runs: this.runs,
      startedAt: this.startedAt,
    };
  }

  view(name: string, partition: number | null, workflowId: string): PillowStatusView {
    return {
      name,
      partition,
      workflowId,
      checkpoint: this.checkpoint,
      status: this.status,
      paused: this.paused,
      processed: this.processed,
      failed: this.failed,
      skipped: this.skipped,
      batches: this.batches,
      pending: this.pending,
      lastBatchAt: this.lastBatchAt,
      caughtUpAt: this.caughtUpAt,
      lastError: this.lastError,
      lastRejectedMove: this.lastRejectedMove,
      rewindsDetected: this.rewindsDetected,
      rate: this.rate(),
      runs: this.runs,
      startedAt: this.startedAt,
    };
  }

  /**
   * Markdown for the Web UI's "current details". The UI shows only the first few lines without
   * scrolling, so what an operator looks for comes first: state, checkpoint, pending, last error.
   * (Not part of history: changing it is replay-safe.)
   */
  details(name: string, source: string, processors: string[]): string {
    const checkpoint = this.checkpoint.length > 60 ? this.checkpoint.slice(0, 60) + '…' : this.checkpoint;
    const lines = [
      `**${this.status}**${this.paused && this.status !== 'paused' ? ' (pausing)' : ''} · checkpoint: \`${checkpoint}\` · pending ${this.pending ?? 'unknown'}`,
    ];
    if (this.lastError) lines.push(`last error: ${this.lastError}`);
    if (this.lastRejectedMove)
      lines.push(
        `checkpoint move to \`${this.lastRejectedMove.to}\` refused at ${this.lastRejectedMove.at}: ${this.lastRejectedMove.reason}`,
      );
    lines.push(
      `processed ${this.processed} · failed ${this.failed} · skipped ${this.skipped} · ${this.rate()}/s`,
      `last batch: ${this.lastBatchAt ?? 'never'}${this.rewindsDetected ? ` · feed rewinds detected: ${this.rewindsDetected}` : ''}`,
      `pillow \`${name}\` · source: ${source} · processors: ${processors.join(', ')}`,
    );
    return lines.join('\n\n');
  }
}
