import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cacheDir, findGo, goInstall, onPath } from './build-cache';

/**
 * The Temporal server release pillowtop runs on PostgreSQL in production (docker-compose.yml pins
 * `temporalio/server` to the same version), built from source for the test on a real server.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const MODULES = { server: 'go.temporal.io/server/cmd/server', sqlTool: 'go.temporal.io/server/cmd/tools/sql' };

export interface TemporalServerBinaries {
  /** `temporal-server` (built as `server`). */
  server: string;
  /** `temporal-sql-tool` (built as `sql`). */
  sqlTool: string;
}

/** Where pillowtop builds them once: `~/.cache/pillowtop/temporal-server-v1.29.1/{server,sql}`. */
export function cachedServerDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), `temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

/** Both binaries of this release answer `--version` with it. */
function isRelease(bin: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && r.stdout.includes(`version ${TEMPORAL_SERVER_VERSION.slice(1)}`);
}

/** Finds them: `temporal-server` and `temporal-sql-tool` on PATH (this release only), then the cache. */
export function findTemporalServerBinaries(env: NodeJS.ProcessEnv = process.env): TemporalServerBinaries | null {
  const fromPath = { server: onPath('temporal-server', env), sqlTool: onPath('temporal-sql-tool', env) };
  if (fromPath.server && fromPath.sqlTool && isRelease(fromPath.server) && isRelease(fromPath.sqlTool))
    return { server: fromPath.server, sqlTool: fromPath.sqlTool };
  const dir = cachedServerDir(env);
  const cached = { server: path.join(dir, 'server'), sqlTool: path.join(dir, 'sql') };
  if (existsSync(cached.server) && existsSync(cached.sqlTool) && isRelease(cached.server) && isRelease(cached.sqlTool))
    return cached;
  return null;
}

/**
 * Finds the Temporal server and its SQL tool, or builds both from source with `go install` into the
 * cache (a few minutes, once; server v1.29.1's go.mod has no `replace`, so the Go proxy serves it).
 */
export function ensureTemporalServerBinaries(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = (l) => console.error(l),
): TemporalServerBinaries {
  const found = findTemporalServerBinaries(env);
  if (found) return found;
  const dir = cachedServerDir(env);
  const go = findGo(env);
  if (!go)
    throw new Error(
      `no Temporal server ${TEMPORAL_SERVER_VERSION} found (PATH, ${dir}) and no Go toolchain to build one: install Go`,
    );
  log(`pillowtop: building the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool into ${dir} (once)…`);
  const started = Date.now();
  const targets = Object.values(MODULES).map((m) => `${m}@${TEMPORAL_SERVER_VERSION}`);
  goInstall(go, targets, dir, env, 'the Temporal server');
  const built = findTemporalServerBinaries(env);
  if (!built) throw new Error(`built the Temporal server into ${dir} but it does not answer --version`);
  log(`pillowtop: Temporal server built in ${Math.round((Date.now() - started) / 1000)}s`);
  return built;
}
