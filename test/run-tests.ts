/**
 * Starts the servers the tests share (a Temporal dev server with its Web UI, pouchdb-server, and
 * PostgreSQL from DATABASE_URL / the local server / an embedded one), bundles the workflows once,
 * runs `node --test` over test/*.test.ts, and stops everything. Usage: run-tests.ts [--node-test-flag…] [FILE...]
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startTemporalDevServer } from '../src/dev/temporal-server';
import { startCouchDevServer } from '../src/dev/couch-server';
import { resolveDevPostgres } from '../src/dev/postgres-server';
import { ensureTemporalCli } from '../src/dev/temporal-cli';
import { summaryLine, tally } from './helpers/faults-tally';
import {
  ensureOpenSearchLauncher,
  openSearchUnavailableReason,
  startOpenSearchServer,
} from '../src/dev/opensearch-server';

async function main() {
  const root = path.resolve(__dirname, '..');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pillowtop-test-'));
  // an embedded PostgreSQL started as root runs as the `postgres` user, which must reach its data dir
  chmodSync(dir, 0o755);
  const args = process.argv.slice(2);
  const flags = args.filter((a) => a.startsWith('--')); // passed to node --test, e.g. --test-name-pattern=…
  const named = args.filter((a) => !a.startsWith('--'));
  const files = named.length
    ? named
    : readdirSync(path.join(root, 'test'))
        .filter((f) => f.endsWith('.test.ts'))
        .sort()
        .map((f) => path.join('test', f));
  console.error(`pillowtop tests: starting servers in ${dir}`);
  const cli = ensureTemporalCli();
  // OpenSearch (a JVM) only when a search suite runs, and only where Java and Maven (or a cached build) are
  const wantsSearch = files.some((f) => path.basename(f).startsWith('search-'));
  const noSearch = wantsSearch ? openSearchUnavailableReason() : 'no search suite selected';
  if (wantsSearch && noSearch) {
    console.error(`\n*** pillowtop tests: SKIPPING the search tests: ${noSearch} ***\n`);
  }
  if (!noSearch) ensureOpenSearchLauncher();
  const searchStarted = Date.now();
  const [temporal, couch, pg, bundle, search] = await Promise.all([
    startTemporalDevServer({ dir }),
    startCouchDevServer({ dir }),
    resolveDevPostgres({ dir }),
    bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: undefined }),
    noSearch
      ? null
      : startOpenSearchServer({ dir }).then((s) => {
          console.error(
            `pillowtop tests: OpenSearch ${s.url} green in ${((Date.now() - searchStarted) / 1000).toFixed(1)}s`,
          );
          return s;
        }),
  ]);
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  console.error(
    `pillowtop tests: Temporal ${temporal.address} (UI ${temporal.uiUrl}), CouchDB ${couch.url}, PostgreSQL (${pg.origin})`,
  );
  const env = {
    ...process.env,
    PILLOWTOP_TEST_DIR: dir,
    PILLOWTOP_TEST_TEMPORAL_ADDRESS: temporal.address,
    PILLOWTOP_TEST_TEMPORAL_UI: temporal.uiUrl ?? '',
    PILLOWTOP_TEST_TEMPORAL_CLI: cli,
    PILLOWTOP_TEST_COUCH_URL: couch.url,
    PILLOWTOP_TEST_DATABASE_URL: pg.url,
    PILLOWTOP_TEST_WORKFLOW_BUNDLE: bundlePath,
    PILLOWTOP_TEST_OPENSEARCH_URL: search?.url ?? '',
    PILLOWTOP_TEST_OPENSEARCH_SKIP: noSearch ?? '',
    PILLOWTOP_LOG_LEVEL: process.env.PILLOWTOP_LOG_LEVEL ?? 'warn',
  };
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...flags, ...files],
      {
        cwd: root,
        env,
        stdio: 'inherit',
      },
    );
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  await Promise.allSettled([temporal.stop(), couch.stop(), pg.stop(), search?.stop()]);
  printFaultTally(path.join(dir, 'faults-tally.jsonl'));
  process.exit(code);
}

/** One line summing what the fault and bad-input suites saw (test/helpers/faults-tally.ts). */
function printFaultTally(file: string) {
  if (!existsSync(file)) return;
  const sum = { ...tally };
  for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] = 0;
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const t = JSON.parse(line) as Partial<typeof sum>;
    for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += t[k] ?? 0;
  }
  console.log(summaryLine(sum, 'fault suite'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
