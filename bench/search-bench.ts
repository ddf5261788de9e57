/**
 * `npm run bench -- --search`: the search processor's catch-up against a raw loop that reads the same
 * `_changes` pages and sends one `_bulk` per page to the same OpenSearch node (a fresh index each),
 * with the worker's and OpenSearch's resident memory.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { resolvePillow } from '../src/config/pillow-definition';
import { startPillow } from '../src/operations/start-pillow';
import { openSearchUnavailableReason, startOpenSearchServer } from '../src/dev/opensearch-server';
import { statusQuery } from '../src/workflows/messages';
import { pillowWorkflowId } from '../src/workflows/ids';
import { rebuildWorkflowId } from '../src/workflows/rebuild-types';
import { benchPillow, type BenchPillowSpec } from './bench-pillow';
import { firstBatchStart, stopPillow } from './catchup';
import { rssMb, type WorkerProcess } from './worker-process';
import { rawSearchLoop, searchDocCount, type RawSearchResult } from './search-raw-loop';
import { round } from './bench-result';

/** The `search` object of the bench's JSON. */
export interface SearchBenchResult {
  docs: number;
  batchSize: number;
  /** The processor's catch-up: first page read to the checkpoint at the feed's end (best round). */
  docsPerSecond: number;
  /** The raw loop: one `_changes` page with docs, one `_bulk`, next page (best round). */
  rawDocsPerSecond: number;
  /** docsPerSecond / rawDocsPerSecond; the target is ≥ 0.9. */
  ratio: number;
  /** Peak RSS of the worker process during the processor's catch-up (null without /proc). */
  workerRssMb: number | null;
  /** Peak RSS of the OpenSearch node (a Java process) over raw loops and catch-ups (null if not on this machine). */
  opensearchRssMb: number | null;
  /** `pillowtop rebuild` docs/s; null where the bench cannot run a rebuild (`rebuildNote` says why). */
  rebuildDocsPerSecond: number | null;
  rebuildNote: string;
  /** Every round's figure (docs/s). */
  samples: number[];
  rawSamples: number[];
  /** Where the node came from. */
  server: string;
}

export interface SearchServer {
  url: string;
  origin: string;
  stop(): Promise<void>;
}

/** `OPENSEARCH_URL` when given, otherwise a node of its own (needs Java 17+, see src/dev/opensearch-server.ts). */
export async function searchServer(
  env: NodeJS.ProcessEnv,
  dir: string,
  log: (l: string) => void,
): Promise<SearchServer> {
  if (env.OPENSEARCH_URL) return { url: env.OPENSEARCH_URL, origin: 'given by OPENSEARCH_URL', stop: async () => {} };
  const why = openSearchUnavailableReason(env);
  if (why)
    throw new Error(`--search needs an OpenSearch node: set OPENSEARCH_URL, or install what is missing (${why})`);
  log('starting an OpenSearch node (a JVM; up to a minute)…');
  const s = await startOpenSearchServer({ dir, env });
  return { url: s.url, origin: 'started by the bench', stop: s.stop };
}

/** The node's process id, from `_nodes/_local/process`: its RSS is readable when it runs on this machine. */
async function openSearchPid(url: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/_nodes/_local/process`);
    const body = (await res.json()) as { nodes?: Record<string, { process?: { id?: number } }> };
    return Object.values(body.nodes ?? {})[0]?.process?.id ?? null;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every 100 ms and keeps the peak. */
function rssPeak(pid: number | null) {
  let peak: number | null = null;
  const sample = () => {
    const now = pid === null ? null : rssMb(pid);
    if (now !== null && (peak === null || now > peak)) peak = now;
  };
  sample();
  const timer = setInterval(sample, 100);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

export interface SearchBenchOptions {
  client: Client;
  pool: Pool;
  couchUrl: string;
  searchUrl: string;
  searchOrigin: string;
  db: string;
  docs: number;
  batchSize: number;
  repeat: number;
  /** `<run>_` prefix of the pillows and indexes. */
  run: string;
  /** Starts one bench worker process for the pillow on its own task queue. */
  startWorker: (taskQueue: string, spec: BenchPillowSpec) => Promise<WorkerProcess>;
  stopWorker: (w: WorkerProcess) => Promise<void>;
  timeoutMs: number;
  progress: (line: string) => void;
}

/** Rounds of raw loop then processor catch-up, each into a fresh index; each figure is the best round. */
export async function runSearchBench(o: SearchBenchOptions): Promise<SearchBenchResult> {
  const { progress } = o;
  const osPeak = rssPeak(await openSearchPid(o.searchUrl));
  const raws: RawSearchResult[] = [];
  const catchups: { docsPerSecond: number; seconds: number }[] = [];
  let workerRss: number | null = null;
  let opensearchRss: number | null = null;
  let rebuildDocsPerSecond: number | null = null;
  const indexes: string[] = [];
  try {
    // OpenSearch's JIT warms over the first tens of thousands of docs (the first pass runs at a third of
    // the speed of the third): one unmeasured pass first, so the rounds below meet a warm node
    progress('search warm-up: one unmeasured raw loop…');
    const warmup = `${o.run}_search_warmup`;
    indexes.push(warmup);
    await rawSearchLoop({
      couchUrl: o.couchUrl,
      db: o.db,
      searchUrl: o.searchUrl,
      index: warmup,
      batchSize: o.batchSize,
    });
    await fetch(`${o.searchUrl}/${warmup}`, { method: 'DELETE' });
    for (let r = 1; r <= o.repeat; r++) {
      const of = o.repeat > 1 ? ` (round ${r} of ${o.repeat})` : '';
      const rawIndex = `${o.run}_search_raw${r}`;
      indexes.push(rawIndex);
      progress(`search raw loop: read ${o.batchSize} with docs, one _bulk, next${of}…`);
      const raw = await rawSearchLoop({
        couchUrl: o.couchUrl,
        db: o.db,
        searchUrl: o.searchUrl,
        index: rawIndex,
        batchSize: o.batchSize,
      });
      const rawCount = await searchDocCount(o.searchUrl, rawIndex);
      if (rawCount !== o.docs) throw new Error(`search raw loop indexed ${rawCount} docs, expected ${o.docs}`);
      raws.push(raw);
      progress(`  ${Math.round(raw.docsPerSecond)} docs/s (${raw.seconds.toFixed(1)} s)`);

      const spec: BenchPillowSpec = {
        name: `${o.run}_search${r}`,
        db: o.db,
        table: `${o.run}_search${r}_unused`,
        partitions: 1,
        batchSize: o.batchSize,
        search: { url: o.searchUrl, alias: `${o.run}_search${r}` },
      };
      indexes.push(`${spec.search!.alias}-*`, `${spec.search!.alias}_v*`);
      progress(`search catch-up: a new worker process, searchIndex from checkpoint zero${of}…`);
      const worker = await o.startWorker(`${o.run}-${spec.name}`, spec);
      try {
        worker.resetPeak();
        const c = await measureSearchCatchup(o, spec, raw.lastSeq);
        const count = await searchDocCount(o.searchUrl, spec.search!.alias);
        if (count !== o.docs) throw new Error(`search catch-up indexed ${count} docs, expected ${o.docs}`);
        catchups.push(c);
        const rss = worker.peakRssMb();
        if (rss !== null) workerRss = Math.max(workerRss ?? 0, rss);
        progress(
          `  ${Math.round(c.docsPerSecond)} docs/s (${c.seconds.toFixed(1)} s), worker peak RSS ${rss?.toFixed(0)} MB`,
        );
        if (r === o.repeat) rebuildDocsPerSecond = await measureRebuild(o, spec);
        await stopPillow(o.client, spec, progress);
      } finally {
        await o.stopWorker(worker);
      }
    }
  } finally {
    opensearchRss = osPeak.stop();
    for (const index of indexes) await fetch(`${o.searchUrl}/${index}`, { method: 'DELETE' }).catch(() => undefined);
  }
  const best = (list: { docsPerSecond: number }[]) => Math.max(...list.map((x) => x.docsPerSecond));
  const docsPerSecond = best(catchups);
  const rawDocsPerSecond = best(raws);
  return {
    docs: o.docs,
    batchSize: o.batchSize,
    docsPerSecond: round(docsPerSecond),
    rawDocsPerSecond: round(rawDocsPerSecond),
    ratio: round(docsPerSecond / rawDocsPerSecond, 2),
    workerRssMb: workerRss === null ? null : round(workerRss),
    opensearchRssMb: opensearchRss === null ? null : round(opensearchRss),
    rebuildDocsPerSecond: rebuildDocsPerSecond === null ? null : round(rebuildDocsPerSecond),
    rebuildNote:
      "pillowtop rebuild of the last round's searchIndex (a new index beside the live one, then the alias swap), its pillow following",
    samples: catchups.map((c) => round(c.docsPerSecond)),
    rawSamples: raws.map((c) => round(c.docsPerSecond)),
    server: o.searchOrigin,
  };
}

/**
 * Starts the search pillow from checkpoint zero and times it from its first page read (the history's
 * first `processSlice` start) to its checkpoint reaching `endSeq`, the feed's end as the raw loop saw
 * it (seqs compared for equality only).
 */
async function measureSearchCatchup(
  o: SearchBenchOptions,
  spec: BenchPillowSpec,
  endSeq: string,
): Promise<{ docsPerSecond: number; seconds: number }> {
  const pillow = resolvePillow(benchPillow(spec, o.couchUrl));
  const startedAt = Date.now();
  await startPillow(o.client, pillow, `${o.run}-${spec.name}`);
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const seq = await o.pool
      .query<{ seq: string }>(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [spec.name])
      .then((r) => r.rows[0]?.seq ?? null);
    if (seq === endSeq) break;
    if (Date.now() > deadline) {
      const status = await o.client.workflow
        .getHandle(pillowWorkflowId(spec.name))
        .query(statusQuery)
        .catch(() => null);
      throw new Error(
        `search catch-up of ${spec.name}: checkpoint ${seq}, not ${endSeq}, in time (processed ${status?.processed})`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const doneAt = Date.now();
  const events = (await o.client.workflow.getHandle(pillowWorkflowId(spec.name)).fetchHistory()).events ?? [];
  const seconds = (doneAt - (firstBatchStart(events) ?? startedAt)) / 1000;
  return { seconds, docsPerSecond: o.docs / seconds };
}

/**
 * `pillowtop rebuild` of the last round's searchIndex while its pillow follows: the `rebuild`
 * workflow from its start to the alias swap and the old index's drop (no grace period), in docs/s.
 */
async function measureRebuild(o: SearchBenchOptions, spec: BenchPillowSpec): Promise<number> {
  const processor = `searchIndex:${spec.search!.alias}`;
  o.progress(`search rebuild: pillowtop rebuild ${spec.name} --processor ${processor}…`);
  const began = performance.now();
  const result = await o.client.workflow.execute('rebuild', {
    workflowId: rebuildWorkflowId(spec.name, processor),
    taskQueue: `${o.run}-${spec.name}`,
    args: [{ name: spec.name, processor, graceSeconds: 0 }],
    workflowExecutionTimeout: o.timeoutMs,
  });
  const seconds = (performance.now() - began) / 1000;
  const done = (result as { done: number }).done;
  if (done < o.docs) throw new Error(`the search rebuild wrote ${done} docs, expected at least ${o.docs}`);
  const count = await searchDocCount(o.searchUrl, spec.search!.alias);
  if (count !== o.docs) throw new Error(`after the rebuild the alias holds ${count} docs, expected ${o.docs}`);
  o.progress(`  ${Math.round(done / seconds)} docs/s (${seconds.toFixed(1)} s)`);
  return done / seconds;
}
