/** Runs `bin/pillowtop` and the plain Temporal CLI as child processes, as an operator would. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { testEnv, type Suite } from './harness';
import { loadConfig } from '../../src/config/load-config';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'pillowtop');
export const OPS_CONFIG = path.join(ROOT, 'test', 'fixtures', 'ops.config.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runPillowtop(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env, cwd: ROOT, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** A child process with its output collected as it comes, and its exit code (128 if killed by a signal). */
export type CollectedChild = ChildProcess & { out: () => string; err: () => string; exit: Promise<number> };

/** `node <nodeArgs>` in the repository root, its output collected as it comes. */
export function spawnNode(nodeArgs: string[], env: NodeJS.ProcessEnv): CollectedChild {
  const child = spawn(process.execPath, nodeArgs, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 0))),
  );
  return Object.assign(child, { out: () => out, err: () => err, exit });
}

/** A long-running `pillowtop` command (worker, status --watch) with its output collected as it comes. */
export function spawnPillowtop(args: string[], env: NodeJS.ProcessEnv): CollectedChild {
  return spawnNode([BIN, ...args], env);
}

/** The environment an operator's shell would have for the ops fixture config. */
export function opsEnv(o: {
  prefix: string;
  couchDb: string;
  couchUrl: string;
  databaseUrl: string;
  taskQueue: string;
}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: testEnv('PILLOWTOP_TEST_TEMPORAL_ADDRESS'),
    PILLOWTOP_TASK_QUEUE: o.taskQueue,
    PILLOWTOP_CONFIG: OPS_CONFIG,
    COUCH_URL: o.couchUrl,
    DATABASE_URL: o.databaseUrl,
    OPS_PREFIX: o.prefix,
    OPS_COUCH_DB: o.couchDb,
  };
}

/**
 * Runs the ops fixture's pillows (named `<prefix>_…`, reading `couchDb`) on the suite's in-process
 * worker and returns the operator's environment for them; `extra` goes to both.
 */
export async function startOpsWorker(
  s: Suite,
  o: { prefix: string; couchDb: string; extra?: Record<string, string> },
): Promise<NodeJS.ProcessEnv> {
  const { prefix, couchDb, extra = {} } = o;
  const env = {
    ...opsEnv({ prefix, couchDb, couchUrl: s.couchUrl, databaseUrl: s.databaseUrl, taskQueue: s.taskQueue }),
    ...extra,
  };
  // the worker runs the same fixture config the CLI reads, which takes these from the environment
  Object.assign(process.env, { OPS_PREFIX: prefix, OPS_COUCH_DB: couchDb, ...extra });
  await s.startWorker(loadConfig(OPS_CONFIG));
  return env;
}

/** `temporal workflow query --type status` through the plain Temporal CLI, parsed. */
export async function temporalQuery<T>(workflowId: string, type = 'status'): Promise<T> {
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      testEnv('PILLOWTOP_TEST_TEMPORAL_CLI'),
      [
        'workflow',
        'query',
        '--workflow-id',
        workflowId,
        '--type',
        type,
        '--address',
        testEnv('PILLOWTOP_TEST_TEMPORAL_ADDRESS'),
        '-o',
        'json',
      ],
      { timeout: 60_000 },
      (err, out, errOut) => (err ? reject(new Error(`${err.message}: ${errOut}`)) : resolve(out)),
    ),
  );
  const parsed = JSON.parse(stdout) as { queryResult: T[] };
  return parsed.queryResult[0];
}
