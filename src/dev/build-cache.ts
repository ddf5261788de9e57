import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where pillowtop keeps what it builds once and reuses (the Temporal CLI, the Temporal server):
 * `PILLOWTOP_CACHE_DIR`, else `$XDG_CACHE_HOME/pillowtop`, else `~/.cache/pillowtop`.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PILLOWTOP_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'pillowtop');
}

/** The first `name` on the PATH, or null. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** The Go toolchain: `go` on PATH, else /usr/local/go/bin/go; null when there is none. */
export function findGo(env: NodeJS.ProcessEnv = process.env): string | null {
  return onPath('go', env) ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);
}

/**
 * `go install targets…` into `gobin` (module mode, no cgo unless CGO_ENABLED says), output shown;
 * a failure names what was being built.
 */
export function goInstall(go: string, targets: string[], gobin: string, env: NodeJS.ProcessEnv, what: string): void {
  mkdirSync(gobin, { recursive: true });
  try {
    execFileSync(go, ['install', ...targets], {
      env: { ...env, GOBIN: gobin, GOFLAGS: '-mod=mod', CGO_ENABLED: env.CGO_ENABLED ?? '0' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch (err) {
    throw new Error(`building ${what} failed (go install ${targets.join(' ')}): ${(err as Error).message}`);
  }
}
