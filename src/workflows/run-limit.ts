/**
 * When a run hands over to the next (continue-as-new) before Temporal suggests it: only tests set
 * `continueAsNewAfterBatches`, to see continue-as-new without thousands of batches. This is the one
 * place that knob is read: the state asks it whether the run is due, and a catch-up slice stops at it.
 */
export class RunLimit {
  constructor(private readonly afterBatches: number | undefined) {}

  /** The run has written as many batches as the test asked for. */
  reached(batchesThisRun: number): boolean {
    return !!this.afterBatches && batchesThisRun >= this.afterBatches;
  }

  /** A catch-up slice stops where a test's continue-as-new is due. */
  capPages(pages: number, batchesThisRun: number): number {
    return this.afterBatches ? Math.min(pages, Math.max(1, this.afterBatches - batchesThisRun)) : pages;
  }

  /** A follow slice has no page limit of its own: only a test's continue-as-new stops it early. */
  capFollowPages(batchesThisRun: number): number | undefined {
    return this.afterBatches ? Math.max(1, this.afterBatches - batchesThisRun) : undefined;
  }

  /** What the next run's input carries, so it hands over at the same count. */
  input(): { continueAsNewAfterBatches?: number } {
    return this.afterBatches ? { continueAsNewAfterBatches: this.afterBatches } : {};
  }
}
