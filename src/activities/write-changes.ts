import { Client, type Pool, type PoolClient } from 'pg';
import type { Change, ChangeFailure, Logger, Processor, Seq } from '../types';
import type { PillowMetrics } from '../metrics/pillow-metrics';
import { errorText } from '../processors/doc-error';
import { isConnectionLost } from '../postgres/pg-errors';
import { advanceCheckpoint } from '../checkpoint';
import { recordFailingDocs, resolveFailingDocs } from '../postgres/failing-docs';
import { takeWriteLocks } from '../postgres/write-lock';
import { buildingGenerations } from '../postgres/generations/building-generation';
import { BatchOutageError, isOutage } from './outage';
import type { FilteredChanges } from './filter-changes';

export interface WriteChangesOptions {
  pool: Pool;
  pillow: string;
  processors: Processor[];
  /** Write locks to hold for the whole transaction (see write-lock.ts). */
  locks: string[];
  /**
   * The changes to write, loaded once the locks are held: a writer beside the feed reads CouchDB
   * here, so that it never writes a revision older than one the pillow has committed.
   */
  load: () => Promise<FilteredChanges>;
  /** The page's move of the checkpoint, made in the same transaction; absent for writers beside the feed. */
  checkpoint?: { key: string; since: Seq; lastSeq: Seq };
  /** Record failing changes for their retry workflows in the transaction (the feed does; a retry does not). */
  recordFailures: boolean;
  log: Logger;
  metrics: PillowMetrics;
  slowThresholdMs: number;
  /** Checked before commit: a cancelled activity must not move the checkpoint. */
  signal?: AbortSignal;
}

export interface WriteResult {
  loaded: FilteredChanges;
  /** Changes that could not be written (the filter's failures included). */
  failures: ChangeFailure[];
  /** Docs that had been failing and went through now. */
  resolved: string[];
  /** Set when the stored checkpoint was not the page's `since`: nothing was written; carry on from here. */
  checkpointMovedTo?: Seq;
}

/** One processor over some changes, reported to metrics only once its transaction commits. */
interface Tally {
  processor: string;
  seconds: number;
  ok: number;
  bad: number;
}

/**
 * Writes changes through every processor in one transaction that also moves the checkpoint and
 * records the failing changes, so that a commit never leaves a failure unrecorded. A page that throws
 * for a doc's reason is written again change by change (savepoints): the good changes go through and
 * only the bad ones fail, however many share one error. Only an error that names the sink as unusable,
 * or a page whose every change failed followed by a fresh probe that fails, is an outage.
 */
export async function writeChanges(opts: WriteChangesOptions): Promise<WriteResult> {
  const client = await opts.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      await takeWriteLocks(client, opts.locks);
      if (opts.checkpoint) {
        const { key, since, lastSeq } = opts.checkpoint;
        const stored = await advanceCheckpoint(client, key, since, lastSeq);
        if (stored !== null) {
          await client.query('ROLLBACK');
          opts.log.warn('the stored checkpoint moved under this page: carrying on from it', {
            pillow: key,
            since,
            stored,
          });
          return {
            loaded: { kept: [], failed: [], filteredOut: new Set() },
            failures: [],
            resolved: [],
            checkpointMovedTo: stored,
          };
        }
      }
      const loaded = await opts.load();
      const building = await readBuilding(client, opts, loaded.kept);
      const tally: Tally[] = [];
      const failed = await applyIsolating(client, { ...opts, building }, loaded.kept, tally);
      if (loaded.kept.length > 0 && failed.length === loaded.kept.length) await probeSinks(opts, failed[0].error);
      const failures = loaded.failed.concat(failed);
      if (opts.recordFailures) await recordFailingDocs(client, opts.pillow, failures);
      const failedIds = new Set(failures.map((f) => f.id));
      const resolved = await resolveFailingDocs(
        client,
        opts.pillow,
        loaded.kept.filter((c) => !failedIds.has(c.id)).map((c) => c.id),
      );
      if (opts.signal?.aborted) throw new Error('cancelled before commit');
      await client.query('COMMIT');
      for (const t of tally) opts.metrics.processor(opts.pillow, t.processor, t.seconds, t.ok, t.bad);
      return { loaded, failures, resolved };
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
      throw err;
    }
  } catch (err) {
    if (isConnectionLost(err)) broken = err as Error;
    throw err;
  } finally {
    // a client whose connection died goes back destroyed, not reused
    client.release(broken);
  }
}

/** The write's options with what the transaction read for its processors. */
type BatchWrite = WriteChangesOptions & { building: ReadonlyMap<string, number> };

const NOT_BUILDING: ReadonlyMap<string, number> = new Map();

/**
 * The generations being rebuilt, read once for the batch (not once per processor) in its
 * transaction, after its write locks: a rebuild registered before the commit is seen. Only
 * processors with a rebuild target have generations; nothing to write needs none.
 */
async function readBuilding(
  client: PoolClient,
  opts: WriteChangesOptions,
  changes: Change[],
): Promise<ReadonlyMap<string, number>> {
  if (changes.length === 0 || !opts.processors.some((p) => p.rebuild)) return NOT_BUILDING;
  return buildingGenerations(client, opts.pillow);
}

/** The whole page at once; if it throws for a doc's reason, once more change by change. */
async function applyIsolating(
  client: PoolClient,
  opts: BatchWrite,
  changes: Change[],
  tally: Tally[],
): Promise<ChangeFailure[]> {
  if (changes.length === 0) return [];
  await client.query('SAVEPOINT page');
  const own: Tally[] = [];
  try {
    const failed = await applyAll(client, opts, changes, own);
    await client.query('RELEASE SAVEPOINT page');
    tally.push(...own);
    return failed;
  } catch (err) {
    await client.query('ROLLBACK TO SAVEPOINT page');
    if (isOutage(err) || opts.signal?.aborted) throw err;
    if (changes.length === 1) {
      tally.push(...own.filter((t) => t.bad > 0));
      return [{ id: changes[0].id, seq: changes[0].seq, error: errorText(err) }];
    }
    opts.log.warn('page failed, writing it change by change', {
      pillow: opts.pillow,
      changes: changes.length,
      error: errorText(err),
    });
  }
  const failures: ChangeFailure[] = [];
  for (const change of changes) {
    if (opts.signal?.aborted) throw new Error('cancelled');
    await client.query('SAVEPOINT one_change');
    const own: Tally[] = [];
    try {
      failures.push(...(await applyAll(client, opts, [change], own)));
      await client.query('RELEASE SAVEPOINT one_change');
      tally.push(...own);
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT one_change');
      if (isOutage(err)) throw err;
      // the savepoint undid the processors before the one that threw: only its failure counts
      tally.push(...own.filter((t) => t.bad > 0));
      failures.push({ id: change.id, seq: change.seq, error: errorText(err) });
    }
  }
  return failures;
}

async function applyAll(
  client: PoolClient,
  opts: BatchWrite,
  changes: Change[],
  tally: Tally[],
): Promise<ChangeFailure[]> {
  const failures = new Map<string, ChangeFailure>();
  for (const processor of opts.processors) {
    const started = performance.now();
    let result: Awaited<ReturnType<typeof processor.processBatch>>;
    try {
      result = await processor.processBatch(changes, {
        pillow: opts.pillow,
        db: client,
        lastSeq: opts.checkpoint?.lastSeq ?? changes.find((c) => c.seq)?.seq ?? '',
        building: opts.building,
        log: opts.log,
      });
    } catch (err) {
      tally.push({
        processor: processor.name,
        seconds: (performance.now() - started) / 1000,
        ok: 0,
        bad: changes.length,
      });
      throw err;
    }
    const ms = performance.now() - started;
    const failed = result?.failed ?? [];
    for (const f of failed) {
      const prior = failures.get(f.id);
      const error = `${processor.name}: ${f.error}`;
      failures.set(f.id, { id: f.id, seq: f.seq, error: prior ? `${prior.error}; ${error}` : error });
    }
    tally.push({
      processor: processor.name,
      seconds: ms / 1000,
      ok: changes.length - failed.length,
      bad: failed.length,
    });
    if (ms > opts.slowThresholdMs) {
      opts.log.warn('slow processor', {
        pillow: opts.pillow,
        processor: processor.name,
        ms: Math.round(ms),
        changes: changes.length,
        // the original's expensive-doc log: which docs were in the slow page
        docIds: changes.slice(0, 20).map((c) => c.id),
      });
    }
  }
  return [...failures.values()];
}

/**
 * Every change of the page failed. That is still the docs' fault unless the sinks themselves are
 * shown to be unusable: a fresh connection to PostgreSQL that cannot run a query or can only read,
 * or a processor's own probe that fails. Then it is an outage.
 */
async function probeSinks(opts: WriteChangesOptions, firstError: string): Promise<void> {
  const probe = new Client(opts.pool.options);
  // an idle-killed probe connection must not crash the worker
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    const { rows } = await probe.query<{ standby: boolean; read_only: string }>(
      `SELECT pg_is_in_recovery() AS standby, current_setting('transaction_read_only') AS read_only`,
    );
    if (rows[0].standby || rows[0].read_only === 'on')
      throw new Error('PostgreSQL accepts reads only (a standby, or default_transaction_read_only is on)');
    for (const processor of opts.processors) await processor.probe?.();
  } catch (err) {
    throw new BatchOutageError(`every change failed (${firstError}) and the sink probe failed: ${errorText(err)}`, {
      cause: err,
    });
  } finally {
    await probe.end().catch(() => undefined);
  }
}
