import nano from 'nano';
import type { Pool } from 'pg';
import { createPool } from '../src/postgres/pool';
import { quoteIdent } from '../src/postgres/identifiers';
import { DEFAULT_BATCH_SIZE } from '../src/config/pillow-definition';
import { benchServers } from './bench-servers';
import { benchClient, machineInfo } from './bench-client';
import { expectedAgeSum, loadDocs } from './bench-docs';
import { rawLoop, sourceLimit, type LoopResult } from './baselines';
import { measureCatchup, stopPillow, type CatchupResult } from './catchup';
import { followPhase, type FollowPhaseResult } from './follow-phase';
import { startCountingProxy } from './counting-proxy';
import { cpuBoundPhase, type CpuBoundRound } from './cpu-bound-phase';
import { startWorkerProcess, type WorkerProcess } from './worker-process';
import type { BenchPillowSpec } from './bench-pillow';
import type { BenchWorkerConfig } from './bench-worker';
import { checkTargets, round, type BenchResult } from './bench-result';
import { runSearchBench, searchServer, type SearchBenchResult, type SearchServer } from './search-bench';

export interface BenchOptions {
  docs: number;
  rate: number;
  /** The slow following phase's rate (a quiet feed), before the one at `rate`. */
  slowRate: number;
  followSeconds: number;
  /** Rounds of source limit, raw loop and catch-up; each figure is the best round. */
  repeat: number;
  quick: boolean;
  /** Docs of the CPU-bound partition phase, and the CPU each costs its processor. */
  cpuDocs: number;
  cpuMsPerDoc: number;
  /** Also measure the search processor against a raw `_bulk` loop (`--search`; needs OpenSearch). */
  search?: boolean;
  env: NodeJS.ProcessEnv;
  progress: (line: string) => void;
}

/** Runs every measurement of the bench on one set of servers and returns the figures. */
export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const { progress } = opts;
  const began = performance.now();
  const servers = await benchServers(opts.env, progress);
  const run = `b${Date.now().toString(36)}`;
  const pool = createPool(servers.databaseUrl, 4);
  const { connection, client, writeBundle } = await benchClient(opts.env, servers);
  const db = `${run}_cases`;
  const workers: WorkerProcess[] = [];
  let search: SearchServer | undefined;
  try {
    if (opts.search) search = await searchServer(opts.env, servers.dir, progress);
    const bundlePath = await writeBundle(progress);
    const spec = (name: string, partitions: number): BenchPillowSpec => ({
      name: `${run}_${name}`,
      db,
      table: `${run}_${name}_rows`,
      partitions,
      batchSize: DEFAULT_BATCH_SIZE,
    });
    const part1 = spec('p1w', 2);
    const part2 = spec('p2w', 2);
    const workerConfig = (taskQueue: string, pillows: BenchPillowSpec[], couchUrl: string): BenchWorkerConfig => ({
      temporalAddress: servers.temporalAddress,
      namespace: servers.namespace,
      taskQueue,
      couchUrl,
      databaseUrl: servers.databaseUrl,
      bundlePath,
      pillows,
    });
    const startWorkers = async (
      count: number,
      taskQueue: string,
      pillows: BenchPillowSpec[],
      couchUrl = servers.couchUrl,
    ) => {
      const started = await Promise.all(
        Array.from({ length: count }, () => startWorkerProcess(workerConfig(taskQueue, pillows, couchUrl))),
      );
      workers.push(...started);
      return started;
    };
    const stopWorkers = async (list: WorkerProcess[]) => {
      await Promise.all(list.map((w) => w.stop()));
      for (const w of list) workers.splice(workers.indexOf(w), 1);
    };

    progress(`loading ${opts.docs} case docs into CouchDB ${db}…`);
    await nano(servers.couchUrl).db.create(db);
    const loadStart = performance.now();
    await loadDocs(servers.couchUrl, db, opts.docs);
    const loadRate = opts.docs / ((performance.now() - loadStart) / 1000);
    progress(`  ${Math.round(loadRate)} docs/s`);
    const ageSum = expectedAgeSum(opts.docs);

    // one unmeasured pass first, so every measurement below reads a warm database
    progress('warming up: reading the feed once…');
    await sourceLimit(servers.couchUrl, db);
    // the machine may be shared: each figure is the best of `repeat` interleaved rounds, so that all
    // three meet the same conditions; every sample is in the JSON
    const catchupTimeout = Math.max(120_000, (opts.docs / 100) * 1000);
    const rounds = Array.from({ length: opts.repeat }, (_, r) => spec(`pillow${r + 1}`, 1));
    const main = rounds[rounds.length - 1];
    let worker!: WorkerProcess;
    const sources: LoopResult[] = [];
    const raws: LoopResult[] = [];
    const catchups: CatchupResult[] = [];
    let catchupRss: number | null = null;
    for (const [r, pillowSpec] of rounds.entries()) {
      const of = opts.repeat > 1 ? ` (round ${r + 1} of ${opts.repeat})` : '';
      progress(`source limit: reading the whole feed with include_docs, batches of 1,000${of}…`);
      const source = await sourceLimit(servers.couchUrl, db);
      sources.push(source);
      progress(`  ${Math.round(source.docsPerSecond)} docs/s (${source.seconds.toFixed(1)} s)`);

      progress(`raw loop: read 1,000, one multi-row upsert, next${of}…`);
      const raw = await rawLoop(servers.couchUrl, db, pool, `${run}_raw${r + 1}_rows`);
      raws.push(raw);
      progress(`  ${Math.round(raw.docsPerSecond)} docs/s (${raw.seconds.toFixed(1)} s)`);

      progress(`pillow catch-up: a new worker process, from checkpoint zero${of}…`);
      // a fresh worker each round: its peak memory is that of one catch-up of all the docs
      const queue = `${run}-${pillowSpec.name}`;
      [worker] = await startWorkers(1, queue, [pillowSpec]);
      worker.resetPeak();
      const catchup = await measureCatchup({
        client,
        pool,
        taskQueue: queue,
        couchUrl: servers.couchUrl,
        spec: pillowSpec,
        docs: opts.docs,
        expectedAgeSum: ageSum,
        timeoutMs: catchupTimeout,
        progress,
      });
      catchups.push(catchup);
      const rss = worker.peakRssMb();
      if (rss !== null) catchupRss = Math.max(catchupRss ?? 0, rss);
      progress(
        `  ${Math.round(catchup.docsPerSecond)} docs/s (${catchup.seconds.toFixed(1)} s after ${catchup.startupSeconds.toFixed(1)} s of startup), ${catchup.historyEvents} history events, worker peak RSS ${rss?.toFixed(0)} MB`,
      );
      // only the last round's pillow keeps following, for the latency measurement
      if (pillowSpec !== main) {
        await stopPillow(client, pillowSpec, progress);
        await stopWorkers([worker]);
      }
    }
    const best = <T extends { docsPerSecond: number }>(list: T[]) =>
      list.reduce((a, b) => (b.docsPerSecond > a.docsPerSecond ? b : a));
    const source = best(sources);
    const raw = best(raws);
    const catchup = best(catchups);

    let searchResult: SearchBenchResult | undefined;
    if (search) {
      searchResult = await runSearchBench({
        client,
        pool,
        couchUrl: servers.couchUrl,
        searchUrl: search.url,
        searchOrigin: search.origin,
        db,
        docs: opts.docs,
        batchSize: DEFAULT_BATCH_SIZE,
        repeat: opts.repeat,
        run,
        startWorker: async (queue, s) => (await startWorkers(1, queue, [s]))[0],
        stopWorker: (w) => stopWorkers([w]),
        timeoutMs: catchupTimeout,
        progress,
      });
      progress(
        `  search: ${searchResult.docsPerSecond} docs/s, raw loop ${searchResult.rawDocsPerSecond} docs/s (${searchResult.ratio}×), OpenSearch peak RSS ${searchResult.opensearchRssMb} MB`,
      );
    }

    const follows: FollowPhaseResult[] = [];
    for (const rate of [opts.slowRate, opts.rate]) {
      progress(`follow latency and cost: writing ${rate} docs/s for ${opts.followSeconds} s…`);
      const phase = await followPhase(client, main, worker, {
        pool,
        couchUrl: servers.couchUrl,
        db,
        table: main.table,
        rate,
        seconds: opts.followSeconds,
        firstId: opts.docs + follows.reduce((n, f) => n + f.docs, 0),
        progress,
      });
      follows.push(phase);
      const hour = phase.perPillowHour;
      progress(
        `  p50 ${phase.p50Ms} ms, p95 ${phase.p95Ms} ms, p99 ${phase.p99Ms} ms over ${phase.docs} docs (${phase.missing} missing); per pillow-hour ${Math.round(hour.events)} history events, ${Math.round(hour.activityExecutions)} activity executions, ${Math.round(hour.actions)} actions; worker CPU ${phase.workerCpuShare === null ? '?' : (phase.workerCpuShare * 100).toFixed(1)} %`,
      );
    }
    const [slow, follow] = follows;
    const followRss = worker.peakRssMb();
    await stopPillow(client, main, progress);
    await stopWorkers([worker]);

    // the partitioned runs see the docs written by the follow phase too
    const partitionedDocs = opts.docs + slow.docs + follow.docs;
    const partitionedAgeSum = expectedAgeSum(partitionedDocs);
    const partitioned = async (count: number, s: BenchPillowSpec): Promise<CatchupResult> => {
      const q = `${run}-${s.name}`;
      const list = await startWorkers(count, q, [s]);
      progress(`partitioned catch-up: ${s.partitions} partitions on ${count} worker process(es)…`);
      const result = await measureCatchup({
        client,
        pool,
        taskQueue: q,
        couchUrl: servers.couchUrl,
        spec: s,
        docs: partitionedDocs,
        expectedAgeSum: partitionedAgeSum,
        timeoutMs: catchupTimeout * 2,
        progress,
      });
      progress(`  ${Math.round(result.docsPerSecond)} docs/s, processed per partition ${result.processedPerPartition}`);
      await stopPillow(client, s, progress);
      await stopWorkers(list);
      return result;
    };
    const one = await partitioned(1, part1);
    const two = await partitioned(2, part2);

    // partitions that add throughput: a processor whose cost is CPU, 2 partitions on 1 and on 2 workers
    const cpu = await cpuBoundPhase({
      client,
      pool,
      couchUrl: servers.couchUrl,
      run,
      docs: opts.cpuDocs,
      msPerDoc: opts.cpuMsPerDoc,
      rounds: opts.quick ? 1 : 2,
      batchSize: DEFAULT_BATCH_SIZE,
      startWorkers: (count, queue, pillows) => startWorkers(count, queue, pillows),
      stopWorkers,
      progress,
    });
    // per setup (`<partitions>p<workers>w`): every round, and the best
    const cpuSetups = new Map<string, CpuBoundRound[]>();
    for (const x of cpu.rounds) {
      const key = `${x.partitions}p${x.workers}w`;
      cpuSetups.set(key, [...(cpuSetups.get(key) ?? []), x]);
    }
    const bestOf = (key: string) =>
      (cpuSetups.get(key) ?? []).reduce((a, b) => (b.docsPerSecond > a.docsPerSecond ? b : a));
    const perSetup = <T>(f: (x: CpuBoundRound) => T) =>
      Object.fromEntries([...cpuSetups].map(([k, list]) => [k, list.map(f)]));
    const cpuBase = bestOf('2p1w');
    const cpuTwo = bestOf('2p2w');
    const cpuFour = bestOf('4p2w');

    // requests to the source per change: the same catch-up through a counting proxy, apart from the
    // runs above so that the proxy's own cost stays out of their throughput
    const proxy = await startCountingProxy(servers.couchUrl);
    const sourceRequests: Record<string, number> = {};
    const sourceRequestKinds: Record<string, Record<string, number>> = {};
    const sourceBytes: Record<string, number> = {};
    try {
      for (const partitions of [1, 2, 4]) {
        const s = spec(`req${partitions}p`, partitions);
        const q = `${run}-${s.name}`;
        const list = await startWorkers(1, q, [s], proxy.url);
        progress(`source requests: ${partitions} partition(s) on 1 worker process, through a counting proxy…`);
        proxy.reset();
        await measureCatchup({
          client,
          pool,
          taskQueue: q,
          couchUrl: proxy.url,
          spec: s,
          docs: partitionedDocs,
          expectedAgeSum: partitionedAgeSum,
          timeoutMs: catchupTimeout * 2,
          progress,
        });
        const counted = proxy.counts();
        sourceRequests[partitions] = counted.total / partitionedDocs;
        sourceRequestKinds[partitions] = counted.byKind;
        sourceBytes[partitions] = counted.bytes / partitionedDocs;
        progress(
          `  ${counted.total} requests for ${partitionedDocs} changes (${JSON.stringify(counted.byKind)}): ${(counted.total / partitionedDocs).toFixed(4)} per change, ${Math.round(counted.bytes / partitionedDocs)} bytes per change`,
        );
        await stopPillow(client, s, progress);
        await stopWorkers(list);
      }
    } finally {
      await proxy.close();
    }

    const figures: Omit<BenchResult, 'targets'> = {
      quick: opts.quick,
      docs: opts.docs,
      batch_size: DEFAULT_BATCH_SIZE,
      machine: machineInfo(),
      servers: servers.started.length ? `started by the bench: ${servers.started.join(', ')}` : 'given by env',
      load_docs_per_s: round(loadRate),
      source_limit_docs_per_s: round(source.docsPerSecond),
      raw_loop_docs_per_s: round(raw.docsPerSecond),
      catchup_docs_per_s: round(catchup.docsPerSecond),
      catchup_seconds: round(catchup.seconds, 2),
      catchup_startup_seconds: round(catchup.startupSeconds, 2),
      catchup_vs_raw: round(catchup.docsPerSecond / raw.docsPerSecond, 2),
      catchup_vs_source: round(catchup.docsPerSecond / source.docsPerSecond, 2),
      follow_slow_rate_target: opts.slowRate,
      follow_slow_rate_actual: round(slow.actualRate, 2),
      follow_slow_seconds: round(slow.seconds, 1),
      follow_slow_docs: slow.docs,
      follow_slow_missing: slow.missing,
      follow_slow_p50_ms: slow.p50Ms,
      follow_slow_p99_ms: slow.p99Ms,
      follow_slow_history_events_per_pillow_hour: round(slow.perPillowHour.events),
      follow_slow_activity_executions_per_pillow_hour: round(slow.perPillowHour.activityExecutions),
      follow_slow_actions_per_pillow_hour: round(slow.perPillowHour.actions),
      follow_slow_heartbeats_per_pillow_hour_estimated: round(slow.perPillowHour.heartbeats),
      follow_slow_cancel_checks_per_pillow_hour_estimated: round(slow.perPillowHour.cancelChecks),
      follow_slow_worker_cpu_share: slow.workerCpuShare === null ? null : round(slow.workerCpuShare, 4),
      follow_slow_actions_by_event: slow.cost.actionsByEvent,
      follow_rate_target: opts.rate,
      follow_rate_actual: round(follow.actualRate),
      follow_docs: follow.docs,
      follow_missing: follow.missing,
      follow_p50_ms: follow.p50Ms,
      follow_p95_ms: follow.p95Ms,
      follow_p99_ms: follow.p99Ms,
      follow_max_ms: follow.maxMs,
      follow_seconds: round(follow.seconds, 1),
      follow_history_events_per_pillow_hour: round(follow.perPillowHour.events),
      follow_activity_executions_per_pillow_hour: round(follow.perPillowHour.activityExecutions),
      follow_actions_per_pillow_hour: round(follow.perPillowHour.actions),
      follow_heartbeats_per_pillow_hour_estimated: round(follow.perPillowHour.heartbeats),
      follow_cancel_checks_per_pillow_hour_estimated: round(follow.perPillowHour.cancelChecks),
      follow_worker_cpu_share: follow.workerCpuShare === null ? null : round(follow.workerCpuShare, 4),
      follow_actions_by_event: follow.cost.actionsByEvent,
      worker_peak_rss_mb: catchupRss === null ? null : round(catchupRss as number),
      worker_peak_rss_mb_follow: followRss === null ? null : round(followRss),
      source_limit_samples: sources.map((x) => round(x.docsPerSecond)),
      raw_loop_samples: raws.map((x) => round(x.docsPerSecond)),
      catchup_samples: catchups.map((x) => round(x.docsPerSecond)),
      catchup_vs_source_per_round: catchups.map((x, i) => round(x.docsPerSecond / sources[i].docsPerSecond, 2)),
      catchup_vs_raw_per_round: catchups.map((x, i) => round(x.docsPerSecond / raws[i].docsPerSecond, 2)),
      history_events: catchup.historyEvents,
      history_events_per_10k: round((catchup.historyEvents / opts.docs) * 10_000, 1),
      catchup_actions: catchup.cost.actions,
      catchup_actions_per_10k: round((catchup.cost.actions / opts.docs) * 10_000, 1),
      catchup_activity_executions: catchup.cost.activityExecutions,
      catchup_actions_by_event: catchup.cost.actionsByEvent,
      catchup_source_requests_per_change_1_partition: round(sourceRequests[1], 4),
      catchup_source_requests_per_change_2_partitions: round(sourceRequests[2], 4),
      catchup_source_requests_per_change_4_partitions: round(sourceRequests[4], 4),
      catchup_source_requests_by_kind: sourceRequestKinds,
      catchup_source_bytes_per_change_1_partition: round(sourceBytes[1]),
      catchup_source_bytes_per_change_2_partitions: round(sourceBytes[2]),
      catchup_source_bytes_per_change_4_partitions: round(sourceBytes[4]),
      partitions: part2.partitions,
      catchup_1_worker_docs_per_s: round(one.docsPerSecond),
      catchup_2_workers_docs_per_s: round(two.docsPerSecond),
      partition_processed: two.processedPerPartition,
      cpu_bound_docs: cpu.docs,
      cpu_bound_ms_per_doc: cpu.msPerDoc,
      cpu_bound_rounds_per_doc: cpu.roundsPerDoc,
      cpu_bound_2_partitions_1_worker_docs_per_s: round(cpuBase.docsPerSecond),
      cpu_bound_2_partitions_2_workers_docs_per_s: round(cpuTwo.docsPerSecond),
      cpu_bound_4_partitions_2_workers_docs_per_s: round(cpuFour.docsPerSecond),
      cpu_bound_2_workers_vs_1_worker_2_partitions: round(cpuTwo.docsPerSecond / cpuBase.docsPerSecond, 2),
      cpu_bound_2_workers_vs_1_worker_4_partitions: round(cpuFour.docsPerSecond / cpuBase.docsPerSecond, 2),
      cpu_bound_samples: perSetup((x) => round(x.docsPerSecond)),
      cpu_bound_worker_cores: perSetup((x) => (x.workerCores === null ? null : round(x.workerCores, 2))),
      cpu_bound_machine_busy_cores: perSetup((x) =>
        x.machineBusyCores === null ? null : round(x.machineBusyCores, 2),
      ),
      cpu_bound_colocated_share: perSetup((x) => (x.colocatedShare === null ? null : round(x.colocatedShare, 2))),
      cpu_bound_partition_processed: perSetup((x) => x.processedPerPartition)['4p2w']?.[0] ?? [],
      ...(searchResult ? { search: searchResult } : {}),
      total_seconds: round((performance.now() - began) / 1000),
    };
    progress(
      `partitions: CPU-bound pillow (${cpu.msPerDoc} ms/doc): 2 partitions on 1 worker ${figures.cpu_bound_2_partitions_1_worker_docs_per_s} docs/s; on 2 workers, 2 partitions ${figures.cpu_bound_2_partitions_2_workers_docs_per_s} docs/s (${figures.cpu_bound_2_workers_vs_1_worker_2_partitions}×), 4 partitions ${figures.cpu_bound_4_partitions_2_workers_docs_per_s} docs/s (${figures.cpu_bound_2_workers_vs_1_worker_4_partitions}×)`,
    );
    progress(
      `cost: catch-up ${figures.history_events_per_10k} history events and ${figures.catchup_actions_per_10k} actions per 10,000 changes, ${figures.catchup_source_requests_per_change_1_partition} / ${figures.catchup_source_requests_per_change_2_partitions} / ${figures.catchup_source_requests_per_change_4_partitions} source requests per change (1 / 2 / 4 partitions)`,
    );
    for (const [label, f] of [
      [`${opts.slowRate}/s`, slow],
      [`${opts.rate}/s`, follow],
    ] as const)
      progress(
        `cost: following at ${label}, per pillow-hour: ${Math.round(f.perPillowHour.events)} history events, ${Math.round(f.perPillowHour.activityExecutions)} activity executions, ${Math.round(f.perPillowHour.actions)} actions; about ${Math.round(f.perPillowHour.heartbeats)} heartbeats and ${Math.round(f.perPillowHour.cancelChecks)} cancel checks (describes)`,
      );
    return { ...figures, targets: checkTargets(figures) };
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await connection.close().catch(() => undefined);
    if (opts.env.DATABASE_URL) await dropTables(pool, run).catch(() => undefined);
    await pool.end().catch(() => undefined);
    await nano(servers.couchUrl)
      .db.destroy(db)
      .catch(() => undefined);
    await search?.stop().catch(() => undefined);
    await servers.stop();
  }
}

/** On a database the bench was given, it leaves nothing of its own behind. */
async function dropTables(pool: Pool, run: string): Promise<void> {
  const { rows } = await pool.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND starts_with(tablename, $1)`,
    [`${run}_`],
  );
  for (const r of rows) await pool.query(`DROP TABLE IF EXISTS ${quoteIdent(r.tablename)}`);
  await pool.query(`DELETE FROM pillowtop_checkpoints WHERE starts_with(pillow, $1)`, [`${run}_`]);
}
