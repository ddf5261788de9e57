import type { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../deps';
import type { SliceInput } from '../../workflows/types';
import type { ResolvedPillow } from '../../config/pillow-definition';
import { pillowKey } from '../../workflows/ids';
import { couchServer, type CouchServer } from '../../couch/couch-client';
import { readChanges, type ChangesPage } from '../../couch/read-changes';
import type { Seq } from '../../types';
import { lookupPillow, notOnThisWorker } from '../lookup-pillow';
import { ensurePillowSetup } from '../setup-pillow';
import { estimatePending } from './estimate-pending';
import { readOwnChanges } from './read-own-changes';

/** What every step of a page works with: the pillow, where its feed is, and how to read it. */
export interface PageContext {
  deps: ActivityDeps;
  ctx: Context;
  pillow: ResolvedPillow;
  /** The pillow under the partition count the workflow runs with, whatever this worker's config says. */
  layout: ResolvedPillow;
  /** The partition this workflow reads; absent for an unpartitioned pillow. */
  partition: number | undefined;
  /** The checkpoint's key (pillow, partition, reindex). */
  key: string;
  server: CouchServer;
  /** Reads one page of `_changes` from `since`, long-polling up to `longPollMs` (0: at once). */
  read(since: Seq, longPollMs: number): Promise<ChangesPage>;
  /** How far the source's head is past `at`: an estimate from the db info (catching up: a cached head). */
  sourceAhead(at: Seq, catchingUp?: boolean): Promise<number | null>;
}

/** Finds the pillow (and the partition) on this worker, sets its tables up once, connects to its source. */
export async function pageContext(deps: ActivityDeps, input: SliceInput, ctx: Context): Promise<PageContext> {
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
  await ensurePillowSetup(deps.pool, pillow, deps.log);
  const server = await couchServer(pillow.source.url);
  const readTimeoutMs = pillow.readTimeoutSeconds * 1000;
  const layout = partitions === pillow.partitions ? pillow : { ...pillow, partitions };
  // a partition reads the feed without bodies and fetches only its own docs' (read-own-changes.ts),
  // except from pouchdb-server: its feed holds the bodies in the by-seq store, so reading them with
  // the feed costs nothing more and a bulk read on top would cost a request per page
  const ownDocsOnly = partitions > 1 && server.kind !== 'pouchdb-server' ? input.partition : undefined;
  return {
    deps,
    ctx,
    pillow,
    layout,
    partition: input.partition,
    key,
    server,
    read: (since, longPollMs) => {
      const opts = {
        server,
        db: pillow.source.db,
        since,
        limit: pillow.batchSize,
        longPollMs,
        couchFilter: pillow.filter.couchFilter,
        signal: ctx.cancellationSignal,
        readTimeoutMs,
      };
      return ownDocsOnly === undefined ? readChanges(opts) : readOwnChanges(layout, ownDocsOnly, opts);
    },
    sourceAhead: (at, catchingUp = false) => estimatePending(server, pillow.source.db, at, catchingUp, readTimeoutMs),
  };
}
