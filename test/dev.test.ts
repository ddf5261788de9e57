// `pillowtop dev` as a new user runs it: the banner, the progress summary, and Ctrl-C stopping
// everything it started (servers in process groups of their own, the worker first) with exit code 0.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, testEnv } from './helpers/harness';
import { BIN, ROOT } from './helpers/pillowtop-cli';
import { pillowSummary } from '../src/dev/progress-summary';
import { onPath } from '../src/dev/build-cache';
import type { PillowStatusRow } from '../src/operations/pillow-status';

/** Every process descended from `root` (servers, their children, the orphan guard). */
function descendants(root: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const found = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of rows) {
      if (!found.has(pid!) && found.has(ppid!)) {
        found.add(pid!);
        grew = true;
      }
    }
  }
  found.delete(root);
  return [...found];
}

/** Alive and not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    return readFileSync(stat, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('pillowtop dev', () => {
  const started: number[] = [];
  after(() => {
    // only if an assertion failed half-way: leave nothing behind
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  test('prints the banner with the Temporal CLI path, a summary line, and stops everything on Ctrl-C', async () => {
    const dir = mkdtempSync(path.join(testEnv('PILLOWTOP_TEST_DIR'), 'dev-'));
    // a shell's environment: no DATABASE_URL, so dev runs its own embedded PostgreSQL too
    // (and where to find the Temporal CLI the runner found)
    const { PATH, HOME, TEMPORAL_CLI, PILLOWTOP_CACHE_DIR, XDG_CACHE_HOME } = process.env;
    const env = { PATH, HOME, TEMPORAL_CLI, PILLOWTOP_CACHE_DIR, XDG_CACHE_HOME };
    // in a process group of its own, like a shell's foreground job: Ctrl-C signals the whole group
    const child = spawn(process.execPath, [BIN, 'dev', '--dir', dir, '--seed', '40', '--rate', '0'], {
      env,
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exit = new Promise<number | string>((resolve) =>
      child.on('exit', (code, signal) => resolve(code ?? signal!)),
    );
    const dev = { pid: child.pid, out: () => out, err: () => err, exit };
    started.push(dev.pid!);
    const output = () => dev.out() + dev.err();

    await eventually('the banner', async () => output().includes('Ctrl-C stops it'), 240_000);
    started.push(...descendants(dev.pid!));
    const cli = testEnv('PILLOWTOP_TEST_TEMPORAL_CLI');
    assert.ok(dev.out().includes(`(${cli})`), `banner names ${cli}:\n${dev.out()}`);
    // the line that puts it on the PATH, unless it is there already
    if (onPath('temporal', env) !== cli)
      assert.ok(dev.out().includes(`export PATH=${path.dirname(cli)}:$PATH`), dev.out());

    // batches are logged at debug in dev; a summary line every 10 s says how the pillows are doing
    await eventually(
      'a summary line',
      async () => /pillow\/cases: \d+ processed, [\d.]+\/s, (\d+|\?) pending, lag/.test(dev.err()),
      60_000,
    );
    assert.doesNotMatch(dev.err(), /"msg":"batch"/);

    process.kill(-dev.pid!, 'SIGINT'); // what the terminal does on Ctrl-C
    const code = await Promise.race([
      dev.exit,
      new Promise((r) => setTimeout(() => r('still running after 60 s'), 60_000).unref()),
    ]);
    assert.equal(code, 0, output().slice(-3000));
    assert.match(dev.err(), /pillowtop dev: stopped/);
    assert.doesNotMatch(dev.err(), /ECONNREFUSED|UNAVAILABLE|transport error/i, 'the worker stopped before Temporal');
    // the servers (and the guard that would kill them had dev died) are gone
    await eventually('no process dev started left', async () => started.every((pid) => !alive(pid)), 15_000).catch(() =>
      assert.fail(`still alive: ${started.filter(alive).join(', ')}`),
    );
  });
});

describe('dev progress summary', () => {
  const row = (o: Partial<PillowStatusRow>): PillowStatusRow => ({
    pillow: 'cases',
    partition: null,
    workflowId: 'pillow/cases',
    running: true,
    state: 'idle',
    paused: false,
    checkpoint: '10',
    processed: 10,
    failed: 0,
    skipped: 0,
    pending: 0,
    lagSeconds: 0,
    rate: 1.5,
    lastBatchAt: null,
    lastError: null,
    oldLayout: null,
    ...o,
  });

  test('adds up partitions; unknown pending or lag is "?"; a stopped pillow says its state', () => {
    assert.equal(
      pillowSummary('cases', [row({ partition: 0 }), row({ partition: 1, processed: 5, pending: 3, lagSeconds: 7 })]),
      'pillow/cases: 15 processed, 3.0/s, 3 pending, lag 7s',
    );
    assert.equal(
      pillowSummary('cases', [row({ pending: null, lagSeconds: null })]),
      'pillow/cases: 10 processed, 1.5/s, ? pending, lag ?',
    );
    assert.equal(
      pillowSummary('cases', [row({ running: false, state: 'not started', processed: null })]),
      'pillow/cases: not started',
    );
  });
});
