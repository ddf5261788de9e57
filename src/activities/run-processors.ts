import type { Pool, PoolClient } from 'pg';
import type { Change, ChangeFailure, Logger, Processor, Seq } from '../types';
import type { PillowMetrics } from '../metrics/pillow-metrics';
import { errorText } from '../processors/doc-error';
import { isTransientPgError } from '../postgres/pg-errors';
import { writeCheckpoint } from '../postgres/checkpoint-write';

/**
 * Thrown when a batch cannot be written for a reason that is not one doc's fault: a server down,
 * or most of the batch failing the same way. The activity fails and Temporal retries it; the
 * checkpoint does not move.
 */
export class BatchOutageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BatchOutageError';
  }
}

export interface RunProcessorsOptions {
  pool: Pool;
  pillow: string;
  processors: Processor[];
  changes: Change[];
  lastSeq: Seq;
  /** Checkpoint key to move in the same transaction; omitted for per-doc retries. */
  checkpointKey?: string;
  log: Logger;
  metrics: PillowMetrics;
  slowThresholdMs: number;
  /** Checked before commit: a cancelled activity must not move the checkpoint. */
  signal?: AbortSignal;
}

/** A failure that is an outage in disguise: the batch is retried whole. */
export function isTransientError(err: unknown): boolean {
  if (err instanceof BatchOutageError) return true;
  const name = (err as Error | null)?.name;
  if (name === 'CouchUnavailableError' || name === 'CouchDatabaseMissingError' || name === 'SinkUnavailableError')
    return true;
  return isTransientPgError(err);
}

// below this many changes a batch's failures are taken one by one, whatever they share
const OUTAGE_MIN_BATCH = 10;

/** One processor over some changes, reported to metrics only once its transaction commits. */
interface Tally {
  processor: string;
  seconds: number;
  ok: number;
  bad: number;
}

/**
 * Runs every processor over the changes in one transaction that also moves the checkpoint.
 * If the batch throws for a doc's reason, it runs again change by change (savepoints), so that
 * the good changes are written and only the bad ones come back as failures.
 */
export async function runProcessors(opts: RunProcessorsOptions): Promise<ChangeFailure[]> {
  const client = await opts.pool.connect();
  let broken: Error | undefined;
  try {
    try {
      return await inTransaction(client, opts, async (tally) =>
        checkNotOutage(opts.changes, await applyAll(client, opts, opts.changes, tally)),
      );
    } catch (err) {
      if (isTransientError(err) || opts.signal?.aborted) throw err;
      opts.log.warn('batch failed, retrying change by change', {
        pillow: opts.pillow,
        changes: opts.changes.length,
        error: errorText(err),
      });
    }
    return await inTransaction(client, opts, async (tally) =>
      checkNotOutage(opts.changes, await applyOneByOne(client, opts, tally)),
    );
  } catch (err) {
    if (isTransientPgError(err)) broken = err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

async function inTransaction(
  client: PoolClient,
  opts: RunProcessorsOptions,
  body: (tally: Tally[]) => Promise<ChangeFailure[]>,
): Promise<ChangeFailure[]> {
  await client.query('BEGIN');
  try {
    // counted after COMMIT: a rolled-back attempt (retried change by change, or by Temporal) counts nothing
    const tally: Tally[] = [];
    const failures = await body(tally);
    if (opts.checkpointKey) await writeCheckpoint(client, opts.checkpointKey, opts.lastSeq);
    if (opts.signal?.aborted) throw new Error('cancelled before commit');
    await client.query('COMMIT');
    for (const t of tally) opts.metrics.processor(opts.pillow, t.processor, t.seconds, t.ok, t.bad);
    return failures;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function applyAll(
  client: PoolClient,
  opts: RunProcessorsOptions,
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
        lastSeq: opts.lastSeq,
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
        // the original's expensive-doc log: which docs were in the slow batch
        docIds: changes.slice(0, 20).map((c) => c.id),
      });
    }
  }
  return [...failures.values()];
}

async function applyOneByOne(client: PoolClient, opts: RunProcessorsOptions, tally: Tally[]): Promise<ChangeFailure[]> {
  const failures: ChangeFailure[] = [];
  for (const change of opts.changes) {
    await client.query('SAVEPOINT one_change');
    const own: Tally[] = [];
    try {
      const failed = await applyAll(client, opts, [change], own);
      failures.push(...failed);
      await client.query('RELEASE SAVEPOINT one_change');
      tally.push(...own);
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT one_change');
      if (isTransientError(err)) throw err;
      // the savepoint undid the processors before the one that threw: only its failure counts
      tally.push(...own.filter((t) => t.bad > 0));
      failures.push({ id: change.id, seq: change.seq, error: errorText(err) });
    }
  }
  return failures;
}

/**
 * Most of a batch failing with one error is the sink's or the config's fault (a dropped column, a
 * required field no doc has), not the docs': fail the batch as an outage instead of parking them all.
 */
function checkNotOutage(changes: Change[], failures: ChangeFailure[]): ChangeFailure[] {
  if (changes.length < OUTAGE_MIN_BATCH) return failures;
  const counts = new Map<string, number>();
  for (const f of failures) counts.set(f.error, (counts.get(f.error) ?? 0) + 1);
  for (const [error, count] of counts) {
    if (count > changes.length / 2)
      throw new BatchOutageError(`${count} of ${changes.length} changes failed the same way: ${error}`);
  }
  return failures;
}
