import type { SearchBenchResult } from './search-bench';
/** The bench's figures: the last line `pillowtop bench` prints, and what the chart is drawn from. */
export interface BenchResult {
  quick: boolean;
  docs: number;
  batch_size: number;
  machine: { cpus: number; cpu_model: string; memory_gb: number; node: string; platform: string };
  servers: string;
  load_docs_per_s: number;
  source_limit_docs_per_s: number;
  raw_loop_docs_per_s: number;
  catchup_docs_per_s: number;
  /** First change read to last row committed. */
  catchup_seconds: number;
  /** Workflow start to its first batch (describe, create tables): once per pillow, not per doc. */
  catchup_startup_seconds: number;
  catchup_vs_raw: number;
  catchup_vs_source: number;
  /** The slow following phase (a quiet feed): latency, and per hour of one pillow following at that rate. */
  follow_slow_rate_target: number;
  follow_slow_rate_actual: number;
  /** The phase's window: first write to last row seen. */
  follow_slow_seconds: number;
  follow_slow_docs: number;
  follow_slow_missing: number;
  follow_slow_p50_ms: number;
  follow_slow_p99_ms: number;
  /** History events of the pillow (and its retryChange workflows) over the phase, scaled to an hour. */
  follow_slow_history_events_per_pillow_hour: number;
  /** ActivityTaskScheduled events (plus retried attempts), scaled to an hour. */
  follow_slow_activity_executions_per_pillow_hour: number;
  /** Temporal Cloud billable actions estimated from the history (see bench/history-cost.ts), scaled to an hour. */
  follow_slow_actions_per_pillow_hour: number;
  /** Heartbeats the slices sent per pillow-hour, estimated from their running time (billed, not in history). */
  follow_slow_heartbeats_per_pillow_hour_estimated: number;
  /** DescribeWorkflowExecution reads per pillow-hour by which follow slices watch for a cancel (estimated; not billed). */
  follow_slow_cancel_checks_per_pillow_hour_estimated: number;
  /** Worker CPU seconds per second over the phase (1 = one core); null where /proc is missing. */
  follow_slow_worker_cpu_share: number | null;
  /** The phase's actions (not per hour) by the history event that bills them. */
  follow_slow_actions_by_event: Record<string, number>;
  /** The following phase at `--rate`: the same figures as `follow_slow_*`. */
  follow_rate_target: number;
  follow_rate_actual: number;
  follow_docs: number;
  follow_missing: number;
  follow_p50_ms: number;
  follow_p95_ms: number;
  follow_p99_ms: number;
  follow_max_ms: number;
  follow_seconds: number;
  follow_history_events_per_pillow_hour: number;
  follow_activity_executions_per_pillow_hour: number;
  follow_actions_per_pillow_hour: number;
  follow_heartbeats_per_pillow_hour_estimated: number;
  follow_cancel_checks_per_pillow_hour_estimated: number;
  follow_worker_cpu_share: number | null;
  follow_actions_by_event: Record<string, number>;
  /** Peak RSS of the worker process during the catch-up. */
  worker_peak_rss_mb: number | null;
  /** Peak RSS of the worker process over catch-up and follow. */
  worker_peak_rss_mb_follow: number | null;
  /** Every round's figure (docs/s); the headline figures are the best of these. */
  source_limit_samples: number[];
  raw_loop_samples: number[];
  catchup_samples: number[];
  /** Each round's catch-up over that same round's source limit and raw loop: the fairest ratio on a shared machine. */
  catchup_vs_source_per_round: number[];
  catchup_vs_raw_per_round: number[];
  history_events: number;
  history_events_per_10k: number;
  /** Estimated Temporal Cloud billable actions of the (best) catch-up, in all and per 10,000 changes. */
  catchup_actions: number;
  catchup_actions_per_10k: number;
  catchup_activity_executions: number;
  catchup_actions_by_event: Record<string, number>;
  /** HTTP requests the worker made to CouchDB per change caught up, counted by a proxy in separate runs. */
  catchup_source_requests_per_change_1_partition: number;
  catchup_source_requests_per_change_2_partitions: number;
  catchup_source_requests_per_change_4_partitions: number;
  /** Those requests by kind (`_changes`, `_bulk_get`, `_all_docs`, other), per partition count. */
  catchup_source_requests_by_kind: Record<string, Record<string, number>>;
  /** Bytes the source sent (response bodies, all partitions together) per change caught up, in the same runs. */
  catchup_source_bytes_per_change_1_partition: number;
  catchup_source_bytes_per_change_2_partitions: number;
  catchup_source_bytes_per_change_4_partitions: number;
  partitions: number;
  catchup_1_worker_docs_per_s: number;
  catchup_2_workers_docs_per_s: number;
  /** Changes processed by each partition in the 2-worker run: they sum to the docs, each exactly once. */
  partition_processed: number[];
  /**
   * Partitions that add throughput: a pillow whose processor costs `cpu_bound_ms_per_doc` of CPU per
   * doc (`cpu_bound_rounds_per_doc` SHA-256 rounds, calibrated on this machine), catching up
   * `cpu_bound_docs` docs: 2 partitions on 1 worker process (the baseline), then 2 and 4 partitions
   * on 2 worker processes; each figure the best of its rounds (`cpu_bound_samples`).
   */
  cpu_bound_docs: number;
  cpu_bound_ms_per_doc: number;
  cpu_bound_rounds_per_doc: number;
  cpu_bound_2_partitions_1_worker_docs_per_s: number;
  cpu_bound_2_partitions_2_workers_docs_per_s: number;
  cpu_bound_4_partitions_2_workers_docs_per_s: number;
  /** 2 workers ÷ 1 worker (issue #13's target: ≥ 1.7 on 2 cores), with 2 and with 4 partitions. */
  cpu_bound_2_workers_vs_1_worker_2_partitions: number;
  cpu_bound_2_workers_vs_1_worker_4_partitions: number;
  /** Per setup (`2p1w`: 2 partitions on 1 worker, `2p2w`, `4p2w`), every round's docs/s. */
  cpu_bound_samples: Record<string, number[]>;
  /** Per setup and round: CPU cores the worker processes used on average (1 = one core). */
  cpu_bound_worker_cores: Record<string, (number | null)[]>;
  /** Per setup and round: cores the whole machine was busy on average (servers and other users included). */
  cpu_bound_machine_busy_cores: Record<string, (number | null)[]>;
  /**
   * Per setup and round: of the time two partitions both ran a slice, the share they ran it on the
   * same worker process, sharing its one JavaScript thread (Temporal hands a slice to whichever worker
   * polls first).
   */
  cpu_bound_colocated_share: Record<string, (number | null)[]>;
  /** Changes processed by each partition in the first 4-partition round: each doc exactly once. */
  cpu_bound_partition_processed: number[];
  /** `--search` only: the search processor's catch-up against a raw `_bulk` loop. */
  search?: SearchBenchResult;
  targets: Record<string, boolean>;
  total_seconds: number;
}

/** The targets, checked against one run's figures. */
export function checkTargets(r: Omit<BenchResult, 'targets'>): Record<string, boolean> {
  return {
    catchup_vs_raw_ge_1: r.catchup_vs_raw >= 1,
    catchup_vs_source_ge_0_85: r.catchup_vs_source >= 0.85,
    // issue #13: catch-up at the source's speed, within 5 %
    catchup_vs_source_ge_0_95: r.catchup_vs_source >= 0.95,
    follow_p50_le_200ms: r.follow_p50_ms <= 200,
    follow_p99_le_1s: r.follow_p99_ms <= 1000,
    worker_rss_le_300mb: r.worker_peak_rss_mb !== null && r.worker_peak_rss_mb <= 300,
    history_le_100_per_10k: r.history_events_per_10k <= 100,
    // issue #13: following costs O(1) per minute, at a quiet and a busy rate alike
    follow_history_events_le_600_per_pillow_hour:
      r.follow_slow_history_events_per_pillow_hour <= 600 && r.follow_history_events_per_pillow_hour <= 600,
    follow_activity_executions_le_120_per_pillow_hour:
      r.follow_slow_activity_executions_per_pillow_hour <= 120 && r.follow_activity_executions_per_pillow_hour <= 120,
    follow_slow_p50_le_200ms: r.follow_slow_p50_ms <= 200,
    follow_slow_p99_le_1s: r.follow_slow_p99_ms <= 1000,
    // issue #13: partitions add throughput where the work is CPU
    cpu_bound_2_workers_vs_1_ge_1_7:
      Math.max(r.cpu_bound_2_workers_vs_1_worker_2_partitions, r.cpu_bound_2_workers_vs_1_worker_4_partitions) >= 1.7,
    ...(r.search ? { search_vs_raw_ge_0_9: r.search.ratio >= 0.9 } : {}),
  };
}

export const round = (n: number, digits = 0) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);
