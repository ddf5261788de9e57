import type { Command } from 'commander';
import { withOps } from '../../operations/pillow-context';
import { setPaused } from '../../operations/steer-pillow';

export function registerPauseResume(program: Command): void {
  for (const paused of [true, false]) {
    const verb = paused ? 'pause' : 'resume';
    program
      .command(verb)
      .description(
        paused
          ? 'pause a pillow: the running slice is interrupted before its page commits; the checkpoint stays'
          : 'resume a paused pillow from its checkpoint',
      )
      .argument('<name>', 'a pillow from the config file')
      .addHelpText('after', `\nSame as: temporal workflow signal --workflow-id pillow/NAME --name ${verb}`)
      .action(async (name: string) => {
        await withOps([name], async (ctx, [pillow]) => {
          for (const view of await setPaused(ctx.client, pillow, paused)) {
            console.log(`${view.workflowId}: ${view.paused ? 'paused' : 'resumed'} at checkpoint ${view.checkpoint}`);
          }
        });
      });
  }
}
