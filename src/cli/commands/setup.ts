import type { Command } from 'commander';
import { connectClient } from '../../temporal/temporal-client';
import { temporalSettings } from '../../temporal/connection-options';
import { registerSearchAttributes } from '../../temporal/search-attributes-setup';
import { CliError } from '../cli-error';

// gRPC status codes that mean "you may not do this here"
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;
const UNIMPLEMENTED = 12;

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('register the PillowName and PillowStatus search attributes on the namespace (once per cluster)')
    .addHelpText(
      'after',
      `
Same as: temporal operator search-attribute create --name PillowName --type Keyword
         temporal operator search-attribute create --name PillowStatus --type Keyword
Needs operator rights. On Temporal Cloud: tcld namespace search-attributes add -n NAMESPACE --sa PillowName=Keyword --sa PillowStatus=Keyword`,
    )
    .action(async () => {
      const namespace = temporalSettings().namespace;
      const { connection, close } = await connectClient();
      try {
        const added = await registerSearchAttributes(connection, namespace).catch(
          (err: { code?: number; message?: string }) => {
            if (err.code === PERMISSION_DENIED || err.code === UNAUTHENTICATED || err.code === UNIMPLEMENTED)
              throw new CliError(
                `no rights to register search attributes on namespace "${namespace}" (${(err.message ?? '').split('\n')[0]}); ask a cluster admin to run \`pillowtop setup\`, or on Temporal Cloud: tcld namespace search-attributes add -n ${namespace} --sa PillowName=Keyword --sa PillowStatus=Keyword`,
              );
            throw err;
          },
        );
        console.log(
          added.length
            ? `registered search attributes on namespace "${namespace}": ${added.join(', ')}`
            : `search attributes PillowName and PillowStatus are already registered on namespace "${namespace}"`,
        );
      } finally {
        await close();
      }
    });
}
