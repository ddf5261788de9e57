import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps';
import type { BatchInput, PillowDescription, RetryDocOutcome } from '../workflows/types';
import { countFailingDocs, removeFailingDocs } from '../postgres/failing-docs';
import { pillowKey } from '../workflows/ids';
import { lookupPillow } from './lookup-pillow';
import { couchServer, redactUrl } from '../couch/couch-client';
import { databaseInfo } from '../couch/read-changes';
import { readDoc } from '../couch/read-doc';
import { seqRejection } from '../couch/check-seq';
import { ensurePillowSetup } from './setup-pillow';
import { readCheckpoint } from '../postgres/checkpoint-read';
import { writeCheckpoint } from '../postgres/checkpoint-write';
import { recordCheckpoint } from '../postgres/checkpoint-history';
import { withTransaction } from '../postgres/pool';
import { filterChanges } from './filter-changes';
import { isTransientError, runProcessors } from './run-processors';
import { errorText } from '../processors/doc-error';
import { processBatch } from './process-batch';
import type { Seq } from '../types';

/** Activities built over their dependencies, like the Temporal samples' `createActivities`. */
export function createActivities(deps: ActivityDeps) {
  return {
    /** Loads a pillow's definition by name, creates its tables, and finds its stored checkpoint. */
    async describePillow(input: { name: string; partition?: number; reindex?: boolean }): Promise<PillowDescription> {
      const pillow = lookupPillow(deps, input.name);
      if (
        input.partition !== undefined &&
        !(Number.isInteger(input.partition) && input.partition >= 0 && input.partition < pillow.partitions)
      ) {
        throw ApplicationFailure.nonRetryable(
          `pillow "${pillow.name}" has ${pillow.partitions} partition(s); there is no partition ${input.partition}`,
          'UnknownPartition',
        );
      }
      await ensurePillowSetup(deps.pool, pillow, deps.log);
      const key = pillowKey(pillow.name, input.partition, input.reindex);
      deps.metrics.parked(pillow.name, await countFailingDocs(deps.pool, pillow.name));
      return {
        name: pillow.name,
        key,
        batchSize: pillow.batchSize,
        partitions: pillow.partitions,
        storedCheckpoint: await readCheckpoint(deps.pool, key),
        searchAttributes: deps.searchAttributes,
        processors: pillow.processors.map((p) => p.describe?.() ?? p.name),
        source: `${redactUrl(pillow.source.url)}/${pillow.source.db}`,
      };
    },

    /** Stores a checkpoint set by a rewind, an update or a start override, with a history entry. */
    async saveCheckpoint(input: { key: string; seq: Seq; reason: string }): Promise<void> {
      await withTransaction(deps.pool, async (db) => {
        await writeCheckpoint(db, input.key, input.seq);
        await recordCheckpoint(db, input.key, input.seq, input.reason);
      });
    },

    /** The feed's head, for `rewind {"to": "now"}`. */
    async headSeq(input: { name: string }): Promise<Seq> {
      const pillow = lookupPillow(deps, input.name);
      const server = await couchServer(pillow.source.url);
      return (await databaseInfo(server, pillow.source.db)).updateSeq;
    },

    /**
     * Whether the source would accept `seq` as a checkpoint: `{problem: null}`, or why not. Asked
     * before an operator's checkpoint is stored; throws only when the source cannot be asked.
     */
    async checkSeq(input: { name: string; seq: Seq }): Promise<{ problem: string | null }> {
      const pillow = lookupPillow(deps, input.name);
      const server = await couchServer(pillow.source.url);
      return {
        problem: await seqRejection(server, pillow.source.db, input.seq, pillow.readTimeoutSeconds * 1000),
      };
    },

    processBatch: (input: BatchInput) => processBatch(deps, input),

    /** The pillow's per-change retry settings, read by each `retryChange` workflow when it starts. */
    async changeRetryPolicy(input: { pillow: string }): Promise<RetryDocOutcome['retry']> {
      return lookupPillow(deps, input.pillow).retry;
    },

    /**
     * Re-reads the doc as it is now and runs it through the pillow's filter and processors.
     * The current revision, never the one that failed, so an old revision is never written.
     */
    async retryDoc(input: { pillow: string; docId: string }): Promise<RetryDocOutcome> {
      const pillow = lookupPillow(deps, input.pillow);
      const retry = pillow.retry;
      await ensurePillowSetup(deps.pool, pillow, deps.log);
      const server = await couchServer(pillow.source.url);
      const change = await readDoc(server, pillow.source.db, input.docId);
      if (!change) {
        // never existed, or purged: nothing to write
        await removeFailingDocs(deps.pool, pillow.name, [input.docId]);
        return { ok: true, retry };
      }
      const { kept, failed: filtered } = filterChanges(pillow, [change]);
      if (filtered.length > 0) return { ok: false, error: filtered[0].error, retry };
      if (kept.length === 0) {
        await removeFailingDocs(deps.pool, pillow.name, [input.docId]);
        return { ok: true, retry };
      }
      try {
        const failed = await runProcessors({
          pool: deps.pool,
          pillow: pillow.name,
          processors: pillow.processors,
          changes: kept,
          lastSeq: change.seq ?? '',
          log: deps.log,
          metrics: deps.metrics,
          slowThresholdMs: pillow.slowThresholdMs,
        });
        if (failed.length > 0) return { ok: false, error: failed[0].error, retry };
        if ((await removeFailingDocs(deps.pool, pillow.name, [input.docId])).length > 0)
          deps.metrics.parked(pillow.name, await countFailingDocs(deps.pool, pillow.name));
        return { ok: true, retry };
      } catch (err) {
        // an outage is not this doc's fault: let Temporal retry the activity instead of spending an attempt
        if (isTransientError(err)) throw err;
        return { ok: false, error: errorText(err), retry };
      }
    },
  };
}

export type PillowActivities = ReturnType<typeof createActivities>;
