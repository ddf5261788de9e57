import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { withOps } from '../../operations/pillow-context';
import {
  chooseRebuildProcessor,
  RebuildChoiceError,
  startRebuild,
  watchRebuild,
} from '../../operations/rebuild-pillow';
import { rebuildLine, rebuildWorkflowId } from '../../workflows/rebuild-types';
import { CliError } from '../cli-error';

interface RebuildOptions {
  processor?: string;
  cancel?: boolean;
  detach?: boolean;
  grace?: string;
}

export function registerRebuild(program: Command): void {
  program
    .command('rebuild')
    .description(
      "build a new generation of ONE processor's table or search index from the source beside the live one, swap it in atomically, drop the old one",
    )
    .argument('<name>', 'pillow from the config file')
    .option(
      '--processor <processor>',
      'the processor (its name, or its table/alias); required when several can rebuild',
    )
    .option('--cancel', 'cancel the running rebuild: the new generation is dropped, the live one untouched')
    .option('--detach', 'start it and return; watch it with `pillowtop rebuild NAME` again')
    .option('--grace <seconds>', 'keep the old generation this long after the swap (default 600)')
    .addHelpText(
      'after',
      `
Runs as the workflow pillow/NAME/rebuild/PROCESSOR. The live pillow keeps running and writes both
generations meanwhile; readers keep querying the plain table name or alias. Ctrl-C stops watching,
not the rebuild. Same as:
  temporal workflow start --type rebuild --task-queue pillowtop --workflow-id pillow/NAME/rebuild/PROCESSOR --input '{"name":"NAME","processor":"PROCESSOR"}'`,
    )
    .action(async (name: string, opts: RebuildOptions) => {
      const grace = opts.grace === undefined ? undefined : Number(opts.grace);
      if (grace !== undefined && !(grace >= 0)) throw new CliError('--grace must be a number of seconds', 2);
      await withOps([name], async (ctx, [pillow]) => {
        const processor = usage(() => chooseRebuildProcessor(pillow, opts.processor));
        const workflowId = rebuildWorkflowId(pillow.name, processor);
        if (opts.cancel) {
          const handle = ctx.client.workflow.getHandle(workflowId);
          const desc = await handle.describe().catch(() => null);
          if (desc?.status.name !== 'RUNNING') throw new CliError(`${workflowId} is not running`);
          await handle.cancel();
          await handle.result().catch(() => undefined);
          console.log(`${workflowId}: cancelled; the new generation is dropped`);
          return;
        }
        const { started } = await startRebuild(ctx.client, pillow, processor, ctx.taskQueue, grace);
        console.error(`${workflowId}: ${started ? 'started' : 'already running, watching it'}`);
        if (opts.detach) return;
        const bar = process.stderr.isTTY
          ? new SingleBar(
              { format: ' {bar} {value}/~{total} docs | {rate}/s | {phase}', hideCursor: true },
              Presets.shades_classic,
            )
          : null;
        let lastLine = 0;
        const result = await watchRebuild(ctx.client, workflowId, (st) => {
          const total = Math.max(st.estimatedTotal ?? 0, st.done);
          if (bar) {
            if (!bar.isActive) bar.start(total, st.done, { rate: Math.round(st.rate), phase: st.phase });
            bar.setTotal(total);
            bar.update(st.done, { rate: Math.round(st.rate), phase: st.phase });
          } else if (Date.now() - lastLine > 5000) {
            lastLine = Date.now();
            console.error(`${workflowId}: ${rebuildLine(st)}`);
          }
        });
        bar?.stop();
        console.log(`${workflowId}: ${rebuildLine(result)} (${result.done} docs written, ${result.failed} failed)`);
      });
    });
}

/** A wrong or missing --processor is a usage error: exit code 2, like a bad option. */
function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RebuildChoiceError) throw new CliError(err.message, 2);
    throw err;
  }
}
