import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { startPillow } from '../../operations/start-pillow';
import { withOps } from '../../operations/pillow-context';
import { loadConfig } from '../../config/load-config';
import { CliError } from '../cli-error';
import { leftoverWorkflows, oldLayoutReason } from '../../operations/leftover-workflows';
import type { ResolvedPillow } from '../../config/pillow-definition';
import { statusQuery } from '../../workflows/messages';

/** The partition count a running partition runs under, when it is not the config's (null if unknown). */
async function runsUnderOtherCount(client: Client, pillow: ResolvedPillow, workflowId: string): Promise<number | null> {
  if (pillow.partitions <= 1 && !/\/p\d+$/.test(workflowId)) return null;
  const view = await client
    .withDeadline(Date.now() + 5000, () => client.workflow.getHandle(workflowId).query(statusQuery))
    .catch(() => null);
  return view?.partitions && view.partitions !== pillow.partitions ? view.partitions : null;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start pillows (idempotent: a running pillow is left as it is); each resumes from its checkpoint')
    .argument('[name...]', 'pillows from the config file')
    .option('--all', 'every pillow in the config file')
    .addHelpText(
      'after',
      `
Same as: temporal workflow start --type pillow --task-queue pillowtop --workflow-id pillow/NAME --input '{"name":"NAME"}'`,
    )
    .action(async (names: string[], opts: { all?: boolean }) => {
      if (opts.all && names.length > 0) throw new CliError('give pillow names or --all, not both', 2);
      if (!opts.all && names.length === 0) throw new CliError('name the pillows to start, or use --all', 2);
      const wanted = opts.all ? loadConfig().map((p) => p.name) : names;
      await withOps(wanted, async (ctx, pillows) => {
        for (const pillow of pillows) {
          for (const r of await startPillow(ctx.client, pillow, ctx.taskQueue)) {
            const other = r.started ? null : await runsUnderOtherCount(ctx.client, pillow, r.workflowId);
            console.log(`${r.workflowId}: ${r.started ? 'started' : 'already running'} (run ${r.runId})`);
            if (other) console.log(`${r.workflowId}: ${oldLayoutReason(pillow, r.workflowId, other)}`);
          }
          for (const l of await leftoverWorkflows(ctx.client, pillow)) console.log(`${l.workflowId}: ${l.reason}`);
        }
      });
    });
}
