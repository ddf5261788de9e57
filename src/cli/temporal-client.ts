import { Client, Connection } from '@temporalio/client';
import { clientConnectionOptions, temporalSettings } from '../temporal/connection-options';
import { CliError } from './cli-error';
import { pillowtopDataConverter } from '../codec/data-converter';

/**
 * A Temporal client from the environment, for the CLI. An unreachable server is a one-line error
 * that names the address, not a gRPC stack trace.
 */
export async function connectClient(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ client: Client; connection: Connection; close(): Promise<void> }> {
  const settings = temporalSettings(env);
  const dataConverter = pillowtopDataConverter(settings.codecKeys);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...clientConnectionOptions(settings), connectTimeout: 5000 });
    await connection.workflowService.getSystemInfo({});
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${settings.address} (set TEMPORAL_ADDRESS): ${(err as Error).message.split('\n')[0]}`,
    );
  }
  return {
    client: new Client({ connection, namespace: settings.namespace, ...(dataConverter ? { dataConverter } : {}) }),
    connection,
    close: () => connection.close(),
  };
}
