import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { withOps } from '../../operations/pillow-context';
import { startReindex, watchReindex } from '../../operations/reindex-pillow';
import { CliError } from '../cli-error';

interface ReindexOptions {
  restart?: boolean;
  detach?: boolean;
}

export function registerReindex(program: Command): void {
  program
    .command('reindex')
    .description(
      "backfill: run every doc of the pillow's database through its processors again, with progress; resumable",
    )
    .argument('<name>', 'pillow from the config file')
    .option('--restart', 'start over from the beginning of the feed instead of resuming a stopped reindex')
    .option('--detach', 'start it and return; watch it with `pillowtop reindex NAME` again')
    .addHelpText(
      'after',
      `
Runs as the workflow pillow/NAME/reindex with its own checkpoint, beside the live pillow, and
completes once caught up. Ctrl-C stops watching, not the reindex. Same as:
  temporal workflow start --type pillow --task-queue pillowtop --workflow-id pillow/NAME/reindex --input '{"name":"NAME","reindex":true}'`,
    )
    .action(async (name: string, opts: ReindexOptions) => {
      await withOps([name], async (ctx, [pillow]) => {
        const { workflowId, started } = await startReindex(ctx.client, pillow, ctx.taskQueue, opts.restart === true);
        if (!started && opts.restart)
          throw new CliError(
            `${workflowId} is already running; stop it first to restart (pillowtop stop is for pillows: temporal workflow cancel --workflow-id ${workflowId})`,
          );
        console.error(`${workflowId}: ${started ? 'started' : 'already running, watching it'}`);
        if (opts.detach) return;
        const bar = process.stderr.isTTY
          ? new SingleBar(
              { format: ' {bar} {value}/{total} changes | {rate}/s | checkpoint {checkpoint}', hideCursor: true },
              Presets.shades_classic,
            )
          : null;
        let lastLine = 0;
        // until the first batch is written the status has no counts or checkpoint worth showing
        let announced = false;
        const result = await watchReindex(ctx.client, workflowId, (st) => {
          const total = st.processed + st.skipped + st.failed + (st.pending ?? 0);
          const done = st.processed + st.skipped + st.failed;
          if (st.batches === 0) {
            if (!announced) console.error(`${workflowId}: starting backfill of pillow ${name}…`);
            announced = true;
            return;
          }
          if (bar) {
            if (!bar.isActive) bar.start(total, done, { rate: st.rate, checkpoint: st.checkpoint });
            bar.setTotal(Math.max(total, done));
            bar.update(done, { rate: st.rate, checkpoint: st.checkpoint.slice(0, 20) });
          } else if (Date.now() - lastLine > 5000) {
            lastLine = Date.now();
            console.error(`${workflowId}: ${done} of ~${total} changes, checkpoint ${st.checkpoint}`);
          }
        });
        bar?.stop();
        console.log(
          `${workflowId}: done: ${result.processed} processed, ${result.failed} failed, caught up at ${result.checkpoint}`,
        );
        if (result.failed > 0) console.log(`failed changes are retried on their own: pillowtop errors ${name}`);
      });
    });
}
