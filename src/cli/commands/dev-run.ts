/** `pillowtop dev`'s body (src/cli/commands/dev.ts loads it only when the command runs). */
import { rmSync } from 'node:fs';
import path from 'node:path';
import nano from 'nano';
import { Client, Connection } from '@temporalio/client';
import { startDevStack } from '../../dev/stack';
import { openSearchUnavailableReason, startOpenSearchServer } from '../../dev/opensearch-server';
import { demoSearchPillow } from '../../dev/demo-search';
import { preferredPort } from '../../dev/ports';
import { validateConfig } from '../../config/validate-config';
import { caseDoc, ensureDatabase, formDoc, startGenerator, writeDocs } from '../../dev/demo-data';
import { loadConfig } from '../../config/load-config';
import { createRegistry } from '../../config/pillow-registry';
import { createPool } from '../../postgres/pool';
import { startWorker } from '../../worker/start-worker';
import { startMetricsServer } from '../../metrics/metrics-server';
import { installSdkRuntime } from '../../worker/sdk-runtime';
import { startPillow } from '../../operations/start-pillow';
import { taskQueue } from '../../temporal/connection-options';
import { createLogger } from '../../logging';
import { codecKeysFromEnv } from '../../codec/codec-keys';
import { pillowtopDataConverter } from '../../codec/data-converter';
import { startCodecServer, type RunningCodecServer } from '../../codec/codec-server';
import { startProgressSummary } from '../../dev/progress-summary';
import { onPath } from '../../dev/build-cache';

import { CliError } from '../cli-error';
import type { DevOptions } from './dev';

export async function runDev(opts: DevOptions & { seedCount: number; perSecond: number }): Promise<void> {
  const log = createLogger({ component: 'dev' });
  // payload encryption stays off in dev unless a key is set (PILLOWTOP_CODEC_KEY / _FILE)
  const codecKeys = codecKeysFromEnv(process.env);
  const dataConverter = pillowtopDataConverter(codecKeys);
  if (opts.fresh) rmSync(opts.dir, { recursive: true, force: true });
  // with a key, the Web UI decrypts through a codec server of its own (origins added once the UI has a port)
  const corsOrigins: string[] = [];
  const codec: RunningCodecServer | null = codecKeys
    ? await startCodecServer({ keys: codecKeys, port: await preferredPort(8888), host: '127.0.0.1', corsOrigins })
    : null;
  console.error('pillowtop dev: starting Temporal, CouchDB (pouchdb-server) and PostgreSQL…');
  // servers in process groups of their own: Ctrl-C reaches only this process, which stops the
  // worker before them (they are killed as groups when it exits, however it exits)
  const stack = await startDevStack({
    dir: opts.dir,
    detached: true,
    ...(codec ? { uiCodecEndpoint: codec.url } : {}),
  }).catch(async (err) => {
    await codec?.close();
    throw err;
  });
  if (stack.temporal.uiUrl) {
    const ui = new URL(stack.temporal.uiUrl);
    corsOrigins.push(ui.origin, `${ui.protocol}//localhost:${ui.port}`);
  }
  const cleanups: (() => Promise<unknown>)[] = [() => stack.stop(), ...(codec ? [() => codec.close()] : [])];
  const stopAll = async () => {
    // last started, first stopped: the worker before the servers it talks to; each once
    for (const fn of cleanups.reverse().splice(0)) await fn().catch(() => undefined);
  };
  try {
    let searchUrl: string | null = null;
    if (opts.search) {
      const unavailable = openSearchUnavailableReason();
      if (unavailable) throw new CliError(`--search: cannot run OpenSearch: ${unavailable}`);
      console.error('pillowtop dev: starting OpenSearch…');
      const search = await startOpenSearchServer({
        dir: opts.dir,
        dataDir: path.join(opts.dir, 'opensearch'),
        port: await preferredPort(9200),
        detached: true,
      });
      cleanups.push(() => search.stop());
      searchUrl = search.url;
    }
    const env = {
      ...process.env,
      COUCH_URL: stack.couch.url,
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.temporal.address,
      ...(searchUrl ? { OPENSEARCH_URL: searchUrl } : {}),
    };
    Object.assign(process.env, env);
    const configured = loadConfig();
    const pillows =
      searchUrl && !configured.some((p) => p.name === 'cases_search')
        ? validateConfig([...configured, demoSearchPillow(searchUrl)])
        : configured;
    const registry = createRegistry(pillows, env);

    // demo data for every configured source database that is empty
    const dbs = [...new Set(registry.names().map((n) => registry.get(n).source.db))];
    for (const db of dbs) {
      await ensureDatabase(stack.couch.url, db);
      const info = await nano(stack.couch.url).db.get(db);
      if (info.doc_count === 0 && opts.seedCount > 0) {
        const docs = Array.from({ length: opts.seedCount }, (_, i) => caseDoc(i));
        docs.push(...Array.from({ length: Math.ceil(opts.seedCount / 20) }, (_, i) => formDoc(i)));
        await writeDocs(stack.couch.url, db, docs);
        console.error(`pillowtop dev: wrote ${docs.length} demo docs to CouchDB "${db}"`);
      }
    }

    const sdk = await installSdkRuntime(env);
    const metrics = await startMetricsServer(
      { ...env, PILLOWTOP_METRICS_PORT: process.env.PILLOWTOP_METRICS_PORT ?? '0' },
      { sdkMetricsUrl: sdk.metricsUrl },
    );
    cleanups.push(() => metrics.close());
    const pool = createPool(stack.databaseUrl);
    cleanups.push(() => pool.end());
    const queue = taskQueue();
    const worker = await startWorker({
      pillows,
      temporal: { address: stack.temporal.address, namespace: 'default', ...(codecKeys ? { codecKeys } : {}) },
      taskQueue: queue,
      pool,
      metrics: metrics.metrics,
      log,
      env,
      // the summary line below replaces a line per batch (PILLOWTOP_LOG_LEVEL=debug shows them)
      batchLogLevel: 'debug',
      // the SDK cancels running activities only when this runs out, and a batch long-polls most of its
      // life: Ctrl-C should not wait 10 s for it (a cancelled batch rolls back; the pillow resumes from
      // its checkpoint next time)
      shutdownGraceTime: '1s',
    });
    cleanups.push(() => worker.stop());

    const connection = await Connection.connect({ address: stack.temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, ...(dataConverter ? { dataConverter } : {}) });
    for (const name of registry.names()) await startPillow(client, registry.get(name), queue);

    const generator =
      opts.perSecond > 0 && dbs.includes('cases')
        ? startGenerator(stack.couch.url, 'cases', {
            perSecond: opts.perSecond,
            startAt: opts.seedCount + (Date.now() % 1_000_000),
          })
        : null;
    if (generator) cleanups.push(() => generator.stop());
    const summary = startProgressSummary({ client, pillows: registry.names().map((n) => registry.get(n)) });
    cleanups.push(() => summary.stop());

    printBanner({
      stack,
      metricsUrl: metrics.url,
      pillows: registry.names(),
      queue,
      searchUrl,
      codecUrl: codec ? `${codec.url} (payloads encrypted with key "${codecKeys!.current.id}")` : null,
    });

    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      process.once('SIGHUP', resolve);
      worker.done.then(resolve, resolve);
    });
    console.error('\npillowtop dev: stopping…');
    await stopAll();
    console.error('pillowtop dev: stopped');
  } finally {
    await stopAll();
  }
}

function printBanner(o: {
  stack: Awaited<ReturnType<typeof startDevStack>>;
  metricsUrl: string;
  pillows: string[];
  queue: string;
  searchUrl: string | null;
  codecUrl: string | null;
}) {
  const { stack } = o;
  const pg = new URL(stack.databaseUrl);
  const first = o.pillows[0] ?? 'cases';
  const lines = [
    '',
    'pillowtop dev is running. Ctrl-C stops it.',
    '',
    `  Temporal Web UI   ${stack.temporal.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent('WorkflowType="pillow"')}`,
    `  Temporal address  ${stack.temporal.address}   (task queue "${o.queue}")`,
    `  CouchDB           ${stack.couch.url}   (Fauxton: ${stack.couch.url}/_utils)`,
    `  PostgreSQL        ${redact(pg)}   (${stack.postgres.origin})`,
    `  Metrics           ${o.metricsUrl}`,
    ...(o.searchUrl ? [`  OpenSearch        ${o.searchUrl}   (alias "cases_search")`] : []),
    ...(o.codecUrl ? [`  Codec server      ${o.codecUrl}`] : []),
    `  Pillows           ${o.pillows.map((p) => `pillow/${p}`).join(', ')}`,
    '',
    'Look at the rows:',
    `  psql "${stack.databaseUrl}" -c "SELECT doc_id, owner_id, village, age FROM case_index ORDER BY doc_id DESC LIMIT 5"`,
    ...(o.searchUrl
      ? ['', 'Search the cases:', `  curl -s '${o.searchUrl}/cases_search/_search?q=village:Gulu&size=3&pretty'`]
      : []),
    '',
    `Steer a pillow with the Temporal CLI (${stack.temporal.cli}):`,
    // the CLI bootstrap built lives in pillowtop's cache, which no shell has on its PATH
    ...(onPath('temporal') === stack.temporal.cli
      ? []
      : [`  export PATH=${shellQuote(path.dirname(stack.temporal.cli))}:$PATH`]),
    `  export TEMPORAL_ADDRESS=${stack.temporal.address}`,
    `  temporal workflow query  --workflow-id pillow/${first} --type status${o.codecUrl ? ` --codec-endpoint ${o.codecUrl.split(' ')[0]}` : ''}`,
    `  temporal workflow signal --workflow-id pillow/${first} --name rewind --input '{"to":"0"}'`,
    `  temporal workflow cancel --workflow-id pillow/${first}`,
    '',
  ];
  console.log(lines.join('\n'));
}

/** Quotes a path for a POSIX shell only when it needs it. */
function shellQuote(p: string): string {
  return /^[\w@%+=:,./~-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

function redact(url: URL): string {
  const copy = new URL(url.toString());
  if (copy.password) copy.password = '***';
  return copy.toString();
}
