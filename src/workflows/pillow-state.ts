import { RunLimit } from './run-limit';
import type {
  SliceOutcome,
  CarriedState,
  PillowStatusValue,
  PillowStatusView,
  Seq,
  SetCheckpointResult,
} from './types';

/** A queued checkpoint move: a rewind signal or a setCheckpoint update, applied by the loop in order. */
export interface CheckpointMove {
  readonly id: number;
  readonly to: string;
  readonly reason: string;
}

/** How a move ended: where the checkpoint went, or why the source refused the seq. */
export type MoveResult = { applied: SetCheckpointResult } | { rejected: string };

const RATE_WINDOW = 10;
const MAX_SLICE_PAGES = 256;
const MAX_FAILURE_BACKOFF_MS = 60_000;
const FIRST_FAILURE_BACKOFF_MS = 2000;
const NOT_HERE_BACKOFF_MS = 1000;

/**
 * The pillow's state and its transitions, kept apart from the workflow function so the loop reads as
 * the design and handlers are one-liners. Everything here is deterministic and pure (no Temporal
 * calls): the workflow issues the commands a transition implies.
 */
export class PillowState {
  private _checkpoint: Seq;
  private _paused: boolean;
  private _processed: number;
  private _failed: number;
  private skipped: number;
  private batches: number;
  private batchesThisRun = 0;
  private rewindsDetected: number;
  private readonly runs: number;
  private readonly startedAt: string;
  private _status: PillowStatusValue = 'running';
  private pending: number | null = null;
  private lastBatchAt: string | null = null;
  private caughtUpAt: string | null = null;
  private _lastError: string | null = null;
  private consecutiveFailures = 0;
  // catch-up slices grow while pages come back full (1, 2, 4, … pages per activity): progress shows
  // early and a short catch-up stops at once, while a long one pays few workflow round trips
  private pages = 1;
  // the last slice found the feed with nothing more waiting: the next one follows it (slice-pages.ts)
  private caughtUp = false;
  private readonly moves: CheckpointMove[] = [];
  private readonly settled = new Map<number, MoveResult>();
  private lastRejectedMove: { to: Seq; reason: string; at: string } | null = null;
  private nextMoveId = 1;
  private readonly recent: { at: number; read: number }[] = [];

  constructor(
    checkpoint: Seq,
    carried: CarriedState | undefined,
    now: Date,
    private readonly runLimit = new RunLimit(undefined),
  ) {
    this._checkpoint = carried?.checkpoint ?? checkpoint;
    this._paused = carried?.paused ?? false;
    this._processed = carried?.processed ?? 0;
    this._failed = carried?.failed ?? 0;
    this.skipped = carried?.skipped ?? 0;
    this.batches = carried?.batches ?? 0;
    this.rewindsDetected = carried?.rewindsDetected ?? 0;
    this.runs = (carried?.runs ?? 0) + 1;
    this.startedAt = carried?.startedAt ?? now.toISOString();
  }

  get checkpoint(): Seq {
    return this._checkpoint;
  }
  get paused(): boolean {
    return this._paused;
  }
  get status(): PillowStatusValue {
    return this._status;
  }
  get processed(): number {
    return this._processed;
  }
  get failed(): number {
    return this._failed;
  }
  get lastError(): string | null {
    return this._lastError;
  }

  /** Where a run that carried nothing resumes: the start's checkpoint, the stored one, or "0". */
  resumeAt(checkpoint: Seq): void {
    this._checkpoint = checkpoint;
  }

  pause(): void {
    this._paused = true;
  }

  resume(): void {
    this._paused = false;
  }

  /** Returns whether the status changed (the workflow then updates the PillowStatus search attribute). */
  setStatus(status: PillowStatusValue): boolean {
    if (status === this._status) return false;
    this._status = status;
    return true;
  }

  // --- moves: queued by handlers, applied by the loop in order, settled for the update that waits ---

  queueMove(to: string, reason: string): number {
    const id = this.nextMoveId++;
    this.moves.push({ id, to, reason });
    return id;
  }

  hasMoves(): boolean {
    return this.moves.length > 0;
  }

  /** The move to apply next (it stays queued until it is settled). */
  nextMove(): CheckpointMove | undefined {
    return this.moves[0];
  }

  /** The loop stored `current` for the first queued move. */
  applyMove(move: CheckpointMove, current: Seq): SetCheckpointResult {
    const applied = { previous: this._checkpoint, current };
    this._checkpoint = current;
    this.caughtUp = false;
    this.moves.shift();
    this.settled.set(move.id, { applied });
    return applied;
  }

  /** A move refused before anything was stored: an update fails with the reason, a signal shows it in `status`. */
  rejectMove(move: CheckpointMove, reason: string, now: Date): void {
    this.moves.shift();
    this.settled.set(move.id, { rejected: reason });
    const to = move.to.length > 60 ? move.to.slice(0, 60) + '…' : move.to;
    this.lastRejectedMove = { to, reason: `${move.reason}: ${reason}`, at: now.toISOString() };
  }

  /** A rewind signal too malformed to queue: shown in `status` (a signal has no one to answer). */
  ignoreRewind(to: unknown, reason: string, now: Date): void {
    this.lastRejectedMove = { to: String(to).slice(0, 60), reason: `rewind signal: ${reason}`, at: now.toISOString() };
  }

  moveSettled(id: number): boolean {
    return this.settled.has(id);
  }

  /** How move `id` ended, handed out once (to the update that queued it). */
  takeMoveResult(id: number): MoveResult | undefined {
    const result = this.settled.get(id);
    this.settled.delete(id);
    return result;
  }

  // --- slices ---

  /** Pages the next slice may read: doubling while pages come back full, up to 256, within the run limit. */
  slicePages(): number {
    return this.runLimit.capPages(this.pages, this.batchesThisRun);
  }

  /** Whether the next slice follows the feed (caught up) rather than catching up. */
  following(): boolean {
    return this.caughtUp;
  }

  /** Pages a follow slice may take: no limit, but a test's continue-as-new. */
  followPages(): number | undefined {
    return this.runLimit.capFollowPages(this.batchesThisRun);
  }

  /** Applies a finished slice and returns the status it leaves the pillow in. */
  recordSlice(outcome: SliceOutcome, batchSize: number, now: Date): PillowStatusValue {
    this.pages = outcome.full ? Math.min(this.pages * 2, MAX_SLICE_PAGES) : 1;
    this.caughtUp = !outcome.full;
    this._checkpoint = outcome.lastSeq;
    this._processed += outcome.processed;
    this._failed += outcome.failed.length + outcome.failedOmitted;
    this.skipped += outcome.skipped;
    // a catch-up slice counts as the pages it held, so batch counts mean pages of `batchSize`
    const pages = outcome.pages ?? 1;
    this.batches += pages;
    this.batchesThisRun += pages;
    this.pending = outcome.pending;
    this.lastBatchAt = now.toISOString();
    this._lastError =
      outcome.failed.length > 0 ? `doc ${outcome.failed[0].id}: ${outcome.failed[0].error}` : this._lastError;
    this.consecutiveFailures = 0;
    if (outcome.rewound) this.rewindsDetected += 1;
    if (!outcome.full) this.caughtUpAt = now.toISOString();
    this.recent.push({ at: now.getTime(), read: outcome.read });
    if (this.recent.length > RATE_WINDOW) this.recent.shift();
    if (outcome.idle) return 'idle';
    if (outcome.full || (outcome.pending ?? 0) > batchSize) return 'catching-up';
    return 'running';
  }

  /**
   * A slice that failed (an outage): counts the attempt, keeps the error, and returns how long to
   * wait before the next one (doubling from 2s up to a minute). A worker without this pillow (a
   * rolling deploy) is no reason to wait longer each time: the next attempt may reach one that has it.
   */
  recordFailure(error: string, notOnThisWorker: boolean): { attempt: number; backoffMs: number } {
    this.consecutiveFailures += 1;
    this._lastError = error;
    const backoffMs = notOnThisWorker
      ? NOT_HERE_BACKOFF_MS
      : Math.min(MAX_FAILURE_BACKOFF_MS, FIRST_FAILURE_BACKOFF_MS * 2 ** (this.consecutiveFailures - 1));
    return { attempt: this.consecutiveFailures, backoffMs };
  }

  /** No worker knows the pillow yet (start, rolling deploy): failing with the reason, without a search attribute update. */
  waitForWorker(error: string): void {
    this._status = 'failing';
    this._lastError = error;
  }

  /** A worker took the describe after some refused it. */
  workerFound(): void {
    this._lastError = null;
    this._status = 'running';
  }

  /** Temporal suggests a new run, or the run limit (tests) is reached. */
  continueAsNewDue(suggested: boolean): boolean {
    return suggested || this.runLimit.reached(this.batchesThisRun);
  }

  /** Changes per second over the last few batches. */
  rate(): number {
    if (this.recent.length < 2) return 0;
    const span = (this.recent[this.recent.length - 1].at - this.recent[0].at) / 1000;
    const read = this.recent.slice(1).reduce((sum, r) => sum + r.read, 0);
    return span > 0 ? Math.round(read / span) : 0;
  }

  /** What the next run starts from (its constructor's `carried`). */
  carry(): CarriedState {
    return {
      checkpoint: this._checkpoint,
      paused: this._paused,
      processed: this._processed,
      failed: this._failed,
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
      checkpoint: this._checkpoint,
      status: this._status,
      paused: this._paused,
      processed: this._processed,
      failed: this._failed,
      skipped: this.skipped,
      batches: this.batches,
      pending: this.pending,
      lastBatchAt: this.lastBatchAt,
      caughtUpAt: this.caughtUpAt,
      lastError: this._lastError,
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
    const checkpoint = this._checkpoint.length > 60 ? this._checkpoint.slice(0, 60) + '…' : this._checkpoint;
    const lines = [
      `**${this._status}**${this._paused && this._status !== 'paused' ? ' (pausing)' : ''} · checkpoint: \`${checkpoint}\` · pending ${this.pending ?? 'unknown'}`,
    ];
    // a follow slice reports back once a minute; its heartbeat has the position meanwhile
    if (this.caughtUp && !this._paused)
      lines.push("following the feed: the live checkpoint is in the pending slice's heartbeat details");
    if (this._lastError) lines.push(`last error: ${this._lastError}`);
    if (this.lastRejectedMove)
      lines.push(
        `checkpoint move to \`${this.lastRejectedMove.to}\` refused at ${this.lastRejectedMove.at}: ${this.lastRejectedMove.reason}`,
      );
    lines.push(
      `processed ${this._processed} · failed ${this._failed} · skipped ${this.skipped} · ${this.rate()}/s`,
      `last batch: ${this.lastBatchAt ?? 'never'}${this.rewindsDetected ? ` · feed rewinds detected: ${this.rewindsDetected}` : ''}`,
      `pillow \`${name}\` · source: ${source} · processors: ${processors.join(', ')}`,
    );
    return lines.join('\n\n');
  }
}
