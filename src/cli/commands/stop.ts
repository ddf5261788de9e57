import type { Command } from 'commander';
import { withOps } from '../../operations/pillow-context';
import { stopPillow } from '../../operations/stop-pillow';

export function registerStop(program: Command): void {
  program
    .command('stop')
    .description('stop pillows gracefully (cancel): the checkpoint is kept and the next start resumes there')
    .argument('<name...>', 'pillows from the config file')
    .addHelpText('after', '\nSame as: temporal workflow cancel --workflow-id pillow/NAME')
    .action(async (names: string[]) => {
      await withOps(names, async (ctx, pillows) => {
        for (const pillow of pillows) {
          for (const r of await stopPillow(ctx.client, pillow)) {
            console.log(
              r.stopped
                ? `${r.workflowId}: stopped at checkpoint ${r.checkpoint ?? '(unknown)'}`
                : `${r.workflowId}: not running (${r.state})`,
            );
          }
        }
      });
    });
}
