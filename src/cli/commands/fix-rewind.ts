import type { Command } from 'commander';
import { CliError } from '../cli-error';
import { connectClient } from '../../temporal/temporal-client';
import { createPool } from '../../postgres/pool';
import { fixFeedRewind } from '../../operations/fix-feed-rewind';

/** `pillowtop fix-rewind NAME`: see `fixFeedRewind` (src/operations/fix-feed-rewind.ts). */
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
      const pool = createPool(process.env.DATABASE_URL);
      let close = async () => {};
      const connect = async () => {
        const connection = await connectClient();
        close = connection.close;
        return connection.client;
      };
      try {
        const fixed = await fixFeedRewind(pool, connect, name, partition);
        console.log(`${fixed.workflowId}: checkpoint was ${fixed.previous}`);
        console.log(
          `${fixed.workflowId}: checkpoint now ${fixed.current} (last seq before the feed went backwards, recorded ${fixed.recordedAt.toISOString()})${fixed.running ? '' : '; the pillow is not running: its next start resumes there'}`,
        );
      } finally {
        await close();
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
