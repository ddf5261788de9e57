import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps';
import type { SliceInput, SliceOutcome } from '../workflows/types';
import { pillowKey } from '../workflows/ids';
import { couchServer, CouchSourceError, redactUrl } from '../couch/couch-client';
import { databaseInfo, readChanges, type ChangesPage } from '../couch/read-changes';
import { seqEstimate } from '../checkpoint/seq';
import { filterChanges, type FilteredChanges } from './filter-changes';
import { startPrefetch, takePrefetch } from './prefetch';
import { ensurePillowSetup } from './setup-pillow';
import { isOutage, writeChanges, type WriteResult } from './write-changes';
import { handOffFailures, handOffUnfinished, signalResolved } from './hand-off-failures';
import { writeLocksFor } from './write-locks-for';
import { currentRevs } from '../couch/current-revs';
import { continueSweep, startSweep } from './sweep-removed-docs';
import { lookupPillow, notOnThisWorker } from './lookup-pillow';
import { errorText } from '../processors/doc-error';
import { runCatchUpSlice } from './catch-up-slice';
import { cachedHead } from './head-cache';
import { recordCheckpoint, REWIND_REASON } from '../checkpoint';

// a sweep under way takes this much of each page's time, so the feed keeps moving too
const SWEEP_BUDGET_MS = 1000;

// history stays small even when a whole batch fails: the rest are counted, and parked all the same
const MAX_FAILED_IN_HISTORY = 50;

/**
 * One batch: read a page of `_changes` (long-polling while caught up), filter, run the processors
 * and move the checkpoint mirror in one transaction, hand failing changes to `retryChange`
 * workflows, and return only seqs, counts and failed ids.
 */
export async function processSlice(deps: ActivityDeps, input: SliceInput): Promise<SliceOutcome> {
  const ctx = Context.current();
  // heartbeats through the whole batch (reads, writes, slow processors) so only a dead worker times out;
  // and since Temporal hands a cancel (pause, rewind, stop) to an activity only in a heartbeat's answer,
  // often: the worker sends at most one per second (maxHeartbeatThrottleInterval in start-worker.ts)
  const beat = setInterval(() => ctx.heartbeat({ since: input.since }), HEARTBEAT_MS);
  try {
    return await untilCancelled(
      ctx,
      runCatchUpSlice(input, ctx, (page, first) => runPage(deps, page, ctx, first)),
    );
  } catch (err) {
    // while batches fail the pillow is not caught up, whatever it last reported: the lag clock runs
    if (!ctx.cancellationSignal.aborted) deps.metrics.failing(pillowKey(input.name, input.partition, input.reindex));
    throw err;
  } finally {
    clearInterval(beat);
  }
}

/** How often a batch heartbeats; the worker's throttle decides how many of these reach Temporal. */
export const HEARTBEAT_MS = 500;

/**
 * Ends the activity as cancelled as soon as the cancel arrives, even while a processor that ignores
 * the signal is still busy: its transaction sees the abort before COMMIT and rolls back (write-changes.ts).
 * Should the abort land during the COMMIT itself, the page is committed with its checkpoint, and the
 * next page (or a rewind, which waits for the checkpoint row) finds the stored checkpoint moved.
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

async function runPage(deps: ActivityDeps, input: SliceInput, ctx: Context, longPoll = true): Promise<SliceOutcome> {
  const started = performance.now();
  const pillow = lookupPillow(deps, input.name);
  // the partition count the workflow runs under, not this worker's: a config change reaches a running
  // partition only through a restart, which reads its new share from 0 (see checkpoint/layout.ts)
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

  // a backfill writes beside the live pillow: what changed since its page was read is the pillow's to write
  // the partition count this workflow was started with, whatever this worker's config says
  const layout = partitions === pillow.partitions ? pillow : { ...pillow, partitions };
  const filtered = filterChanges(layout, page.changes, input.partition);
  // a quiet long poll has nothing to write and the checkpoint stays: no transaction
  const quiet = page.changes.length === 0 && page.lastSeq === input.since;
  let written: WriteResult = { loaded: filtered, failures: [], resolved: [] };
  if (!quiet)
    try {
      written = await writeChanges({
        pool: deps.pool,
        pillow: pillow.name,
        processors: pillow.processors,
        locks: writeLocksFor(layout, input.partition, filtered.kept),
        load: input.reindex ? () => stillCurrent(server, pillow.source.db, filtered) : async () => filtered,
        checkpoint: { key, since: input.since, lastSeq: page.lastSeq },
        recordFailures: true,
        log,
        metrics: deps.metrics,
        slowThresholdMs: pillow.slowThresholdMs,
        signal: ctx.cancellationSignal,
      });
    } catch (err) {
      throwIfCancelled(ctx);
      // outages are retried by Temporal; anything else here is a bug worth retrying visibly too
      throw ApplicationFailure.retryable(errorText(err), isOutage(err) ? 'Outage' : (err as Error).name);
    }
  if (written.checkpointMovedTo !== undefined) return movedOutcome(input.since, written.checkpointMovedTo, started);
  const failures = written.failures;
  if (failures.length > 0 || handOffUnfinished(pillow.name))
    await handOffFailures(deps, pillow.name, ctx.info.taskQueue);
  await signalResolved(deps, pillow.name, written.resolved);
  const failedIds = new Set(failures.map((f) => f.id));
  const processed = written.loaded.kept.filter((c) => !failedIds.has(c.id) && !written.loaded.filteredOut.has(c.id));

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
    // a re-created or restored database may lack docs the sinks hold, and its feed never says so
    await startSweep(deps, pillow, key, restarted ? 'database behind the checkpoint' : 'feed went backwards');
    deps.metrics.rewind(pillow.name);
    log.warn('feed went backwards: changes are being reprocessed (safe: processors are idempotent)', {
      pillow: key,
      since: input.since,
      lastSeq: page.lastSeq,
    });
  }
  await continueSweep(deps, pillow, key, input.partition, server, SWEEP_BUDGET_MS);
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
    processed: processed.length,
    // other partitions' docs, design docs, docs outside the filter (removed from the sinks), and in a
    // backfill the docs that moved on since it read them
    skipped: page.changes.length - processed.length - failures.length,
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
 * The stored checkpoint was not this page's `since` (a cancelled page that committed anyway, or an
 * earlier run's activity): nothing was written, and the pillow carries on from the stored one.
 */
function movedOutcome(since: string, stored: string, started: number): SliceOutcome {
  return {
    since,
    lastSeq: stored,
    read: 0,
    processed: 0,
    skipped: 0,
    failed: [],
    failedOmitted: 0,
    pending: null,
    idle: false,
    full: true,
    rewound: false,
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * A backfill's page, less the changes whose doc has moved on since the page was read (checked once
 * the write lock is held): the live pillow writes those from its own feed, and writing the older
 * revision here after it would leave the sink stale for good.
 */
async function stillCurrent(
  server: Parameters<typeof currentRevs>[0],
  db: string,
  filtered: FilteredChanges,
): Promise<FilteredChanges> {
  const now = await currentRevs(
    server,
    db,
    filtered.kept.map((c) => c.id),
  );
  const kept = filtered.kept.filter((c) => {
    const current = now.get(c.id);
    return current ? current.rev === c.rev : c.deleted;
  });
  return { ...filtered, kept };
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
