import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { PoolClient } from 'pg';
import type { ActivityDeps } from './deps';
import type { ResolvedPillow } from '../config/pillow-definition';
import { couchServer, type CouchServer } from '../couch/couch-client';
import { currentRevs } from '../couch/current-revs';
import { databaseInfo, readChanges } from '../couch/read-changes';
import { withTransaction } from '../postgres/pool';
import { ensureStateSchema } from '../postgres/state-schema';
import { takeWriteLocks, writeLockName } from '../postgres/write-lock';
import { buildingGeneration } from '../postgres/generations/building-generation';
import { registerBuilding } from '../postgres/generations/register-building';
import { recordProgress } from '../postgres/generations/record-progress';
import { recordSwap } from '../postgres/generations/record-swap';
import { recordEnd } from '../postgres/generations/record-end';
import type { Change, Processor, RebuildTarget } from '../types';
import { filterChanges } from './filter-changes';
import { lookupPillow } from './lookup-pillow';
import { isOutage } from './outage';
import { writeLocksFor } from './write-locks-for';
import type {
  RebuildBackfillInput,
  RebuildBackfillOutcome,
  RebuildStarted,
  RebuildTargetInput,
} from '../workflows/rebuild-types';

/** How long one backfill activity goes on before it reports back to the workflow (progress, continue-as-new). */
const BACKFILL_BUDGET_MS = 5_000;

/**
 * Activities of the `rebuild` workflow (src/workflows/rebuild.ts): register a new generation of one
 * processor's target, backfill it from a full read of the source, swap it in, drop the old one.
 */
export function createRebuildActivities(deps: ActivityDeps) {
  return {
    /**
     * Registers generation live+1 as building under every write lock of the pillow, and creates it
     * empty. From the commit on, every batch of the live pillow (which takes its lock before it
     * writes) writes that generation too; everything committed before is in the source the backfill
     * reads next. So the live pillow's checkpoint need not move (which would skip changes for its
     * other processors). A rebuild already building (a resumed run) is returned as it is.
     */
    async startRebuild(input: RebuildTargetInput): Promise<RebuildStarted> {
      const { pillow, rebuild } = rebuildable(deps, input);
      await ensureStateSchema(deps.pool);
      const started = await withTransaction(deps.pool, async (db) => {
        await takeWriteLocks(db, allWriteLocks(pillow));
        const generation = await registerBuilding(db, pillow.name, input.processor);
        if (!generation.resumed) await rebuild.create(db, generation.building);
        return generation;
      });
      const server = await couchServer(pillow.source.url);
      const info = await databaseInfo(server, pillow.source.db);
      deps.log.info('rebuild building a new generation', {
        pillow: pillow.name,
        processor: input.processor,
        generation: started.building,
        resumed: started.resumed,
      });
      return { ...started, target: rebuild.target, estimatedTotal: info.docCount };
    },

    /**
     * Backfills the building generation from `cursor` for about 5 seconds, a page at a time. Each
     * page is written under the write locks of its docs, after checking each doc's winning revision
     * with `_all_docs`: a doc that moved on since the page was read is left to the live pillow, which
     * writes both generations, so the backfill never writes an older revision over a newer one. The
     * page and the cursor commit together: a rebuild resumed after a crash goes on from there.
     */
    async backfillRebuild(input: RebuildBackfillInput): Promise<RebuildBackfillOutcome> {
      const { pillow, rebuild } = rebuildable(deps, input);
      const ctx = Context.current();
      const server = await couchServer(pillow.source.url);
      const until = performance.now() + BACKFILL_BUDGET_MS;
      let cursor = input.cursor ?? '0';
      let written = 0;
      let failed = 0;
      try {
        for (;;) {
          ctx.heartbeat({ cursor });
          // reported as cancelled (not failed): a failed attempt would be retried and could run to the end
          if (ctx.cancellationSignal.aborted) throw new CancelledFailure('rebuild cancelled');
          const page = await readChanges({
            server,
            db: pillow.source.db,
            since: cursor,
            limit: pillow.batchSize,
            longPollMs: 0,
            couchFilter: pillow.filter.couchFilter,
            signal: ctx.cancellationSignal,
            readTimeoutMs: pillow.readTimeoutSeconds * 1000,
          });
          // a short page is the end of the source as it was when read; what comes after reaches the
          // new generation through the live pillow's writes
          const finished = page.changes.length < pillow.batchSize;
          const filtered = filterChanges(pillow, page.changes);
          failed += filtered.failed.length;
          const outcome = await withTransaction(deps.pool, async (db) => {
            await takeWriteLocks(db, writeLocksFor(pillow, undefined, filtered.kept));
            // cancelled (and dropped) since: writing now would re-create what was dropped
            if ((await buildingGeneration(db, pillow.name, input.processor)) !== input.generation)
              throw ApplicationFailure.nonRetryable('the generation is no longer building', 'NotBuilding');
            const current = await stillCurrent(server, pillow.source.db, filtered.kept);
            const bad = await writeIsolating(db, rebuild, current, input.generation);
            const building = await recordProgress(
              db,
              pillow.name,
              input.processor,
              input.generation,
              page.lastSeq,
              current.length - bad,
            );
            if (!building) throw ApplicationFailure.nonRetryable('the generation is no longer building', 'NotBuilding');
            return { written: current.length - bad, bad };
          });
          written += outcome.written;
          failed += outcome.bad;
          deps.metrics.rebuilt(pillow.name, input.processor, outcome.written, outcome.bad + filtered.failed.length);
          cursor = page.lastSeq;
          if (finished || performance.now() > until) return { cursor, written, failed, finished };
        }
      } catch (err) {
        // a read or write the cancel aborted is the cancel too, not a failure to retry
        if (ctx.cancellationSignal.aborted && !(err instanceof CancelledFailure))
          throw new CancelledFailure('rebuild cancelled');
        throw err;
      }
    },

    /**
     * Makes the building generation live, atomically, under every write lock (no batch is half
     * written across it): a rename of tables in one transaction, or one `_aliases` call. Repeating it
     * after a crash finds it done.
     */
    async swapRebuild(input: RebuildTargetInput & { live: number; generation: number }): Promise<void> {
      const { pillow, rebuild } = rebuildable(deps, input);
      await withTransaction(deps.pool, async (db) => {
        await takeWriteLocks(db, allWriteLocks(pillow));
        const { rows } = await db.query<{ state: string; live_generation: number }>(
          `SELECT state, live_generation FROM pillowtop_generations WHERE pillow = $1 AND processor = $2 FOR UPDATE`,
          [pillow.name, input.processor],
        );
        if (rows[0]?.state !== 'building') {
          if (rows[0]?.live_generation === input.generation) return; // swapped by an attempt that crashed after
          throw ApplicationFailure.nonRetryable(`the rebuild is ${rows[0]?.state ?? 'not registered'}`, 'NotBuilding');
        }
        await rebuild.swap(db, input.live, input.generation);
        await recordSwap(db, pillow.name, input.processor, input.generation);
      });
    },

    /** Drops the generation that was live before the swap (after the grace period) and ends the rebuild. */
    async dropOldGeneration(input: RebuildTargetInput & { generation: number }): Promise<void> {
      const { pillow, rebuild } = rebuildable(deps, input);
      await withTransaction(deps.pool, async (db) => {
        await rebuild.drop(db, input.generation);
        await recordEnd(db, pillow.name, input.processor, 'done');
      });
    },

    /**
     * Abandons the building generation: writers stop writing it from their next batch (the row
     * changes under their locks), and it is dropped. The live generation is untouched.
     */
    async cancelRebuild(input: RebuildTargetInput & { generation: number | null }): Promise<void> {
      const { pillow, rebuild } = rebuildable(deps, input);
      await withTransaction(deps.pool, async (db) => {
        await takeWriteLocks(db, allWriteLocks(pillow));
        const { rows } = await db.query<{ state: string; building_generation: number | null }>(
          `SELECT state, building_generation FROM pillowtop_generations WHERE pillow = $1 AND processor = $2 FOR UPDATE`,
          [pillow.name, input.processor],
        );
        const building = rows[0]?.building_generation ?? null;
        if (rows[0]?.state !== 'building' || building === null) return;
        if (input.generation !== null && building !== input.generation) return;
        await recordEnd(db, pillow.name, input.processor, 'cancelled');
        await rebuild.drop(db, building);
      });
    },
  };
}

export type RebuildActivities = ReturnType<typeof createRebuildActivities>;

/** The pillow and the processor's rebuild target; a processor that has none fails the rebuild, saying so. */
function rebuildable(
  deps: ActivityDeps,
  input: RebuildTargetInput,
): { pillow: ResolvedPillow; rebuild: RebuildTarget } {
  const pillow = lookupPillow(deps, input.name);
  const processor = pillow.processors.find((p: Processor) => p.name === input.processor);
  if (!processor?.rebuild) {
    const names = rebuildableProcessors(pillow);
    throw ApplicationFailure.nonRetryable(
      `pillow "${pillow.name}" has no rebuildable processor "${input.processor}" (rebuildable: ${names.join(', ') || 'none'})`,
      'NotRebuildable',
    );
  }
  return { pillow, rebuild: processor.rebuild };
}

export function rebuildableProcessors(pillow: ResolvedPillow): string[] {
  return pillow.processors.filter((p) => p.rebuild).map((p) => p.name);
}

/** Every partition's write lock: registering, swapping and cancelling must wait for every writer. */
function allWriteLocks(pillow: ResolvedPillow): string[] {
  return Array.from({ length: Math.max(1, pillow.partitions) }, (_, p) => writeLockName(pillow.name, p));
}

/** The changes whose revision is still the doc's winning one (read under the write lock). */
async function stillCurrent(server: CouchServer, db: string, changes: Change[]): Promise<Change[]> {
  const now = await currentRevs(
    server,
    db,
    changes.map((c) => c.id),
  );
  return changes.filter((c) => {
    const current = now.get(c.id);
    return current ? current.rev === c.rev : c.deleted;
  });
}

/**
 * Writes the page into the generation; a page that throws for a doc's reason is written change by
 * change and the bad ones left out (counted): they fail the live pillow too, which hands them to
 * their retry workflows. Returns how many could not be written.
 */
async function writeIsolating(db: PoolClient, rebuild: RebuildTarget, changes: Change[], generation: number) {
  if (changes.length === 0) return 0;
  await db.query('SAVEPOINT rebuild_page');
  try {
    const result = await rebuild.write(changes, db, generation);
    await db.query('RELEASE SAVEPOINT rebuild_page');
    return result?.failed?.length ?? 0;
  } catch (err) {
    await db.query('ROLLBACK TO SAVEPOINT rebuild_page');
    if (isOutage(err)) throw err;
  }
  let bad = 0;
  for (const change of changes) {
    await db.query('SAVEPOINT rebuild_change');
    try {
      const result = await rebuild.write([change], db, generation);
      bad += result?.failed?.length ?? 0;
      await db.query('RELEASE SAVEPOINT rebuild_change');
    } catch (err) {
      await db.query('ROLLBACK TO SAVEPOINT rebuild_change');
      if (isOutage(err)) throw err;
      bad += 1;
    }
  }
  return bad;
}
