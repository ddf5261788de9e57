import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BenchWorkerConfig } from './bench-worker';
import { WORKER_NODE_OPTIONS } from '../src/worker/worker-memory';

export interface WorkerProcess {
  pid: number;
  /** Peak resident memory (MB) sampled since the last `resetPeak`; null where /proc is missing. */
  peakRssMb(): number | null;
  resetPeak(): void;
  /** CPU time (user + system, seconds) the process has used so far; null where /proc is missing. */
  cpuSeconds(): number | null;
  /** The worker's latest own report of its memory (with `memoryReportMs` only), in bytes. */
  memory(): WorkerMemory | null;
  stop(): Promise<void>;
}

/** `process.memoryUsage()` of the worker: the V8 heap of its main thread, memory held outside it, RSS. */
export interface WorkerMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

const SAMPLE_MS = 100;

/** Current RSS of a process in MB, from /proc (Linux); null elsewhere. */
export function rssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

// the kernel's clock ticks per second (USER_HZ): 100 on every Linux Node runs on
const CLOCK_TICKS = 100;

/** CPU time (user + system, seconds) of a process from /proc (Linux); null elsewhere. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces: the fields after it start past its closing paren
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * Starts a bench worker as a child process the way `bin/pillowtop` runs (tsx/cjs, with the Node
 * options of the Docker image), waits for its
 * `ready`, and samples its RSS. `PILLOWTOP_BENCH_CPU_PROF=<dir>` writes V8 CPU profiles of it there.
 */
export async function startWorkerProcess(
  config: BenchWorkerConfig,
  logFile?: (line: string) => void,
  /** Have the worker report `process.memoryUsage()` this often (the memory run). */
  memoryReportMs?: number,
): Promise<WorkerProcess> {
  const entry = path.join(__dirname, 'bench-worker.ts');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.PILLOWTOP_BENCH_CPU_PROF
        ? ['--cpu-prof', '--cpu-prof-dir', process.env.PILLOWTOP_BENCH_CPU_PROF]
        : []),
      // the Node options the worker is deployed with (the Docker image sets them in NODE_OPTIONS)
      ...WORKER_NODE_OPTIONS,
      '--require',
      'tsx/cjs',
      entry,
    ],
    {
      env: {
        // as the Docker image runs the worker (see Dockerfile); an explicit setting wins
        MALLOC_ARENA_MAX: '2',
        ...process.env,
        PILLOWTOP_BENCH_WORKER: JSON.stringify(config),
        PILLOWTOP_LOG_LEVEL: 'warn',
        ...(memoryReportMs ? { PILLOWTOP_BENCH_MEMORY_MS: String(memoryReportMs) } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    logFile?.(d.toString());
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let memory: WorkerMemory | null = null;
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') resolve();
        else if (line.startsWith('memory ')) memory = JSON.parse(line.slice('memory '.length)) as WorkerMemory;
      }
    });
    void exited.then(() => reject(new Error(`bench worker exited while starting: ${stderr.trim().split('\n').pop()}`)));
  });
  let peak: number | null = null;
  const sample = () => {
    const now = rssMb(child.pid!);
    if (now !== null && (peak === null || now > peak)) peak = now;
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);
  return {
    pid: child.pid!,
    peakRssMb: () => (sample(), peak),
    cpuSeconds: () => cpuSeconds(child.pid!),
    memory: () => memory,
    resetPeak: () => {
      peak = null;
      sample();
    },
    async stop() {
      clearInterval(timer);
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const hard = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(hard);
      }
    },
  };
}
