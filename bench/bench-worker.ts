/**
 * A worker process for the bench, so its memory is measured on its own: runs the bench's pillows
 * from `PILLOWTOP_BENCH_WORKER` (JSON) with a prebuilt workflow bundle, prints `ready` on stdout,
 * and stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createPool } from '../src/postgres/pool';
import { startWorker } from '../src/worker/start-worker';
import { codecKeysFromEnv } from '../src/codec/codec-keys';
import { silentLogger } from '../src/logging';
import { benchPillow, type BenchPillowSpec } from './bench-pillow';

export interface BenchWorkerConfig {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  couchUrl: string;
  databaseUrl: string;
  bundlePath: string;
  pillows: BenchPillowSpec[];
}

async function main() {
  const raw = process.env.PILLOWTOP_BENCH_WORKER;
  if (!raw) throw new Error('PILLOWTOP_BENCH_WORKER is not set (this process is started by `pillowtop bench`)');
  const config = JSON.parse(raw) as BenchWorkerConfig;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const pool = createPool(config.databaseUrl);
  // the keys `pillowtop bench` was given (this process inherits its environment); its bundle was built for them
  const codecKeys = codecKeysFromEnv(process.env);
  const running = await startWorker({
    pillows: config.pillows.map((p) => benchPillow(p, config.couchUrl)),
    temporal: { address: config.temporalAddress, namespace: config.namespace, ...(codecKeys ? { codecKeys } : {}) },
    taskQueue: config.taskQueue,
    pool,
    log: silentLogger,
    workflowBundle: { code: readFileSync(config.bundlePath, 'utf8') },
  });
  process.stdout.write('ready\n');
  // the memory run (`--memory`) asks for the split of the process's memory: heap, external, RSS
  const every = Number(process.env.PILLOWTOP_BENCH_MEMORY_MS ?? 0);
  const report = every > 0 ? setInterval(() => reportMemory(), every).unref() : undefined;
  process.once('SIGTERM', () => void running.stop());
  process.once('SIGINT', () => void running.stop());
  await running.done;
  clearInterval(report);
  await pool.end();
}

/** One line on stdout, `memory {…}`: what `process.memoryUsage()` says, in bytes. */
function reportMemory(): void {
  const m = process.memoryUsage();
  process.stdout.write(
    `memory ${JSON.stringify({ rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`,
  );
}

main().catch((err) => {
  console.error(`bench worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
