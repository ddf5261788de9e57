import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, findGo, goInstall, onPath } from './build-cache';

/** The Temporal CLI release whose dev server (Temporal server 1.29) pillowtop develops and tests against. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** Where pillowtop builds the CLI once and reuses it: `~/.cache/pillowtop/temporal-cli-v1.5.1/temporal`. */
export function cachedCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), `temporal-cli-${TEMPORAL_CLI_VERSION}`, 'temporal');
}

function works(bin: string): boolean {
  const r = spawnSync(bin, ['server', 'start-dev', '--help'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && r.stdout.includes('--search-attribute');
}

/** Finds a Temporal CLI: `TEMPORAL_CLI`, then `PATH`, `~/go/bin`, then pillowtop's cache. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.TEMPORAL_CLI) {
    if (!existsSync(env.TEMPORAL_CLI))
      throw new Error(`TEMPORAL_CLI points to ${env.TEMPORAL_CLI}, which does not exist`);
    return env.TEMPORAL_CLI;
  }
  const candidates = [onPath('temporal', env), path.join(os.homedir(), 'go', 'bin', 'temporal'), cachedCliPath(env)];
  for (const c of candidates) if (c && existsSync(c) && works(c)) return c;
  return null;
}

/**
 * Finds the Temporal CLI or builds it from source with `go install` into the cache (a few minutes,
 * once). The SDK's own server download cannot work offline, so this is the route to a real server.
 */
export function ensureTemporalCli(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = (l) => console.error(l),
): string {
  const found = findTemporalCli(env);
  if (found) return found;
  const target = cachedCliPath(env);
  const go = findGo(env);
  if (!go) {
    throw new Error(
      `no Temporal CLI found (looked at TEMPORAL_CLI, PATH, ~/go/bin, ${target}) and no Go toolchain to build one: ` +
        `install Go, or install the Temporal CLI and set TEMPORAL_CLI`,
    );
  }
  log(
    `pillowtop: building the Temporal CLI ${TEMPORAL_CLI_VERSION} from source into ${path.dirname(target)} (once; takes a few minutes)…`,
  );
  const started = Date.now();
  goInstall(go, [`${MODULE}@${TEMPORAL_CLI_VERSION}`], path.dirname(target), env, 'the Temporal CLI');
  if (!works(target)) throw new Error(`built ${target} but it does not run \`temporal server start-dev\``);
  log(`pillowtop: Temporal CLI built in ${Math.round((Date.now() - started) / 1000)}s`);
  return target;
}
