import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps';
import type { BatchInput, BatchOutcome } from '../workflows/types';
import { pillowKey } from '../workflows/ids';
import { couchServer, CouchSourceError, redactUrl } from '../couch/couch-client';
import { databaseInfo, readChanges, type ChangesPage } from '../couch/read-changes';
import { seqEstimate } from '../seq';
import { filterChanges } from './filter-changes';
import { startPrefetch, takePrefetch } from './prefetch';
import { ensurePillowSetup } from './setup-pillow';
import { isTransientError, runProcessors } from './run-processors';
import { parkFailures, resolveFailures } from './park-failures';
import { lookupPillow } from './lookup-pillow';
import { errorText } from '../processors/doc-error';
import { runCatchUpSlice } from './catch-up-slice';
import { cachedHead } from './head-cache';
import { recordCheckpoint, REWIND_REASON } from '../postgres/checkpoint-history';

// history stays small even when a whole batch fails: the rest are counted, and parked all the same
const MAX_FAILED_IN_HISTORY = 50;

/**
 * One batch: read a page of `_changes` (long-polling while caught up), filter, run the processors
 * and move the checkpoint mirror in one transaction, hand failing changes to `retryChange`
 * workflows, and return only seqs, counts and failed ids.
 */
export async function processBatch(deps: ActivityDeps, input: BatchInput): Promise<BatchOutcome> {
  const ctx = Context.current();
  // heartbeats through the whole batch (reads, writes, slow processors) so only a dead worker times out
  const beat = setInterval(() => ctx.heartbeat({ since: input.since }), 2000);
  try {
    return await runCatchUpSlice(input, ctx, (page, first) => runBatch(deps, page, ctx, first));
  } catch (err) {
    // while batches fail the pillow is not caught up, whatever it last reported: the lag clock runs
    if (!ctx.cancellationSignal.aborted) deps.metrics.failing(pillowKey(input.name, input.partition, input.reindex));
    throw err;
  } finally {
    clearInterval(beat);
  }
}

async function runBatch(deps: ActivityDeps, input: BatchInput, ctx: Context, longPoll = true): Promise<BatchOutcome> {
  const started = performance.now();
  const pillow = lookupPillow(deps, input.name);
  const key = pillowKey(input.name, input.partition, input.reindex);
  const log = deps.log;
  await ensurePillowSetup(deps.pool, pillow, log);
  const server = await couchServer(pillow.source.url);
  const readTimeoutMs = pillow.readTimeoutSeconds * 1000;

  const read = (since: string, longPollMs: number) =>
    readChanges({
      server,
      db: pillow.source.db,
      since,
      limit: pillow.batchSize,
      longPollMs,
      couchFilter: pillow.filter.couchFilter,
      signal: ctx.cancellationSignal,
      onWait: () => ctx.heartbeat({ since, waiting: true }),
      readTimeoutMs,
    });

  // how far the source's head is past `at`: CouchDB's `pending` where a page gave it, else an estimate
  const sourceAhead = (at: string) => estimatePending(server, pillow.source.db, at, false, readTimeoutMs);

  let page: ChangesPage;
  let restarted = false;
  try {
    page =
      (await takePrefetch(key, input.since)) ?? (await read(input.since, longPoll ? pillow.longPollSeconds * 1000 : 0));
    if (page.changes.length === 0 && (await behindCheckpoint(server, pillow.source.db, input.since, readTimeoutMs))) {
      log.warn(
        'the database is behind the checkpoint (re-created or restored from a backup?): reading it again from 0',
        {
          pillow: key,
          since: input.since,
        },
      );
      page = await read('0', 0);
      restarted = true;
    } else if (page.changes.length === 0 && page.lastSeq === input.since) {
      // integer-seq servers echo any `since` back: a checkpoint stored before checks existed would idle for ever
      if (server.kind === 'pouchdb-server' && !/^\d+$/.test(input.since))
        throw new CouchSourceError(
          `the checkpoint ${JSON.stringify(input.since.slice(0, 60))} is not a seq of "${pillow.source.db}" (this server's seqs are integers): move it with pillowtop rewind`,
        );
      const source = `CouchDB at ${redactUrl(server.url)}, database "${pillow.source.db}",`;
      page = await confirmQuiet(page, input.since, source, () => read(input.since, 0), sourceAhead);
    }
  } catch (err) {
    throwIfCancelled(ctx);
    // the position still moves on while the feed is unreadable, if the db info says how far
    const behind = await sourceAhead(input.since).catch(() => null);
    if (behind !== null && behind > 0) deps.metrics.position(key, behind, null);
    throw ApplicationFailure.retryable(errorText(err), (err as Error).name);
  }
  ctx.heartbeat({ since: input.since, read: page.changes.length });

  const full = page.changes.length >= pillow.batchSize;
  // read the next page while this one is written
  if (full) startPrefetch(key, page.lastSeq, () => read(page.lastSeq, 0));

  const { kept, failed: filterFailures } = filterChanges(pillow, page.changes, input.partition);
  let failures = filterFailures;
  if (kept.length > 0 || page.lastSeq !== input.since) {
    try {
      const processed = await runProcessors({
        pool: deps.pool,
        pillow: pillow.name,
        processors: pillow.processors,
        changes: kept,
        lastSeq: page.lastSeq,
        checkpointKey: key,
        log,
        metrics: deps.metrics,
        slowThresholdMs: pillow.slowThresholdMs,
        signal: ctx.cancellationSignal,
      });
      failures = failures.concat(processed);
    } catch (err) {
      throwIfCancelled(ctx);
      // outages are retried by Temporal; anything else here is a bug worth retrying visibly too
      throw ApplicationFailure.retryable(errorText(err), isTransientError(err) ? 'Outage' : (err as Error).name);
    }
  }

  if (failures.length > 0) await parkFailures(deps, pillow.name, failures, ctx.info.taskQueue);
  const failedIds = new Set(failures.map((f) => f.id));
  await resolveFailures(
    deps,
    pillow.name,
    kept.filter((c) => !failedIds.has(c.id)).map((c) => c.id),
  );

  const pending =
    page.pending ??
    (await estimatePending(server, pillow.source.db, page.lastSeq, full, readTimeoutMs).catch(() => null));
  const rewound = restarted || isRewound(input.since, page);
  const durationMs = Math.round(performance.now() - started);
  deps.metrics.batch(pillow.name, durationMs / 1000);
  deps.metrics.position(key, pending, pending === 0 ? 0 : null); // per partition: each has its own position
  if (rewound) {
    // the last good position, for `pillowtop fix-rewind`: the feed handed out seqs from before it
    await recordCheckpoint(deps.pool, key, input.since, REWIND_REASON);
    deps.metrics.rewind(pillow.name);
    log.warn('feed went backwards: changes are being reprocessed (safe: processors are idempotent)', {
      pillow: key,
      since: input.since,
      lastSeq: page.lastSeq,
    });
  }
  if (page.changes.length > 0) {
    log.info('batch', {
      pillow: key,
      since: input.since,
      lastSeq: page.lastSeq,
      read: page.changes.length,
      failed: failures.length,
      ms: durationMs,
    });
  }
  return {
    since: input.since,
    lastSeq: page.lastSeq,
    read: page.changes.length,
    processed: kept.length - failures.length + filterFailures.length,
    skipped: page.changes.length - kept.length - filterFailures.length,
    failed: failures.slice(0, MAX_FAILED_IN_HISTORY),
    failedOmitted: Math.max(0, failures.length - MAX_FAILED_IN_HISTORY),
    pending,
    idle: page.changes.length === 0 && page.lastSeq === input.since,
    full,
    rewound,
    durationMs,
  };
}

/**
 * An empty page at the checkpoint is a quiet feed only if the source has nothing past it. A source
 * that keeps answering an empty page at the same seq while its head is ahead (CouchDB's `pending`, or
 * the update_seq estimate: a health signal, never a processing decision) is stuck. An immediate
 * second read confirms it, so a change that arrived as a wait ended is not taken for a fault.
 */
export async function confirmQuiet(
  page: ChangesPage,
  since: string,
  source: string,
  readAgain: () => Promise<ChangesPage>,
  ahead: (at: string) => Promise<number | null>,
): Promise<ChangesPage> {
  const first = page.pending ?? (await ahead(since));
  if (first === null || first === 0) return page;
  const again = await readAgain();
  if (again.changes.length > 0 || again.lastSeq !== since) return again;
  const still = again.pending ?? (await ahead(since));
  if (still === null || still === 0) return again;
  throw new CouchSourceError(
    `${source} keeps answering an empty page at seq ${shortSeq(since)} while ${still} change(s) are past it (stuck source)`,
  );
}

function shortSeq(seq: string): string {
  return seq.length > 40 ? seq.slice(0, 40) + '…' : seq;
}

/**
 * A cancelled activity (pause, rewind, stop) reports cancellation, not the aborted request's error,
 * so the workflow sees a cancellation and not a failing batch.
 */
function throwIfCancelled(ctx: Context): void {
  if (ctx.cancellationSignal.aborted)
    throw new CancelledFailure(`batch cancelled: ${String(ctx.cancellationSignal.reason ?? 'cancel requested')}`);
}

/** Where the server gives no `pending` (pouchdb-server), estimate it from the update seq. */
async function estimatePending(
  server: Parameters<typeof databaseInfo>[0],
  db: string,
  lastSeq: string,
  catchingUp: boolean,
  timeoutMs?: number,
): Promise<number | null> {
  // catching up, a head a second or two old is close enough and saves a request per page
  const read = async () => (await databaseInfo(server, db, timeoutMs)).updateSeq;
  const head = seqEstimate(catchingUp ? await cachedHead(`${server.url}/${db}`, read) : await read());
  const at = seqEstimate(lastSeq);
  return head === null || at === null ? null : Math.max(0, head - at);
}

/**
 * Servers with integer seqs (pouchdb-server, CouchDB 1.x) answer a `since` past their head with an
 * empty page at that same `since`, so a database deleted and re-created under a running pillow would
 * be skipped silently. CouchDB 2+ instead replays a re-created database from its start (a feed rewind).
 * With integer seqs on both sides the comparison is exact, not an estimate; opaque seqs are left alone.
 */
async function behindCheckpoint(
  server: Parameters<typeof databaseInfo>[0],
  db: string,
  since: string,
  timeoutMs?: number,
): Promise<boolean> {
  if (!/^\d+$/.test(since) || since === '0') return false;
  const head = (await databaseInfo(server, db, timeoutMs)).updateSeq;
  return /^\d+$/.test(head) && Number(head) < Number(since);
}

/**
 * A feed went backwards when the seqs it hands out estimate lower than where we stood (CouchDB
 * failover, shard moves). Estimates only: the pillow keeps going either way.
 */
function isRewound(since: string, page: ChangesPage): boolean {
  const before = seqEstimate(since);
  const first = page.changes.find((c) => c.seq !== null)?.seq ?? page.lastSeq;
  const after = seqEstimate(first);
  return before !== null && after !== null && page.changes.length > 0 && after < before;
}
