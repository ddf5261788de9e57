import type { Command } from 'commander';
import type { Pool } from 'pg';
import { CliError } from '../cli-error';
import { connectClient } from '../../temporal/temporal-client';
import { createPool, withTransaction } from '../../postgres/pool';
import { lastCheckpointWithReason, recordCheckpoint, REWIND_REASON } from '../../postgres/checkpoint-history';
import { readCheckpoint } from '../../postgres/checkpoint-read';
import { writeCheckpoint } from '../../postgres/checkpoint-write';
import { pillowKey, pillowWorkflowId } from '../../workflows/ids';
import { setCheckpointUpdate } from '../../workflows/messages';
import type { SetCheckpointResult } from '../../workflows/types';

/**
 * `pillowtop fix-rewind NAME`: the original's `fix_checkpoint_after_rewind`. When a CouchDB
 * failover hands out seqs from an earlier point, the pillow notes the last seq before the feed
 * went backwards in its checkpoint history; this moves the checkpoint back there. A running
 * pillow is moved with its `setCheckpoint` update; a stopped one has its stored checkpoint
 * rewritten, so the next start resumes there.
 */
export function registerFixRewind(program: Command): void {
  program
    .command('fix-rewind')
    .argument('<name>', 'pillow name')
    .option('--partition <index>', 'partition of a partitioned pillow (0-based)')
    .description('move a pillow back to the last checkpoint before its feed went backwards (CouchDB failover)')
    .addHelpText(
      'after',
      `
Reads the checkpoint history in DATABASE_URL (recorded when a batch saw the feed go backwards)
and sets the checkpoint to the last seq before it; prints the old and the new checkpoint.`,
    )
    .action(async (name: string, opts: { partition?: string }) => {
      const partition = parsePartition(opts.partition);
      const key = pillowKey(name, partition);
      const workflowId = pillowWorkflowId(name, partition);
      const pool = createPool(process.env.DATABASE_URL);
      try {
        const before = await lastRewind(pool, key);
        const { client, close } = await connectClient();
        try {
          const handle = client.workflow.getHandle(workflowId);
          const running = await handle
            .describe()
            .then((d) => d.status.name === 'RUNNING')
            .catch(() => false);
          let moved: SetCheckpointResult;
          if (running) {
            moved = await handle.executeUpdate(setCheckpointUpdate, { args: [{ seq: before.seq }] });
          } else {
            moved = await withTransaction(pool, async (db) => {
              const previous = (await readCheckpoint(pool, key)) ?? '0';
              await writeCheckpoint(db, key, before.seq);
              await recordCheckpoint(db, key, before.seq, `fix-rewind from ${previous}`);
              return { previous, current: before.seq };
            });
          }
          console.log(`${workflowId}: checkpoint was ${moved.previous}`);
          console.log(
            `${workflowId}: checkpoint now ${moved.current} (last seq before the feed went backwards, recorded ${before.recordedAt.toISOString()})${running ? '' : '; the pillow is not running: its next start resumes there'}`,
          );
        } finally {
          await close();
        }
      } finally {
        await pool.end();
      }
    });
}

function parsePartition(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--partition must be a whole number from 0, got "${value}"`);
  return n;
}

async function lastRewind(pool: Pool, key: string) {
  let found;
  try {
    found = await lastCheckpointWithReason(pool, key, REWIND_REASON);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === '42P01')
      throw new CliError(`no pillowtop checkpoint history in DATABASE_URL: has "${key}" ever run?`);
    throw new CliError(`cannot read the checkpoint history from DATABASE_URL: ${e.message}`);
  }
  if (!found) throw new CliError(`no feed rewind recorded for pillow "${key}": nothing to fix`);
  return found;
}
