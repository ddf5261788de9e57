import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { resolvePillow } from '../src/config/pillow-definition';
import { startPillow } from '../src/operations/start-pillow';
import { quoteIdent } from '../src/postgres/identifiers';
import { pillowWorkflowId } from '../src/workflows/ids';
import { liveStatus } from '../src/operations/live-status';
import { benchPillow, type BenchPillowSpec } from './bench-pillow';
import { caseDoc } from '../src/dev/demo-data';
import { partitionOf } from '../src/partition-hash';
import { addCost, historyCost, NO_COST, type HistoryCost, type HistoryEvent } from './history-cost';

export interface CatchupResult {
  docs: number;
  /** From the first batch's start (first change read) to the last row committed. */
  seconds: number;
  /** From the workflow start to its first batch: describing the pillow, creating its tables. */
  startupSeconds: number;
  docsPerSecond: number;
  /** Workflow history events of all partitions when caught up. */
  historyEvents: number;
  /** History events, activity executions and estimated billable actions of all partitions when caught up. */
  cost: HistoryCost;
  /** Changes processed per partition (their sum is each doc exactly once). */
  processedPerPartition: number[];
}

export interface CatchupOptions {
  client: Client;
  pool: Pool;
  taskQueue: string;
  couchUrl: string;
  spec: BenchPillowSpec;
  /** Docs in the database: rows expected at the end. */
  docs: number;
  expectedAgeSum: number;
  /** How long to wait at most before failing. */
  timeoutMs: number;
  progress: (line: string) => void;
}

const POLL_MS = 20;

/**
 * Starts the pillow (every partition) from checkpoint zero and times it from the start to the
 * moment the last row is committed, then checks the rows and reads the history cost.
 */
export async function measureCatchup(opts: CatchupOptions): Promise<CatchupResult> {
  const { pool, spec } = opts;
  const table = quoteIdent(spec.table);
  const pillow = resolvePillow(benchPillow(spec, opts.couchUrl));
  const startedAt = Date.now();
  await startPillow(opts.client, pillow, opts.taskQueue);
  const deadline = Date.now() + opts.timeoutMs;
  // a cheap poll (index lookups, not a count over a growing table) so that measuring costs the
  // pillow nothing: each partition commits its pages in feed order, so its last doc comes last
  const lastIds = lastDocIds(opts.docs, spec.partitions);
  let lastReport = 0;
  for (;;) {
    const found = await pool
      .query(`SELECT count(*)::int AS n FROM ${table} WHERE doc_id = ANY($1::text[])`, [lastIds])
      .then((r) => r.rows[0].n as number)
      .catch(() => 0); // the table appears with the pillow's first batch
    if (found === lastIds.length) {
      const rows = await countRows(pool, table);
      if (rows >= opts.docs) break;
    }
    if (Date.now() > deadline) {
      throw new Error(`catch-up of ${spec.name}: only ${await countRows(pool, table)} of ${opts.docs} rows in time`);
    }
    if (performance.now() - lastReport > 5000) {
      lastReport = performance.now();
      opts.progress(`  ${spec.name}: ${await countRows(pool, table)} / ${opts.docs} rows`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const doneAt = Date.now();

  const check = (
    await pool.query(`SELECT count(*)::int AS n, count(DISTINCT doc_id)::int AS ids, coalesce(sum(age), 0)::bigint AS ages
      FROM ${table}`)
  ).rows[0];
  if (check.n !== opts.docs || check.ids !== opts.docs || Number(check.ages) !== opts.expectedAgeSum)
    throw new Error(
      `catch-up of ${spec.name} wrote wrong rows: ${check.n} rows, ${check.ids} ids, age sum ${check.ages} (expected ${opts.docs}, ${opts.expectedAgeSum})`,
    );

  const handles = workflowIds(spec).map((id) => opts.client.workflow.getHandle(id));
  // the last batch's count reaches the workflows (or their slice's heartbeat) a moment after its rows commit
  const processedPerPartition = await waitForProcessed(
    () => Promise.all(workflowIds(spec).map((id) => liveStatus(opts.client, id).then((s) => s.processed))),
    opts.docs,
  );
  let cost = NO_COST;
  let firstBatchAt = Infinity;
  for (const handle of handles) {
    const events = (await handle.fetchHistory()).events ?? [];
    cost = addCost(cost, historyCost(events));
    firstBatchAt = Math.min(firstBatchAt, firstBatchStart(events) ?? startedAt);
  }
  const seconds = (doneAt - firstBatchAt) / 1000;
  return {
    docs: opts.docs,
    seconds,
    startupSeconds: (firstBatchAt - startedAt) / 1000,
    docsPerSecond: opts.docs / seconds,
    historyEvents: cost.events,
    cost,
    processedPerPartition,
  };
}

/** When the worker started the pillow's first `processSlice` activity (server time, this machine's clock). */
export function firstBatchStart(events: HistoryEvent[]): number | null {
  const scheduled = events.find((e) =>
    ['processSlice', 'processBatch'].includes(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''),
  );
  if (!scheduled) return null;
  const started = events.find(
    (e) =>
      e.activityTaskStartedEventAttributes &&
      Number(e.activityTaskStartedEventAttributes.scheduledEventId) === Number(scheduled.eventId),
  );
  const time = started?.eventTime;
  return time ? Number(time.seconds) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : null;
}

const countRows = (pool: Pool, table: string) =>
  pool
    .query(`SELECT count(*)::int AS n FROM ${table}`)
    .then((r) => r.rows[0].n as number)
    .catch(() => 0);

/** The last case doc of each partition in the feed: docs `0..docs-1` were written in id order. */
function lastDocIds(docs: number, partitions: number): string[] {
  const ids: string[] = [];
  const wanted = new Set(Array.from({ length: partitions }, (_, p) => p));
  for (let i = docs - 1; i >= 0 && wanted.size > 0; i--) {
    const id = caseDoc(i)._id as string;
    const p = partitions > 1 ? partitionOf(id, partitions) : 0;
    if (wanted.delete(p)) ids.push(id);
  }
  return ids;
}

export function workflowIds(spec: BenchPillowSpec): string[] {
  const partitions = spec.partitions > 1 ? [...Array(spec.partitions).keys()] : [undefined];
  return partitions.map((p) => pillowWorkflowId(spec.name, p));
}

async function waitForProcessed(counts: () => Promise<number[]>, docs: number): Promise<number[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = await counts();
    if (now.reduce((a, b) => a + b, 0) >= docs || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stops the pillow's workflows (graceful cancel), terminating any that has not stopped after 30 s. */
export async function stopPillow(client: Client, spec: BenchPillowSpec, log?: (line: string) => void): Promise<void> {
  await Promise.all(
    workflowIds(spec).map(async (id) => {
      const handle = client.workflow.getHandle(id);
      await handle.cancel().catch(() => undefined);
      const stopped = await Promise.race([
        handle.result().then(
          () => true,
          () => true,
        ),
        new Promise<false>((r) => setTimeout(() => r(false), 30_000)),
      ]);
      if (!stopped) {
        log?.(`  ${id} did not stop within 30 s of its cancel: terminated`);
        await handle.terminate('bench: did not stop after cancel').catch(() => undefined);
      }
    }),
  );
}
