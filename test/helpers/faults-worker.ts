/**
 * A worker as operators run it, `node bin/pillowtop worker`, in a child process the fault suite
 * can SIGKILL. Its config is test/fixtures/faults.config.ts, steered by environment variables.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the worker wrote to stderr and stdout so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** Waits until the worker logged that it polls. */
  ready(timeoutMs?: number): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<number | string>;
}

const root = path.resolve(__dirname, '..', '..');
export const FAULTS_CONFIG = path.join(root, 'test', 'fixtures', 'faults.config.ts');

export interface FaultsWorkerEnv {
  COUCH_URL: string;
  DATABASE_URL: string;
  TEMPORAL_ADDRESS: string;
  PILLOWTOP_TASK_QUEUE: string;
  /** CouchDB database the `faults` pillow reads. */
  FAULTS_COUCH_DB: string;
  /** postgresMirror table (and `<table>_index` for the postgresTable). */
  FAULTS_TABLE: string;
  FAULTS_PILLOW?: string;
  FAULTS_BATCH_SIZE?: string;
  /** Milliseconds each batch waits inside its transaction, so a kill lands mid-batch. */
  FAULTS_BATCH_DELAY_MS?: string;
  /** File the custom processor appends its deliveries to. @default deliveriesFile(FAULTS_TABLE) */
  FAULTS_DELIVERIES?: string;
}

/** The servers a test suite runs against (a `Suite` of test/helpers/harness.ts has them). */
export interface SuiteServers {
  couchUrl: string;
  databaseUrl: string;
  temporalAddress: string;
  taskQueue: string;
}

/** A worker's environment for the faults pillow `name`, reading `db` into `table`, on the suite's servers. */
export function faultsWorkerEnv(
  servers: SuiteServers,
  pillow: { name: string; db: string; table: string; batchSize: number; batchDelayMs?: number },
): FaultsWorkerEnv {
  return {
    COUCH_URL: servers.couchUrl,
    DATABASE_URL: servers.databaseUrl,
    TEMPORAL_ADDRESS: servers.temporalAddress,
    PILLOWTOP_TASK_QUEUE: servers.taskQueue,
    FAULTS_COUCH_DB: pillow.db,
    FAULTS_TABLE: pillow.table,
    FAULTS_PILLOW: pillow.name,
    FAULTS_BATCH_SIZE: String(pillow.batchSize),
    ...(pillow.batchDelayMs === undefined ? {} : { FAULTS_BATCH_DELAY_MS: String(pillow.batchDelayMs) }),
  };
}

/** Where the faults pillow's custom processor records what it was handed, for `replays()`. */
export function deliveriesFile(table: string): string {
  return path.join(process.env.PILLOWTOP_TEST_DIR ?? os.tmpdir(), `deliveries-${table}.txt`);
}

export function spawnWorker(env: FaultsWorkerEnv, extra: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'pillowtop'), 'worker'], {
    cwd: root,
    env: {
      ...process.env,
      PILLOWTOP_CONFIG: FAULTS_CONFIG,
      PILLOWTOP_METRICS_PORT: '0',
      PILLOWTOP_LOG_LEVEL: 'info',
      FAULTS_DELIVERIES: deliveriesFile(env.FAULTS_TABLE),
      ...env,
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit)); // never rejects
  return {
    child,
    output: () => out,
    exited,
    async ready(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      let ended = false;
      void exited.then(() => (ended = true)); // never rejects
      while (!out.includes('"msg":"worker started"')) {
        if (ended) throw new Error(`worker exited before it started:\n${out.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`worker not started after ${timeoutMs} ms:\n${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
