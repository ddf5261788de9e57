/** Inputs, outputs and status of the `rebuild` workflow. Pure types: used by workflow and activity code. */

export const REBUILD_WORKFLOW_TYPE = 'rebuild';

/** `pillow/<name>/rebuild/<processor>`. */
export function rebuildWorkflowId(name: string, processor: string): string {
  return `pillow/${name}/rebuild/${processor}`;
}

export interface RebuildTargetInput {
  /** The pillow. */
  name: string;
  /** The processor whose target is rebuilt (its `name`, e.g. `postgresTable:case_index`). */
  processor: string;
}

export interface RebuildInput extends RebuildTargetInput {
  /** Seconds the old generation is kept after the swap before it is dropped. @default 600 */
  graceSeconds?: number;
  /** Carried across continue-as-new. */
  carried?: RebuildStatus;
}

export interface RebuildStarted {
  live: number;
  building: number;
  cursor: string | null;
  done: number;
  resumed: boolean;
  /** The name readers query (`case_index`, `cases_search`). */
  target: string;
  /** The source's doc count when the rebuild started (an estimate of the total). */
  estimatedTotal: number;
}

export interface RebuildBackfillInput extends RebuildTargetInput {
  generation: number;
  cursor: string | null;
}

export interface RebuildBackfillOutcome {
  cursor: string;
  written: number;
  failed: number;
  finished: boolean;
}

export type RebuildPhase = 'starting' | 'backfilling' | 'swapping' | 'grace' | 'dropping' | 'done' | 'cancelled';

/** The `status` query of a rebuild workflow: counts and names only. */
export interface RebuildStatus {
  pillow: string;
  processor: string;
  target: string | null;
  phase: RebuildPhase;
  live: number | null;
  building: number | null;
  /** Docs written into the new generation by the backfill. */
  done: number;
  failed: number;
  estimatedTotal: number | null;
  /** Docs per second over the last backfill activity. */
  rate: number;
  /** The source seq the backfill goes on from (opaque). */
  cursor: string | null;
  startedAt: string;
  swappedAt: string | null;
}

/** One line for `pillowtop status` and the Web UI: `rebuilding case_index: 12,000 of ~20,000 (1,500/s)`. */
export function rebuildLine(st: RebuildStatus): string {
  const target = st.target ?? st.processor;
  switch (st.phase) {
    case 'starting':
      return `rebuilding ${target}: starting`;
    case 'backfilling': {
      const total = st.estimatedTotal !== null ? ` of ~${thousands(Math.max(st.estimatedTotal, st.done))}` : '';
      return `rebuilding ${target}: ${thousands(st.done)}${total} (${thousands(Math.round(st.rate))}/s)`;
    }
    case 'swapping':
      return `rebuilding ${target}: ${thousands(st.done)} written, swapping in generation ${st.building}`;
    case 'grace':
    case 'dropping':
      return `rebuilt ${target}: generation ${st.building} live; dropping generation ${st.live} after the grace period`;
    case 'done':
      return `rebuilt ${target}: generation ${st.building} live`;
    case 'cancelled':
      return `rebuild of ${target} cancelled`;
  }
}

function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
