import { Client, Connection } from '@temporalio/client';
import { clientConnectionOptions, temporalSettings } from './connection-options';
import { pillowtopDataConverter } from '../codec/data-converter';

/** Temporal is not reachable at the configured address: an expected failure, one line for the CLI. */
export class TemporalUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalUnreachableError';
  }
}

/**
 * A Temporal client from the environment, for the CLI and operations. An unreachable server is a one-line error
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
    throw new TemporalUnreachableError(
      `cannot reach Temporal at ${settings.address} (set TEMPORAL_ADDRESS): ${(err as Error).message.split('\n')[0]}`,
    );
  }
  return {
    client: new Client({ connection, namespace: settings.namespace, ...(dataConverter ? { dataConverter } : {}) }),
    connection,
    close: () => connection.close(),
  };
}
