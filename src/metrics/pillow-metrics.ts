/**
 * What the activities report, kept at the edge (the original pillowtop wove its metrics through
 * the pillow base class). The Prometheus implementation lives in `prometheus.ts`.
 */
export interface PillowMetrics {
  batch(pillow: string, seconds: number): void;
  processor(pillow: string, processor: string, seconds: number, processed: number, failed: number): void;
  /** How many changes the source has past the pillow's position (null: unknown); the lag in seconds follows from it. */
  position(pillow: string, pending: number | null): void;
  /** A slice failed: the pillow is not caught up (the lag clock runs from when it last was). */
  failing(pillow: string): void;
  rewind(pillow: string): void;
  parked(pillow: string, count: number): void;
  /** Docs a rebuild's backfill wrote into a processor's new generation (its progress), and those that failed. */
  rebuilt(pillow: string, processor: string, written: number, failed: number): void;
}

export const noopMetrics: PillowMetrics = {
  batch: () => undefined,
  processor: () => undefined,
  position: () => undefined,
  failing: () => undefined,
  rewind: () => undefined,
  parked: () => undefined,
  rebuilt: () => undefined,
};
