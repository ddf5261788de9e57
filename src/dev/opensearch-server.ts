import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnManaged, waitFor } from './child-process';
import { freePort } from './ports';

/**
 * The OpenSearch release the tests and `pillowtop dev --search` run: 2.19 is the last line that runs
 * on Java 17. 2.19.7's server is on Maven Central but three of its plugins are not, hence 2.19.6.
 * Keep in step with `opensearch.version` in src/dev/opensearch-launcher/pom.xml.
 */
export const OPENSEARCH_VERSION = '2.19.6';

const LAUNCHER_DIR = path.join(__dirname, 'opensearch-launcher');
const LAUNCHER_SOURCES = ['pom.xml', path.join('java', 'PillowtopOpenSearch.java')];

/** Where the launcher is built once: `~/.cache/pillowtop/opensearch-2.19.6/` (classes/ and lib/). */
export function openSearchCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.PILLOWTOP_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'pillowtop');
  return path.join(base, `opensearch-${OPENSEARCH_VERSION}`);
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** `JAVA_HOME/bin/java`, else `java` on PATH, if it is Java 17 or newer. */
export function findJava(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = [env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : null, onPath('java', env)];
  for (const java of candidates) {
    if (!java || !existsSync(java)) continue;
    const r = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 20_000 });
    const major = /version "(\d+)/.exec(r.stderr ?? '')?.[1];
    if (r.status === 0 && major && Number(major) >= 17) return java;
  }
  return null;
}

/** Why search can't run here (no Java 17+, or no Maven and no cached build), or null when it can. */
export function openSearchUnavailableReason(env: NodeJS.ProcessEnv = process.env): string | null {
  if (!findJava(env)) return 'no Java 17+ (JAVA_HOME or java on PATH)';
  if (!isBuilt(env) && !onPath('mvn', env)) return `no Maven (mvn) to build the OpenSearch launcher`;
  return null;
}

function sourcesHash(): string {
  const h = createHash('sha256');
  for (const f of LAUNCHER_SOURCES) h.update(readFileSync(path.join(LAUNCHER_DIR, f)));
  return h.digest('hex').slice(0, 16);
}

function isBuilt(env: NodeJS.ProcessEnv): boolean {
  const marker = path.join(openSearchCacheDir(env), 'built');
  return existsSync(marker) && readFileSync(marker, 'utf8').trim() === sourcesHash();
}

/**
 * Builds the launcher (src/dev/opensearch-launcher) with Maven into the cache, once per version and
 * launcher source; Maven fetches OpenSearch and its plugins from Maven Central (about 45 MB).
 */
export function ensureOpenSearchLauncher(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = (l) => console.error(l),
): string {
  const out = openSearchCacheDir(env);
  if (isBuilt(env)) return out;
  const mvn = onPath('mvn', env);
  if (!mvn) throw new Error(`no Maven (mvn) on PATH to build the OpenSearch launcher into ${out}`);
  mkdirSync(out, { recursive: true });
  log(`pillowtop: building the OpenSearch ${OPENSEARCH_VERSION} launcher with Maven into ${out} (once)…`);
  const started = Date.now();
  try {
    execFileSync(
      mvn,
      ['-q', '-B', '-Dstyle.color=never', '-f', path.join(LAUNCHER_DIR, 'pom.xml'), `-Dlauncher.out=${out}`, 'package'],
      {
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
  } catch (err) {
    throw new Error(`building the OpenSearch launcher failed (mvn package): ${(err as Error).message}`);
  }
  writeFileSync(path.join(out, 'built'), sourcesHash());
  log(`pillowtop: OpenSearch launcher built in ${Math.round((Date.now() - started) / 1000)}s`);
  return out;
}

export interface OpenSearchServer {
  url: string;
  stop(): Promise<void>;
}

export interface OpenSearchServerOptions {
  /** Folder for the log; data goes to `dataDir` or `<dir>/opensearch-<port>`. */
  dir: string;
  dataDir?: string;
  port?: number;
  /** JVM heap, e.g. `512m`. @default 512m */
  heap?: string;
  env?: NodeJS.ProcessEnv;
  /** In a process group of its own (see `spawnManaged`). */
  detached?: boolean;
}

/** Starts one OpenSearch node (single-node, loopback) and waits until the cluster is green. */
export async function startOpenSearchServer(opts: OpenSearchServerOptions): Promise<OpenSearchServer> {
  const env = opts.env ?? process.env;
  const java = findJava(env);
  if (!java) throw new Error('no Java 17+ found (JAVA_HOME or java on PATH) to run OpenSearch');
  const built = ensureOpenSearchLauncher(env);
  const port = opts.port ?? (await freePort());
  const transportPort = await freePort();
  const home = opts.dataDir ?? path.join(opts.dir, `opensearch-${port}`);
  mkdirSync(home, { recursive: true });
  const heap = opts.heap ?? '512m';
  const logFile = path.join(opts.dir, `opensearch-${port}.log`);
  const proc = spawnManaged(
    java,
    [
      '-Xms256m',
      `-Xmx${heap}`,
      '-XX:+UseSerialGC',
      '-Djava.awt.headless=true',
      '-Dlog4j2.formatMsgNoLookups=true',
      '-cp',
      `${path.join(built, 'classes')}${path.delimiter}${path.join(built, 'lib', '*')}`,
      'PillowtopOpenSearch',
      home,
      String(port),
      String(transportPort),
    ],
    logFile,
    { detached: opts.detached === true },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `OpenSearch on ${url} (log: ${logFile})`,
    async () => {
      const res = await fetch(`${url}/_cluster/health?wait_for_status=green&timeout=1s`);
      const body = (await res.json()) as { status?: string };
      return res.ok && body.status === 'green';
    },
    120_000,
    proc.exited,
  );
  return { url, stop: () => proc.stop(15_000) };
}
