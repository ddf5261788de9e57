import type { Command } from 'commander';
import Table from 'cli-table3';
import { withOps } from '../../operations/pillow-context';
import { listRetryChanges } from '../../operations/retry-changes';
import { loadConfig } from '../../config/load-config';

export function registerErrors(program: Command): void {
  program
    .command('errors')
    .description('changes that failed: retrying, or parked after their attempts, with their last error')
    .argument('[name]', 'only this pillow')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Same as: temporal workflow list --query 'WorkflowType="retryChange" AND ExecutionStatus="Running" AND PillowName="NAME"'
   then: temporal workflow query --workflow-id 'pillow/NAME/change/DOC_ID' --type status
With a codec key (PILLOWTOP_CODEC_KEY) the ids end in h-<keyed hash> instead of the doc id, and the
Temporal CLI reads the status only with --codec-endpoint (pillowtop codec-server).`,
    )
    .action(async (name: string | undefined, opts: { json?: boolean }) => {
      const names = name ? [name] : loadConfig().map((p) => p.name);
      await withOps(names, async (ctx) => {
        const rows = await listRetryChanges(ctx.client, names);
        if (opts.json) {
          console.log(JSON.stringify({ changes: rows }, null, 2));
          return;
        }
        if (rows.length === 0) {
          console.log(`no failing changes${name ? ` in pillow ${name}` : ''}`);
          return;
        }
        const table = new Table({
          head: ['pillow', 'doc', 'state', 'attempts', 'next attempt', 'last error'],
          colWidths: [null, null, null, null, null, 70],
          wordWrap: true,
          style: { head: [], border: [] },
        });
        for (const r of rows)
          table.push([r.pillow, r.docId, r.state, r.attempts ?? '?', r.nextAttemptAt ?? '-', r.lastError ?? '']);
        console.log(table.toString());
        const parked = rows.filter((r) => r.state === 'parked').length;
        console.log(
          `${rows.length} failing change(s), ${parked} parked; \`pillowtop retry NAME [DOC_ID...]\` retries now`,
        );
      });
    });
}
