import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { lastCheckpointWithReason, readCheckpoint, REWIND_REASON, writeCheckpoint } from '../checkpoint';
import { pillowKey, pillowWorkflowId } from '../workflows/ids';
import { setCheckpointUpdate } from '../workflows/messages';
import type { SetCheckpointResult } from '../workflows/types';

export interface FeedRewindFixed extends SetCheckpointResult {
  workflowId: string;
  /** When the pillow recorded the last seq before the feed went backwards. */
  recordedAt: Date;
  /** A running pillow was moved with its update; a stopped one resumes at `current` on its next start. */
  running: boolean;
}

/**
 * `pillowtop fix-rewind`: the original's `fix_checkpoint_after_rewind`. When a CouchDB failover hands
 * out seqs from an earlier point, the pillow records the last seq before the feed went backwards in
 * its checkpoint history; this moves the checkpoint back there. A running pillow is moved with its
 * `setCheckpoint` update; a stopped one has its stored checkpoint rewritten, so the next start resumes there.
 * Needs no config: the pillow may no longer be configured. Temporal is contacted (`connect`) only
 * once a recorded rewind is found.
 */
export async function fixFeedRewind(
  pool: Pool,
  connect: () => Promise<Client>,
  name: string,
  partition?: number,
): Promise<FeedRewindFixed> {
  const key = pillowKey(name, partition);
  const workflowId = pillowWorkflowId(name, partition);
  const before = await lastRewind(pool, key);
  const handle = (await connect()).workflow.getHandle(workflowId);
  const running = await handle
    .describe()
    .then((d) => d.status.name === 'RUNNING')
    .catch(() => false);
  let moved: SetCheckpointResult;
  if (running) {
    moved = await handle.executeUpdate(setCheckpointUpdate, { args: [{ seq: before.seq }] });
  } else {
    const previous = (await readCheckpoint(pool, key)) ?? '0';
    await writeCheckpoint(pool, key, before.seq, `fix-rewind from ${previous}`);
    moved = { previous, current: before.seq };
  }
  return { workflowId, ...moved, recordedAt: before.recordedAt, running };
}

async function lastRewind(pool: Pool, key: string) {
  let found;
  try {
    found = await lastCheckpointWithReason(pool, key, REWIND_REASON);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === '42P01') throw new Error(`no pillowtop checkpoint history in DATABASE_URL: has "${key}" ever run?`);
    throw new Error(`cannot read the checkpoint history from DATABASE_URL: ${e.message}`);
  }
  if (!found) throw new Error(`no feed rewind recorded for pillow "${key}": nothing to fix`);
  return found;
}
