/**
 * Whether partitions add throughput: a pillow whose processor costs CPU (about `msPerDoc` of real
 * work per doc, see cpu-cost.ts), with 2 partitions, catching up on one worker process, then on two,
 * in interleaved rounds on a database of its own. On one process both partitions share one
 * JavaScript thread; on two, each can have a core.
 */
import { readFileSync } from 'node:fs';
import nano from 'nano';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { expectedAgeSum, loadDocs } from './bench-docs';
import { calibrateRounds } from './cpu-cost';
import { measureCatchup, stopPillow, workflowIds, type CatchupResult } from './catchup';
import { colocatedShare, sliceSpans } from './slice-placement';
import type { BenchPillowSpec } from './bench-pillow';
import type { WorkerProcess } from './worker-process';

export interface CpuBoundOptions {
  client: Client;
  pool: Pool;
  couchUrl: string;
  /** The run's prefix for databases, tables and task queues. */
  run: string;
  docs: number;
  msPerDoc: number;
  rounds: number;
  batchSize: number;
  startWorkers(count: number, taskQueue: string, pillows: BenchPillowSpec[]): Promise<WorkerProcess[]>;
  stopWorkers(list: WorkerProcess[]): Promise<void>;
  progress: (line: string) => void;
}

export interface CpuBoundRound {
  workers: number;
  partitions: number;
  docsPerSecond: number;
  seconds: number;
  /** CPU cores the worker processes used on average over the catch-up (1 = one core). */
  workerCores: number | null;
  /** Cores the whole machine was busy on average (everything: servers, workers, other users). */
  machineBusyCores: number | null;
  processedPerPartition: number[];
  /** Of the time two partitions both ran a slice, the share on the same worker process (see slice-placement.ts). */
  colocatedShare: number | null;
}

export interface CpuBoundResult {
  docs: number;
  msPerDoc: number;
  roundsPerDoc: number;
  /** Every round of every setup, in the order run. */
  rounds: CpuBoundRound[];
}

/** Workers and partitions of each measured setup: the baseline, then what the second worker adds. */
export const CPU_BOUND_SETUPS = [
  { workers: 1, partitions: 2 },
  { workers: 2, partitions: 2 },
  { workers: 2, partitions: 4 },
] as const;

export async function cpuBoundPhase(o: CpuBoundOptions): Promise<CpuBoundResult> {
  const db = `${o.run}_cpu`;
  const roundsPerDoc = calibrateRounds(o.msPerDoc);
  o.progress(
    `CPU-bound partitions: ${o.docs} docs, ${o.msPerDoc} ms of CPU per doc (${roundsPerDoc} SHA-256 rounds), ${CPU_BOUND_SETUPS.map((x) => `${x.partitions} partitions on ${x.workers} worker(s)`).join(', ')}…`,
  );
  await nano(o.couchUrl).db.create(db);
  try {
    await loadDocs(o.couchUrl, db, o.docs);
    const ageSum = expectedAgeSum(o.docs);
    const rounds: CpuBoundRound[] = [];
    for (let r = 0; r < o.rounds; r++) {
      for (const { workers, partitions } of CPU_BOUND_SETUPS) {
        const spec: BenchPillowSpec = {
          name: `${o.run}_cpu${workers}w${partitions}p${r + 1}`,
          db,
          table: `${o.run}_cpu${workers}w${partitions}p${r + 1}_rows`,
          partitions,
          batchSize: o.batchSize,
          cpuRoundsPerDoc: roundsPerDoc,
        };
        const queue = `${o.run}-${spec.name}`;
        const list = await o.startWorkers(workers, queue, [spec]);
        const cpuBefore = list.map((w) => w.cpuSeconds());
        const busyBefore = machineBusySeconds();
        const wallBefore = performance.now();
        const result: CatchupResult = await measureCatchup({
          client: o.client,
          pool: o.pool,
          taskQueue: queue,
          couchUrl: o.couchUrl,
          spec,
          docs: o.docs,
          expectedAgeSum: ageSum,
          timeoutMs: Math.max(120_000, o.docs * o.msPerDoc * 4),
          progress: o.progress,
        });
        const wall = (performance.now() - wallBefore) / 1000;
        const cpuAfter = list.map((w) => w.cpuSeconds());
        const busyAfter = machineBusySeconds();
        const workerCpu = cpuAfter.every((c, i) => c !== null && cpuBefore[i] !== null)
          ? cpuAfter.reduce((sum: number, c, i) => sum + (c! - cpuBefore[i]!), 0)
          : null;
        const spans = await Promise.all(
          workflowIds(spec).map(async (id) =>
            sliceSpans((await o.client.workflow.getHandle(id).fetchHistory()).events ?? []),
          ),
        );
        const round: CpuBoundRound = {
          workers,
          partitions,
          docsPerSecond: result.docsPerSecond,
          seconds: result.seconds,
          // over the whole measured span (startup included), so these are a little low
          workerCores: workerCpu === null ? null : workerCpu / wall,
          machineBusyCores: busyBefore === null || busyAfter === null ? null : (busyAfter - busyBefore) / wall,
          processedPerPartition: result.processedPerPartition,
          colocatedShare: workers > 1 ? colocatedShare(spans) : 1,
        };
        rounds.push(round);
        o.progress(
          `  ${partitions} partitions on ${workers} worker(s): ${Math.round(result.docsPerSecond)} docs/s (${result.seconds.toFixed(1)} s), workers ${round.workerCores?.toFixed(2)} cores, machine ${round.machineBusyCores?.toFixed(2)} cores busy, per partition ${result.processedPerPartition}, partitions on the same worker ${round.colocatedShare === null ? '?' : Math.round(round.colocatedShare * 100)} % of the time`,
        );
        await stopPillow(o.client, spec, o.progress);
        await o.stopWorkers(list);
      }
    }
    return { docs: o.docs, msPerDoc: o.msPerDoc, roundsPerDoc, rounds };
  } finally {
    await nano(o.couchUrl)
      .db.destroy(db)
      .catch(() => undefined);
  }
}

/** CPU seconds the whole machine has been busy (all cores, every process), from /proc/stat; null elsewhere. */
function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    // user nice system idle iowait irq softirq, in USER_HZ (100) ticks
    const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq) / 100;
  } catch {
    return null;
  }
}
