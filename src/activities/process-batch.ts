import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps';
import type { BatchInput, BatchOutcome } from '../workflows/types';
import { pillowKey } from '../workflows/ids';
import { couchServer } from '../couch/couch-client';
import { databaseInfo, readChanges, type ChangesPage } from '../couch/read-changes';
import { seqEstimate } from '../seq';
import { filterChanges } from './filter-changes';
import { startPrefetch, takePrefetch } from './prefetch';
import { ensurePillowSetup } from './setup-pillow';
import { isTransientError, runProcessors } from './run-processors';
import { parkFailures, resolveFailures } from './park-failures';
import { lookupPillow, notOnThisWorker } from './lookup-pillow';
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
  // heartbeats through the whole batch (reads, writes, slow processors) so only a dead worker times out;
  // and since Temporal hands a cancel (pause, rewind, stop) to an activity only in a heartbeat's answer,
  // often: the worker sends at most one per second (maxHeartbeatThrottleInterval in start-worker.ts)
  const beat = setInterval(() => ctx.heartbeat({ since: input.since }), HEARTBEAT_MS);
  try {
    return await untilCancelled(
      ctx,
      runCatchUpSlice(input, ctx, (page, first) => runBatch(deps, page, ctx, first)),
    );
  } finally {
    clearInterval(beat);
  }
}

/** How often a batch heartbeats; the worker's throttle decides how many of these reach Temporal. */
export const HEARTBEAT_MS = 500;

/**
 * Ends the activity as cancelled as soon as the cancel arrives, even while a processor that ignores
 * the signal is still busy: its transaction sees the abort before COMMIT and rolls back (run-processors),
 * so nothing is committed after the workflow has been told the batch was cancelled.
 */
function untilCancelled<T>(ctx: Context, work: Promise<T>): Promise<T> {
  const signal = ctx.cancellationSignal;
  let onAbort: () => void = () => undefined;
  const cancelled = new Promise<never>((_, reject) => {
    onAbort = () => {
      work.catch(() => undefined); // finishes (and rolls back) on its own; nobody waits for it
      reject(new CancelledFailure(`batch cancelled: ${String(signal.reason ?? 'cancel requested')}`));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, cancelled]).finally(() => signal.removeEventListener('abort', onAbort));
}

async function runBatch(deps: ActivityDeps, input: BatchInput, ctx: Context, longPoll = true): Promise<BatchOutcome> {
  const started = performance.now();
  const pillow = lookupPillow(deps, input.name);
  // the partition count the workflow runs under, not this worker's: a config change reaches a running
  // partition only through a restart, which reads its new share from 0 (see checkpoint-layout.ts)
  const partitions = input.partitions ?? pillow.partitions;
  if (input.partition !== undefined && !(input.partition >= 0 && input.partition < partitions))
    throw notOnThisWorker(
      deps,
      `has pillow "${pillow.name}" in ${partitions} partition(s), so no partition ${input.partition}`,
    );
  const key = pillowKey(input.name, input.partition, input.reindex);
  const log = deps.log;
  await ensurePillowSetup(deps.pool, pillow, log);
  const server = await couchServer(pillow.source.url);

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
    });

  let page: ChangesPage;
  let restarted = false;
  try {
    page =
      (await takePrefetch(key, input.since)) ?? (await read(input.since, longPoll ? pillow.longPollSeconds * 1000 : 0));
    if (page.changes.length === 0 && (await behindCheckpoint(server, pillow.source.db, input.since))) {
      log.warn(
        'the database is behind the checkpoint (re-created or restored from a backup?): reading it again from 0',
        {
          pillow: key,
          since: input.since,
        },
      );
      page = await read('0', 0);
      restarted = true;
    }
  } catch (err) {
    throwIfCancelled(ctx);
    throw ApplicationFailure.retryable(errorText(err), (err as Error).name);
  }
  ctx.heartbeat({ since: input.since, read: page.changes.length });

  const full = page.changes.length >= pillow.batchSize;
  // read the next page while this one is written
  if (full) startPrefetch(key, page.lastSeq, () => read(page.lastSeq, 0));

  const { kept, failed: filterFailures } = filterChanges(
    partitions === pillow.partitions ? pillow : { ...pillow, partitions },
    page.changes,
    input.partition,
  );
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
    page.pending ?? (await estimatePending(server, pillow.source.db, page.lastSeq, full).catch(() => null));
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
): Promise<number | null> {
  // catching up, a head a second or two old is close enough and saves a request per page
  const read = async () => (await databaseInfo(server, db)).updateSeq;
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
): Promise<boolean> {
  if (!/^\d+$/.test(since) || since === '0') return false;
  const head = (await databaseInfo(server, db)).updateSeq;
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
