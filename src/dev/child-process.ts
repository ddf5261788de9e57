import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface ManagedProcess {
  child: ChildProcess;
  /** Stops the process (SIGTERM, then SIGKILL after a grace period) and waits for it to exit. */
  stop(graceMs?: number): Promise<void>;
  /** Rejects if the process exits before `stop` is called. */
  exited: Promise<number | null>;
}

/**
 * Spawns a server process with its output to a log file; dies with us on SIGKILL-free exits.
 * `detached`: in a process group of its own (the terminal's Ctrl-C does not reach it; `pillowtop dev`
 * stops it after the worker), stopped and killed as a group, and guarded by `guardGroup`.
 */
export function spawnManaged(
  command: string,
  args: string[],
  logFile: string,
  options: SpawnOptions = {},
): ManagedProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const group = options.detached === true && child.pid !== undefined ? child.pid : null;
  if (group !== null) guardGroup(group);
  const signal = (sig: NodeJS.Signals) => {
    if (group === null) child.kill(sig);
    else killGroup(group, sig);
  };
  let stopped = false;
  const killOnExit = () => signal('SIGKILL');
  process.once('exit', killOnExit);
  return {
    child,
    exited,
    async stop(graceMs = 5000) {
      if (stopped) return exited.then(() => undefined);
      stopped = true;
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        signal('SIGTERM');
        const timer = setTimeout(() => signal('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // a server's own children (if any) go with it
      if (group !== null) killGroup(group, 'SIGKILL');
      log.end();
    },
  };
}

/** Polls `check` until it returns true, or throws with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  exited?: Promise<unknown>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died = false;
  void exited?.then(() => (died = true)); // an exit promise never rejects
  for (;;) {
    if (await check().catch(() => false)) return;
    if (died) throw new Error(`${what}: the process exited while starting`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${Math.round(timeoutMs / 1000)}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Signals every process of a group; a group that is already gone is fine. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left in it
  }
}

let guard: ChildProcess | null = null;

/**
 * Kills process group `pgid` when this process dies, however it dies (SIGKILL included): a small
 * detached watchdog holds a pipe from us and kills the groups it was given when that pipe closes.
 * Groups already gone by then are skipped.
 */
export function guardGroup(pgid: number): void {
  if (!guard) {
    const script = `
      const groups = new Set();
      let buf = '';
      process.stdin.on('data', (d) => {
        buf += d;
        const lines = buf.split('\\n');
        buf = lines.pop();
        for (const l of lines) if (l) groups.add(Number(l));
      });
      process.stdin.on('close', () => {
        const kill = (sig) => {
          for (const g of groups) {
            try { process.kill(-g, sig); } catch { groups.delete(g); }
          }
        };
        kill('SIGTERM');
        const started = Date.now();
        setInterval(() => {
          kill(Date.now() - started > 3000 ? 'SIGKILL' : 0);
          if (groups.size === 0) process.exit(0);
        }, 100);
      });`;
    guard = spawn(process.execPath, ['-e', script], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    guard.unref();
    (guard.stdin as unknown as { unref?: () => void }).unref?.();
    guard.on('error', () => undefined);
  }
  guard.stdin?.write(`${pgid}\n`);
}
