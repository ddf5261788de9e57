import type { Command } from 'commander';
import { withOps } from '../../operations/pillow-context';
import { rewindPillow, type RewindTo } from '../../operations/steer-pillow';
import { seqProblem } from '../../checkpoint/seq';
import { CliError } from '../cli-error';

interface RewindOptions {
  to?: string;
  toZero?: boolean;
  toNow?: boolean;
}

export function registerRewind(program: Command): void {
  program
    .command('rewind')
    .description("move a pillow's checkpoint; prints the old and the new one")
    .argument('<name>', 'a pillow from the config file')
    .option('--to <seq>', 'a seq of the source database, given verbatim')
    .option('--to-zero', 'the start of the feed: reprocess everything')
    .option('--to-now', "the feed's current head (read from CouchDB at COUCH_URL): skip what is pending")
    .addHelpText(
      'after',
      `
Same as: temporal workflow update execute --workflow-id pillow/NAME --name setCheckpoint --input '{"seq":"SEQ"}'
     or: temporal workflow signal --workflow-id pillow/NAME --name rewind --input '{"to":"0"}'   (no answer)`,
    )
    .action(async (name: string, opts: RewindOptions) => {
      const given = [opts.to !== undefined, !!opts.toZero, !!opts.toNow].filter(Boolean).length;
      if (given !== 1) throw new CliError('give exactly one of --to SEQ, --to-zero, --to-now', 2);
      let to: RewindTo;
      if (opts.to !== undefined) {
        const problem = seqProblem(opts.to);
        if (problem) throw new CliError(`--to: ${problem}`, 2);
        to = { seq: opts.to };
      } else to = opts.toZero ? { zero: true } : { now: true };
      await withOps([name], async (ctx, [pillow]) => {
        for (const m of await rewindPillow(ctx.client, pillow, to)) {
          console.log(`${m.workflowId}: checkpoint ${m.previous} -> ${m.current}`);
        }
      });
    });
}
