import type { SliceOutcome, SliceProgressDetails, Seq } from '../workflows/types';
import { mergeOutcomes } from './slice-pages';

/**
 * What a slice has committed so far. Its heartbeats carry it (a follow slice runs for a minute and
 * `pillowtop status` reads the live position from there), and a cancelled slice returns it: pages
 * already committed are reported, so the workflow's checkpoint and counts keep up with the sinks.
 */
export class SliceProgress {
  private outcome: SliceOutcome | null = null;
  private lastBatchAt: string | null = null;
  private lastIdle = false;
  private lastFull = false;

  constructor(
    private readonly since: Seq,
    private readonly following: boolean,
  ) {}

  /** A page committed; returns everything committed since the slice began, this page included. */
  record(outcome: SliceOutcome): SliceOutcome {
    this.outcome = this.outcome ? mergeOutcomes(this.outcome, outcome) : outcome;
    this.lastIdle = outcome.idle;
    this.lastFull = outcome.full;
    if (outcome.read > 0 || outcome.lastSeq !== outcome.since) this.lastBatchAt = new Date().toISOString();
    return this.outcome;
  }

  /** Everything committed since the slice began; null before the first page committed. */
  get committed(): SliceOutcome | null {
    return this.outcome;
  }

  details(): SliceProgressDetails {
    const o = this.outcome;
    return {
      since: this.since,
      committed: o?.lastSeq ?? null,
      pages: o ? (o.pages ?? 1) : 0,
      read: o?.read ?? 0,
      processed: o?.processed ?? 0,
      failed: o ? o.failed.length + o.failedOmitted : 0,
      skipped: o?.skipped ?? 0,
      pending: o?.pending ?? null,
      idle: this.lastIdle,
      full: this.lastFull,
      following: this.following,
      lastBatchAt: this.lastBatchAt,
    };
  }
}
