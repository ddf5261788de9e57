import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import type { SliceInput, PillowDescription, RetryDocOutcome } from '../workflows/types';
import { countFailingDocs, resolveFailingDocs } from '../postgres/failing-docs';
import { pillowKey } from '../workflows/ids';
import { lookupPillow, notOnThisWorker } from './lookup-pillow';
import { couchServer } from '../couch/couch-client';
import { redactUrl } from '../couch/redact-url';
import { databaseInfo } from '../couch/read-changes';
import { readDoc } from '../couch/read-doc';
import { seqRejection } from '../couch/check-seq';
import { ensurePillowSetup } from './setup-pillow';
import { resumeCheckpoint, writeCheckpoint } from '../checkpoint';
import { filterChanges, type FilteredChanges } from './filter-changes';
import { writeChanges } from './write-changes';
import { isOutage } from './outage';
import { writeLocksFor } from './write-locks-for';
import { handOffFailures } from './hand-off-failures';
import { errorText } from '../processors/doc-error';
import { processSlice } from './process-slice';
import type { Seq } from '../types';

/** Activities built over their dependencies, like the Temporal samples' `createActivities`. */
export function createActivities(deps: ActivityDeps) {
  return {
    /**
     * Loads a pillow's definition by name, creates its tables, and finds the stored checkpoint it may
     * resume from. `partitions` is the count the workflow runs under (given by `pillowtop start` and
     * carried across continue-as-new); without it this worker's config decides.
     */
    async describePillow(input: {
      name: string;
      partition?: number;
      partitions?: number;
      reindex?: boolean;
    }): Promise<PillowDescription> {
      const pillow = lookupPillow(deps, input.name);
      const partitions = input.partitions ?? pillow.partitions;
      if (
        input.partition !== undefined &&
        !(Number.isInteger(input.partition) && input.partition >= 0 && input.partition < partitions)
      ) {
        throw notOnThisWorker(
          deps,
          `has pillow "${pillow.name}" in ${partitions} partition(s), so no partition ${input.partition}`,
        );
      }
      await ensurePillowSetup(deps.pool, pillow, deps.log);
      const key = pillowKey(pillow.name, input.partition, input.reindex);
      // failures recorded by a run that stopped (or a worker that died) before handing them off
      await handOffFailures(deps, pillow.name, Context.current().info.taskQueue);
      // the unpartitioned pillow (and its reindex) reads every doc, whatever the config's count
      const stored = await resumeCheckpoint(deps.pool, key, input.partition === undefined ? 1 : partitions);
      if (stored.dropped) {
        deps.log.warn('partition count changed: this partition reads its docs again from 0', {
          pillow: key,
          was: stored.dropped.partitions,
          now: partitions,
          droppedCheckpoint: stored.dropped.seq,
        });
      }
      return {
        name: pillow.name,
        key,
        batchSize: pillow.batchSize,
        partitions,
        storedCheckpoint: stored.seq,
        searchAttributes: deps.searchAttributes,
        processors: pillow.processors.map((p) => p.describe?.() ?? p.name),
        source: `${redactUrl(pillow.source.url)}/${pillow.source.db}`,
      };
    },

    /** Stores a checkpoint set by a rewind, an update or a start override, with a history entry. */
    async saveCheckpoint(input: { key: string; seq: Seq; reason: string }): Promise<void> {
      await writeCheckpoint(deps.pool, input.key, input.seq, input.reason);
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

    processSlice: (input: SliceInput) => processSlice(deps, input),
    /** The same activity under its name before 2026-11-27: pillows whose history predates the rename schedule it. */
    processBatch: (input: SliceInput) => processSlice(deps, input),

    /** The pillow's per-change retry settings, read by each `retryChange` workflow when it starts. */
    async changeRetryPolicy(input: { pillow: string }): Promise<RetryDocOutcome['retry']> {
      return lookupPillow(deps, input.pillow).retry;
    },

    /**
     * Re-reads the doc as it is now and runs it through the pillow's filter and processors: the
     * current revision, never the one that failed. It reads once it holds the pillow's write lock,
     * so it never writes a revision older than one the pillow has committed.
     */
    async retryDoc(input: { pillow: string; docId: string }): Promise<RetryDocOutcome> {
      const pillow = lookupPillow(deps, input.pillow);
      const retry = pillow.retry;
      await ensurePillowSetup(deps.pool, pillow, deps.log);
      const server = await couchServer(pillow.source.url);
      const load = async (): Promise<FilteredChanges> => {
        const change = await readDoc(server, pillow.source.db, input.docId);
        // never existed, or purged: nothing to write
        return change ? filterChanges(pillow, [change]) : { kept: [], failed: [], filteredOut: new Set() };
      };
      try {
        const written = await writeChanges({
          pool: deps.pool,
          pillow: pillow.name,
          processors: pillow.processors,
          locks: writeLocksFor(pillow, undefined, [{ id: input.docId, seq: null, deleted: false }]),
          load,
          recordFailures: false,
          log: deps.log,
          metrics: deps.metrics,
          slowThresholdMs: pillow.slowThresholdMs,
        });
        if (written.failures.length > 0) return { ok: false, error: written.failures[0].error, retry };
        // gone from CouchDB (or filtered): the writer found nothing to write, and nothing is failing any more
        if ((await resolveFailingDocs(deps.pool, pillow.name, [input.docId])).length > 0 || written.resolved.length > 0)
          deps.metrics.parked(pillow.name, await countFailingDocs(deps.pool, pillow.name));
        return { ok: true, retry };
      } catch (err) {
        // an outage is not this doc's fault: let Temporal retry the activity instead of spending an attempt
        if (isOutage(err)) throw err;
        return { ok: false, error: errorText(err), retry };
      }
    },
  };
}

export type PillowActivities = ReturnType<typeof createActivities>;
