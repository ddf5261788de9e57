import type { ActivityDeps } from './deps';
import type { ResolvedPillow } from '../config/pillow-definition';
import type { CouchServer } from '../couch/couch-client';
import { currentRevs } from '../couch/current-revs';
import { advanceSweep, pendingSweeps, startSweeps } from '../postgres/sweeps';
import type { Change, Processor } from '../types';
import type { FilteredChanges } from './filter-changes';
import { partitionOf } from '../partition-hash';
import { writeChanges } from './write-changes';
import { writeLocksFor } from './write-locks-for';

// doc ids looked up in CouchDB at once
const SWEEP_PAGE = 500;

// per pillow key, whether a sweep may be under way (unknown until this process first looks)
const underWay = new Map<string, boolean>();

/**
 * A database re-created or restored from a backup (its feed went backwards) can lack docs the sinks
 * still hold, and its feed never says so: no deletion is ever handed out for a doc it never had.
 * So each processor that can list its docs (`heldDocIds`) has them checked against the source, and
 * those the source no longer has are removed. The sweep is recorded, so it goes on after a restart.
 */
export async function startSweep(deps: ActivityDeps, pillow: ResolvedPillow, key: string, reason: string) {
  const names = pillow.processors.filter((p) => p.heldDocIds).map((p) => p.name);
  await startSweeps(deps.pool, key, names, reason);
  underWay.set(key, names.length > 0);
  if (names.length > 0) deps.log.warn('checking the sinks for docs the source no longer has', { pillow: key, reason });
}

/** Goes on with a sweep under way for this key for about `budgetMs`, so the feed keeps moving too. */
export async function continueSweep(
  deps: ActivityDeps,
  pillow: ResolvedPillow,
  key: string,
  partition: number | undefined,
  server: CouchServer,
  budgetMs: number,
): Promise<void> {
  if (underWay.get(key) === false) return;
  const sweeps = await pendingSweeps(deps.pool, key);
  const until = performance.now() + budgetMs;
  for (const sweep of sweeps) {
    const processor = pillow.processors.find((p) => p.name === sweep.processor);
    let cursor = processor?.heldDocIds ? sweep.cursor : null;
    if (processor?.heldDocIds) {
      do {
        const held = await heldPage(deps, processor, cursor);
        const mine = held.ids.filter(
          (id) => partition === undefined || pillow.partitions <= 1 || partitionOf(id, pillow.partitions) === partition,
        );
        await removeGone(deps, pillow, processor, server, mine);
        cursor = held.cursor;
        await advanceSweep(deps.pool, key, sweep.processor, cursor);
      } while (cursor !== null && performance.now() < until);
    } else {
      await advanceSweep(deps.pool, key, sweep.processor, null);
    }
    if (cursor !== null) return; // budget spent: the next page goes on
    deps.log.info('sweep finished', { pillow: key, processor: sweep.processor });
  }
  underWay.set(key, false);
}

async function heldPage(deps: ActivityDeps, processor: Processor, cursor: string | null) {
  const db = await deps.pool.connect();
  try {
    return await processor.heldDocIds!({ db }, cursor, SWEEP_PAGE);
  } finally {
    db.release();
  }
}

/** Removes, through the processor, the docs among `ids` that CouchDB no longer has live (checked under the lock). */
async function removeGone(
  deps: ActivityDeps,
  pillow: ResolvedPillow,
  processor: Processor,
  server: CouchServer,
  ids: string[],
): Promise<void> {
  const gone = async (candidates: string[]) => {
    const now = await currentRevs(server, pillow.source.db, candidates);
    return candidates.filter((id) => !now.get(id) || now.get(id)!.deleted);
  };
  const first = await gone(ids);
  if (first.length === 0) return;
  const deletions = (found: string[]): Change[] => found.map((id) => ({ id, seq: null, deleted: true }));
  const written = await writeChanges({
    pool: deps.pool,
    pillow: pillow.name,
    processors: [processor],
    locks: writeLocksFor(pillow, undefined, deletions(first)),
    // again under the lock: a doc created since the first look is the pillow's to write
    load: async (): Promise<FilteredChanges> => ({
      kept: deletions(await gone(first)),
      failed: [],
      filteredOut: new Set(),
    }),
    recordFailures: false,
    log: deps.log,
    metrics: deps.metrics,
    slowThresholdMs: pillow.slowThresholdMs,
  });
  deps.log.warn('removed docs the source no longer has', {
    pillow: pillow.name,
    processor: processor.name,
    count: written.loaded.kept.length,
    docIds: written.loaded.kept.slice(0, 20).map((c) => c.id),
  });
}
