import type { ResolvedPillow } from '../../config/pillow-definition';
import { readChanges, type ChangesPage, type ReadChangesOptions } from '../../couch/read-changes';
import { readDocsNow, withDocsNow } from '../../couch/read-docs-now';
import { needsBody } from '../filter-changes';

/**
 * A partition's page: the feed without bodies (ids, revisions, deletions, seqs), then the bodies of
 * this partition's live docs alone in one bulk read. With bodies in the feed every partition would
 * pay for every doc, so N partitions would cost the source N whole feeds and add no throughput.
 * The page keeps every change (other partitions' without a body, dropped by filterChanges), so its
 * size, `last_seq` and the counts of skipped changes are what an unpartitioned read would give.
 */
export async function readOwnChanges(
  pillow: ResolvedPillow,
  partition: number,
  opts: Omit<ReadChangesOptions, 'includeDocs'>,
): Promise<ChangesPage> {
  const page = await readChanges({ ...opts, includeDocs: false });
  const ids = page.changes.filter((c) => needsBody(pillow, c, partition)).map((c) => c.id);
  if (ids.length === 0) return page;
  const now = await readDocsNow(opts.server, opts.db, ids, { signal: opts.signal, timeoutMs: opts.readTimeoutMs });
  return { ...page, changes: withDocsNow(page.changes, now) };
}
