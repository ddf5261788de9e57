/**
 * The `pillowtop` CLI: a thin layer over the same Temporal calls an operator could make with the
 * Temporal CLI. Each command lives in `commands/<name>.ts` and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { CliError, oneLine } from './cli-error';
import { ConfigError } from '../config/validate-config';
import { registerWorker } from './commands/worker';
import { registerDev } from './commands/dev';
import { registerStart } from './commands/start';
import { registerStop } from './commands/stop';
import { registerStatus } from './commands/status';
import { registerRewind } from './commands/rewind';
import { registerPauseResume } from './commands/pause-resume';
import { registerErrors } from './commands/errors';
import { registerRetry } from './commands/retry';
import { registerRunDocs } from './commands/run-docs';
import { registerSetup } from './commands/setup';
import { registerReindex } from './commands/reindex';
import { registerRebuild } from './commands/rebuild';
import { registerBench } from './commands/bench';
import { registerFixRewind } from './commands/fix-rewind';
import { registerCodecServer } from './commands/codec-server';
import { TemporalUnreachableError } from '../temporal/temporal-client';
import { registerDeploy } from './commands/deploy';

export function buildProgram(): Command {
  const program = new Command('pillowtop')
    .description('CouchDB change feeds into PostgreSQL and other stores, as Temporal workflows')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerWorker(program);
  registerStart(program);
  registerStop(program);
  registerStatus(program);
  registerRewind(program);
  registerPauseResume(program);
  registerErrors(program);
  registerRetry(program);
  registerRunDocs(program);
  registerReindex(program);
  registerRebuild(program);
  registerSetup(program);
  registerDev(program);
  registerBench(program);
  registerFixRewind(program);
  registerCodecServer(program);
  registerDeploy(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already printed it (or help)
    if (err instanceof ConfigError) {
      console.error(`pillowtop: config: ${err.message}`);
      return 2;
    }
    console.error(`pillowtop: ${oneLine(err)}`);
    const expected = err instanceof CliError || err instanceof TemporalUnreachableError;
    if (process.env.PILLOWTOP_DEBUG && !expected) console.error(err);
    return err instanceof CliError ? err.exitCode : 1;
  }
}

if (require.main === module) {
  // main() reports its own errors and never rejects
  void main().then((code) => {
    process.exitCode = code;
  });
}
