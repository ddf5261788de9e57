import nano from 'nano';
import { createPool } from '../src/postgres/pool';
import { DEFAULT_BATCH_SIZE } from '../src/config/pillow-definition';
import { benchServers } from './bench-servers';
import { benchClient, machineInfo } from './bench-client';
import { expectedAgeSum, loadDocs } from './bench-docs';
import { measureCatchup, stopPillow } from './catchup';
import { measureFollow } from './follow-latency';
import { rssMb, startWorkerProcess, type WorkerMemory, type WorkerProcess } from './worker-process';
import type { BenchPillowSpec } from './bench-pillow';
import { round } from './bench-result';

export interface MemoryRunOptions {
  docs: number;
  /** Docs per second written while the pillow follows. */
  rate: number;
  followSeconds: number;
  quick: boolean;
  env: NodeJS.ProcessEnv;
  progress: (line: string) => void;
}

/** One point of the memory curve: seconds since the pillow started, and the worker's memory in MB. */
export interface MemorySample {
  /** Seconds since the pillow was started. */
  s: number;
  phase: 'catch-up' | 'follow';
  rss: number;
  /** The main thread's V8 heap (used / reserved) and memory outside it (Buffers, native objects). */
  heapUsed: number | null;
  heapTotal: number | null;
  external: number | null;
}

/** The memory run's figures (`--memory`): the last line the bench prints, and what its chart is drawn from. */
export interface MemoryBenchResult {
  memory_run: true;
  quick: boolean;
  machine: { cpus: number; cpu_model: string; memory_gb: number; node: string; platform: string };
  batch_size: number;
  /** Docs caught up from checkpoint zero, and how fast. */
  memory_catchup_docs: number;
  memory_catchup_docs_per_s: number;
  memory_catchup_seconds: number;
  /** The following phase: docs written per second, for how long, and every one of them arrived. */
  memory_follow_rate: number;
  memory_follow_seconds: number;
  memory_follow_docs: number;
  memory_follow_missing: number;
  /** Worker RSS when ready, before any pillow ran. */
  memory_idle_rss_mb: number | null;
  /** Peak worker RSS while catching up, and while following (VmRSS sampled every 100 ms). */
  memory_catchup_peak_rss_mb: number | null;
  memory_follow_peak_rss_mb: number | null;
  /**
   * Growth while following after its first minute: the highest RSS of the last minute minus the
   * highest of the second (windows of a third of the phase when it is shorter than 3 minutes).
   */
  memory_follow_rss_growth_mb: number | null;
  /** Least-squares slope of RSS over the following phase after its first minute, MB per minute. */
  memory_follow_rss_slope_mb_per_min: number | null;
  /** Peak of the main thread's V8 heap in use (the worker's own report), catching up and following. */
  memory_catchup_peak_heap_used_mb: number | null;
  memory_follow_peak_heap_used_mb: number | null;
  /** Seconds between the points of `memory_samples`. */
  memory_sample_seconds: number;
  memory_samples: MemorySample[];
  targets: Record<string, boolean>;
  total_seconds: number;
}

/** The bound on the worker's RSS over the whole run. */
export const MEMORY_TARGET_MB = 250;
const SAMPLE_SECONDS = 2;
const MB = 1024 * 1024;

/**
 * The memory run: a fresh worker catches up `docs` from checkpoint zero, then follows the feed while
 * a writer adds `rate` docs a second for `followSeconds`; the worker's RSS (and its own split of heap
 * and external memory) is sampled all along. One round: memory, not speed, is what it measures.
 */
export async function runMemoryBench(opts: MemoryRunOptions): Promise<MemoryBenchResult> {
  const { progress } = opts;
  const began = performance.now();
  const servers = await benchServers(opts.env, progress);
  const run = `m${Date.now().toString(36)}`;
  const pool = createPool(servers.databaseUrl, 4);
  const { connection, client, writeBundle } = await benchClient(opts.env, servers);
  const db = `${run}_cases`;
  let worker: WorkerProcess | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const bundlePath = await writeBundle(progress);
    progress(`loading ${opts.docs} case docs into CouchDB ${db}…`);
    await nano(servers.couchUrl).db.create(db);
    await loadDocs(servers.couchUrl, db, opts.docs);

    const spec: BenchPillowSpec = {
      name: `${run}_memory`,
      db,
      table: `${run}_memory_rows`,
      partitions: 1,
      batchSize: DEFAULT_BATCH_SIZE,
    };
    const queue = `${run}-memory`;
    worker = await startWorkerProcess(
      {
        temporalAddress: servers.temporalAddress,
        namespace: servers.namespace,
        taskQueue: queue,
        couchUrl: servers.couchUrl,
        databaseUrl: servers.databaseUrl,
        bundlePath,
        pillows: [spec],
      },
      undefined,
      (SAMPLE_SECONDS * 1000) / 2,
    );
    const w = worker;
    const idle = rssMb(w.pid);
    const samples: MemorySample[] = [];
    let phase: MemorySample['phase'] = 'catch-up';
    const started = performance.now();
    const sample = () => {
      const rss = rssMb(w.pid);
      if (rss === null) return;
      const m: WorkerMemory | null = w.memory();
      samples.push({
        s: round((performance.now() - started) / 1000, 1),
        phase,
        rss: round(rss, 1),
        heapUsed: m ? round(m.heapUsed / MB, 1) : null,
        heapTotal: m ? round(m.heapTotal / MB, 1) : null,
        external: m ? round(m.external / MB, 1) : null,
      });
    };
    sample();
    sampler = setInterval(sample, SAMPLE_SECONDS * 1000);
    w.resetPeak();

    progress(`catching up ${opts.docs} docs from checkpoint zero…`);
    const catchup = await measureCatchup({
      client,
      pool,
      taskQueue: queue,
      couchUrl: servers.couchUrl,
      spec,
      docs: opts.docs,
      expectedAgeSum: expectedAgeSum(opts.docs),
      timeoutMs: Math.max(120_000, (opts.docs / 100) * 1000),
      progress,
    });
    sample();
    const catchupPeak = w.peakRssMb();
    progress(
      `  ${Math.round(catchup.docsPerSecond)} docs/s (${catchup.seconds.toFixed(1)} s), worker peak RSS ${catchupPeak?.toFixed(0)} MB`,
    );

    phase = 'follow';
    w.resetPeak();
    const followFrom = (performance.now() - started) / 1000;
    progress(
      `following: writing ${opts.rate} docs/s for ${opts.followSeconds} s, sampling RSS every ${SAMPLE_SECONDS} s…`,
    );
    const follow = await measureFollow({
      pool,
      couchUrl: servers.couchUrl,
      db,
      table: spec.table,
      rate: opts.rate,
      seconds: opts.followSeconds,
      firstId: opts.docs,
      progress,
    });
    sample();
    clearInterval(sampler);
    const followPeak = w.peakRssMb();
    const following = samples.filter((x) => x.phase === 'follow').map((x) => ({ ...x, s: x.s - followFrom }));
    const growth = growthAfterFirstMinute(following, opts.followSeconds);
    progress(
      `  worker peak RSS ${followPeak?.toFixed(0)} MB while following; growth after the first minute ${growth.growthMb?.toFixed(1)} MB (${growth.slopeMbPerMin?.toFixed(2)} MB/min)`,
    );
    await stopPillow(client, spec, progress);

    const peakOf = (list: MemorySample[], f: (x: MemorySample) => number | null) =>
      list.reduce<number | null>((a, x) => (f(x) === null ? a : Math.max(a ?? 0, f(x)!)), null);
    const catchupSamples = samples.filter((x) => x.phase === 'catch-up');
    const followSamples = samples.filter((x) => x.phase === 'follow');
    const figures: Omit<MemoryBenchResult, 'targets'> = {
      memory_run: true,
      quick: opts.quick,
      machine: machineInfo(),
      batch_size: DEFAULT_BATCH_SIZE,
      memory_catchup_docs: opts.docs,
      memory_catchup_docs_per_s: round(catchup.docsPerSecond),
      memory_catchup_seconds: round(catchup.seconds, 1),
      memory_follow_rate: opts.rate,
      memory_follow_seconds: opts.followSeconds,
      memory_follow_docs: follow.docs,
      memory_follow_missing: follow.missing,
      memory_idle_rss_mb: idle === null ? null : round(idle),
      memory_catchup_peak_rss_mb: catchupPeak === null ? null : round(catchupPeak),
      memory_follow_peak_rss_mb: followPeak === null ? null : round(followPeak),
      memory_follow_rss_growth_mb: growth.growthMb === null ? null : round(growth.growthMb, 1),
      memory_follow_rss_slope_mb_per_min: growth.slopeMbPerMin === null ? null : round(growth.slopeMbPerMin, 2),
      memory_catchup_peak_heap_used_mb: peakOf(catchupSamples, (x) => x.heapUsed),
      memory_follow_peak_heap_used_mb: peakOf(followSamples, (x) => x.heapUsed),
      memory_sample_seconds: SAMPLE_SECONDS,
      memory_samples: samples,
      total_seconds: round((performance.now() - began) / 1000),
    };
    return { ...figures, targets: memoryTargets(figures) };
  } finally {
    clearInterval(sampler);
    await worker?.stop().catch(() => undefined);
    await connection.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await nano(servers.couchUrl)
      .db.destroy(db)
      .catch(() => undefined);
    await servers.stop();
  }
}

/**
 * How much the RSS grew while following, after the first minute: the highest sample of the last
 * window minus the highest of the window right after the first minute (a minute each; a third of the
 * phase when it is shorter than 3 minutes), so that the GC's sawtooth does not read as growth; and
 * the least-squares slope of all samples after the first window start.
 */
export function growthAfterFirstMinute(
  samples: { s: number; rss: number }[],
  seconds: number,
): { growthMb: number | null; slopeMbPerMin: number | null } {
  const window = Math.min(60, seconds / 3);
  const max = (from: number, to: number) =>
    samples.filter((x) => x.s >= from && x.s <= to).reduce<number | null>((a, x) => Math.max(a ?? 0, x.rss), null);
  const second = max(window, 2 * window);
  const last = max(seconds - window, Infinity);
  const after = samples.filter((x) => x.s >= window);
  let slopeMbPerMin: number | null = null;
  if (after.length >= 2) {
    const mx = after.reduce((a, x) => a + x.s, 0) / after.length;
    const my = after.reduce((a, x) => a + x.rss, 0) / after.length;
    const sxx = after.reduce((a, x) => a + (x.s - mx) ** 2, 0);
    const sxy = after.reduce((a, x) => a + (x.s - mx) * (x.rss - my), 0);
    slopeMbPerMin = sxx > 0 ? (sxy / sxx) * 60 : null;
  }
  return { growthMb: second === null || last === null ? null : last - second, slopeMbPerMin };
}

/** Issue #13's memory target: under 250 MB throughout, no growth after the first minute (within 5 MB). */
export function memoryTargets(r: Omit<MemoryBenchResult, 'targets'>): Record<string, boolean> {
  const peak = Math.max(r.memory_catchup_peak_rss_mb ?? Infinity, r.memory_follow_peak_rss_mb ?? Infinity);
  return {
    memory_rss_under_250mb: peak < MEMORY_TARGET_MB,
    memory_no_growth_after_first_minute: r.memory_follow_rss_growth_mb !== null && r.memory_follow_rss_growth_mb <= 5,
  };
}
