import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli-error';

export interface DevOptions {
  seed: string;
  rate: string;
  fresh?: boolean;
  search?: boolean;
  dir: string;
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description(
      'run the whole stack on this machine: Temporal dev server + Web UI, a CouchDB-protocol server, PostgreSQL, a worker, demo data and the configured pillows',
    )
    .option('--seed <n>', 'demo case docs to write into an empty `cases` database', '2000')
    .option('--rate <n>', 'demo docs written per second while running (0: none)', '5')
    .option(
      '--dir <path>',
      'where the dev servers keep their data',
      path.resolve(__dirname, '..', '..', '..', '.pillowtop', 'dev'),
    )
    .option('--fresh', 'wipe the dev data first')
    .option('--search', 'also run OpenSearch (needs Java 17+ and Maven once) and a demo `cases_search` pillow')
    .addHelpText('after', '\nCtrl-C stops everything it started; pillows resume from their checkpoints next time.')
    .action(async (opts: DevOptions) => {
      const seed = Number(opts.seed);
      const rate = Number(opts.rate);
      if (!Number.isInteger(seed) || seed < 0) throw new CliError('--seed must be a whole number');
      if (!Number.isFinite(rate) || rate < 0) throw new CliError('--rate must be a number of docs per second');
      // required here, not at the top: the dev servers need dev dependencies the production image lacks
      const { runDev } = require('./dev-run') as typeof import('./dev-run');
      await runDev({ ...opts, seedCount: seed, perSecond: rate });
    });
}
