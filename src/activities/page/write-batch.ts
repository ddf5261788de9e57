import { ApplicationFailure } from '@temporalio/common';
import type { ChangesPage } from '../../couch/read-changes';
import { currentRevs } from '../../couch/current-revs';
import type { CouchServer } from '../../couch/couch-client';
import { errorText } from '../../processors/doc-error';
import type { SliceInput } from '../../workflows/types';
import { filterChanges, type FilteredChanges } from '../filter-changes';
import { isOutage } from '../outage';
import { writeChanges, type WriteResult } from '../write-changes';
import { writeLocksFor } from '../write-locks-for';
import { throwIfCancelled } from './cancelled';
import type { PageContext } from './page-context';

/**
 * Writes the page's batch: its changes filtered (this partition's, the pillow's doc types), run through
 * every processor and the checkpoint moved to the page's `last_seq`, in one transaction. A quiet long
 * poll has nothing to write and the checkpoint stays: no transaction. A failure that is not one doc's
 * (an outage, or a bug) fails the slice, to be retried by Temporal.
 */
export async function writeBatch(at: PageContext, input: SliceInput, page: ChangesPage): Promise<WriteResult> {
  const { pillow, layout, server } = at;
  const filtered = filterChanges(layout, page.changes, input.partition);
  const quiet = page.changes.length === 0 && page.lastSeq === input.since;
  if (quiet) return { loaded: filtered, failures: [], resolved: [] };
  try {
    return await writeChanges({
      pool: at.deps.pool,
      pillow: pillow.name,
      processors: pillow.processors,
      locks: writeLocksFor(layout, input.partition, filtered.kept),
      // a backfill writes beside the live pillow: what changed since its page was read is the pillow's to write
      load: input.reindex ? () => stillCurrent(server, pillow.source.db, filtered) : async () => filtered,
      checkpoint: { key: at.key, since: input.since, lastSeq: page.lastSeq },
      recordFailures: true,
      log: at.deps.log,
      metrics: at.deps.metrics,
      slowThresholdMs: pillow.slowThresholdMs,
      signal: at.ctx.cancellationSignal,
    });
  } catch (err) {
    throwIfCancelled(at.ctx);
    // outages are retried by Temporal; anything else here is a bug worth retrying visibly too
    throw ApplicationFailure.retryable(errorText(err), isOutage(err) ? 'Outage' : (err as Error).name);
  }
}

/**
 * A backfill's page, less the changes whose doc has moved on since the page was read (checked once
 * the write lock is held): the live pillow writes those from its own feed, and writing the older
 * revision here after it would leave the sink stale for good.
 */
async function stillCurrent(server: CouchServer, db: string, filtered: FilteredChanges): Promise<FilteredChanges> {
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
