import type { Command } from 'commander';
import { withOps } from '../../operations/pillow-context';
import { runDocs } from '../../operations/run-docs';
import { CliError } from '../cli-error';

export function registerRunDocs(program: Command): void {
  program
    .command('run-docs')
    .description("process chosen docs now, as they are in CouchDB now, through the pillow's filter and processors")
    .argument('<name>', 'a pillow from the config file')
    .argument('<docIds...>', 'doc ids')
    .addHelpText(
      'after',
      `
Runs a short runDocs workflow on the pillow task queue (a worker must be up). Same as:
  temporal workflow execute --type runDocs --task-queue pillowtop --workflow-id pillow/NAME/run-docs/ID --input '{"pillow":"NAME","docIds":["DOC_ID"]}'`,
    )
    .action(async (name: string, docIds: string[]) => {
      await withOps([name], async (ctx) => {
        const result = await runDocs(ctx.client, name, docIds, ctx.taskQueue);
        for (const d of result.docs) console.log(`${d.docId}: ${d.ok ? 'ok' : `failed: ${d.error}`}`);
        const failed = result.docs.filter((d) => !d.ok).length;
        if (failed > 0) throw new CliError(`${failed} of ${result.docs.length} doc(s) failed (${result.workflowId})`);
      });
    });
}
