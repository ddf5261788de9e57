import readline from 'node:readline';
import type { Command } from 'commander';
import Table from 'cli-table3';
import { withOps } from '../../operations/pillow-context';
import { pillowStatusRows, type PillowStatusRow } from '../../operations/pillow-status';
import { loadConfig } from '../../config/load-config';
import { CliError } from '../cli-error';
import { rebuildNotes } from '../../operations/rebuild-status';

interface StatusOptions {
  json?: boolean;
  watch?: boolean;
  interval: string;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('how each pillow stands: state, checkpoint, processed, failed, pending changes, lag, last batch')
    .argument('[name]', 'only this pillow (default: every pillow in the config file)')
    .option('--json', 'machine-readable: {"pillows": [...]}, one entry per pillow workflow')
    .option('--watch', 'refresh in place until Ctrl-C')
    .option('--interval <seconds>', 'refresh interval for --watch', '2')
    .addHelpText('after', '\nSame as, per pillow: temporal workflow query --workflow-id pillow/NAME --type status')
    .action(async (name: string | undefined, opts: StatusOptions) => {
      const interval = Number(opts.interval);
      if (!(interval > 0)) throw new CliError('--interval must be a positive number of seconds', 2);
      if (opts.watch && opts.json) throw new CliError('--watch and --json do not go together', 2);
      const names = name ? [name] : loadConfig().map((p) => p.name);
      await withOps(names, async (ctx, pillows) => {
        const read = async () => (await Promise.all(pillows.map((p) => pillowStatusRows(ctx.client, p)))).flat();
        if (opts.json) {
          const rebuilds = await rebuildNotes(ctx.client, pillows);
          console.log(JSON.stringify({ pillows: await read(), rebuilds }, null, 2));
          return;
        }
        if (!opts.watch) {
          console.log([renderTable(await read()), ...(await rebuildNotes(ctx.client, pillows))].join('\n'));
          return;
        }
        await watch(read, interval * 1000);
      });
    });
}

async function watch(read: () => Promise<PillowStatusRow[]>, intervalMs: number): Promise<void> {
  let stop = false;
  let wake: () => void = () => undefined;
  const onSignal = () => {
    stop = true;
    wake();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    while (!stop) {
      const text = `${renderTable(await read())}\nrefreshed ${new Date().toISOString()} · every ${intervalMs / 1000}s · Ctrl-C to stop\n`;
      // redraw from the top-left corner instead of scrolling
      readline.cursorTo(process.stdout, 0, 0);
      readline.clearScreenDown(process.stdout);
      process.stdout.write(text);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs);
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function renderTable(rows: PillowStatusRow[], now = new Date()): string {
  const table = new Table({
    head: ['pillow', 'state', 'checkpoint', 'processed', 'failed', 'pending', 'lag', 'last batch'],
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    table.push([
      r.partition === null ? r.pillow : `${r.pillow} p${r.partition}`,
      r.state,
      r.checkpoint === null ? '-' : short(r.checkpoint),
      num(r.processed),
      num(r.failed),
      num(r.pending),
      r.lagSeconds === null ? '-' : duration(r.lagSeconds),
      r.lastBatchAt
        ? `${duration(Math.max(0, Math.round((now.getTime() - Date.parse(r.lastBatchAt)) / 1000)))} ago`
        : '-',
    ]);
  }
  const errors = rows.filter((r) => r.lastError).map((r) => `${r.workflowId}: last error: ${r.lastError}`);
  const leftovers = rows.filter((r) => r.oldLayout).map((r) => `${r.workflowId}: ${r.oldLayout}`);
  return [table.toString(), ...errors, ...leftovers].join('\n');
}

const num = (n: number | null) => (n === null ? '-' : String(n));

function short(seq: string): string {
  return seq.length > 24 ? `${seq.slice(0, 24)}…` : seq;
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}
