import type { Command } from 'commander';
import { withOps } from '../../operations/pillow-context';
import { retryNow } from '../../operations/retry-changes';

export function registerRetry(program: Command): void {
  program
    .command('retry')
    .description("retry failing changes now (parked or waiting): the given docs, or all of the pillow's")
    .argument('<name>', 'a pillow from the config file')
    .argument('[docIds...]', 'doc ids (default: every failing doc of the pillow)')
    .addHelpText(
      'after',
      "\nSame as: temporal workflow signal --workflow-id 'pillow/NAME/change/DOC_ID' --name retryNow" +
        '\n(with a codec key the id ends in h-<keyed hash> instead of the doc id: see `pillowtop errors`)',
    )
    .action(async (name: string, docIds: string[]) => {
      await withOps([name], async (ctx) => {
        const signalled = await retryNow(ctx.client, name, docIds, ctx.codecKeys);
        console.log(
          signalled.length === 0
            ? `no failing changes in pillow ${name}`
            : `retrying ${signalled.length} change(s) of pillow ${name} now; \`pillowtop errors ${name}\` shows how they fare`,
        );
      });
    });
}
