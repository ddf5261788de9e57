import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli-error';

// the bench lives beside src/ in a source checkout (bench/main.ts); the build and the image leave it out
const BENCH_ENTRY = path.join(__dirname, '..', '..', '..', 'bench', 'main');

/**
 * `pillowtop bench`: hands its arguments to the bench of the source checkout (`npm run bench` runs the
 * same), or says in one line that this installation has none.
 */
export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure pillowtop against the source limit and a raw loop (source checkout only; --help for options)')
    .helpOption(false)
    .allowUnknownOption()
    .argument('[options...]')
    .action(async (args: string[]) => {
      const bench = loadBench();
      await bench.benchCommand('pillowtop bench').exitOverride().parseAsync(args, { from: 'user' });
    });
}

// no type import of it either: the build would compile it in
interface BenchEntry {
  benchCommand(name: string): Command;
}

function loadBench(): BenchEntry {
  try {
    // required here, not at the top: the bench needs dev dependencies the production image lacks
    return require(BENCH_ENTRY) as BenchEntry;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /bench[\\/]main/.test((err as Error).message))
      throw new CliError('the bench ships with the source checkout, run npm run bench');
    throw err;
  }
}
