import os from 'node:os';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { clientConnectionOptions, temporalSettings } from '../src/temporal/connection-options';
import { pillowtopDataConverter } from '../src/codec/data-converter';
import type { BenchServers } from './bench-servers';
import { round } from './bench-result';

/**
 * The bench's Temporal client and its workers' prebuilt workflow bundle. With PILLOWTOP_CODEC_KEY
 * (or `_FILE`) set, the client, the bundle (its failure converter) and the worker processes encode
 * payloads as pillowtop's do, so every bench mode measures with the codec's cost.
 */
export async function benchClient(env: NodeJS.ProcessEnv, servers: BenchServers) {
  const settings = { ...temporalSettings(env), address: servers.temporalAddress, namespace: servers.namespace };
  const connection = await Connection.connect(clientConnectionOptions(settings));
  const dataConverter = pillowtopDataConverter(settings.codecKeys);
  const client = new Client({ connection, namespace: servers.namespace, ...(dataConverter ? { dataConverter } : {}) });
  return {
    connection,
    client,
    /** Writes the workflow bundle the bench's worker processes load, and returns its path. */
    async writeBundle(progress: (line: string) => void): Promise<string> {
      progress('bundling workflow code…');
      const bundlePath = path.join(servers.dir, 'workflow-bundle.js');
      const bundle = await bundleWorkflowCode({
        workflowsPath: require.resolve('../src/workflows'),
        // what Worker.create adds to a bundle it builds itself (start-worker.ts) with the same converter
        ...(dataConverter?.failureConverterPath ? { failureConverterPath: dataConverter.failureConverterPath } : {}),
        logger: new DefaultLogger('WARN'),
      });
      writeFileSync(bundlePath, bundle.code);
      return bundlePath;
    },
  };
}

/** The machine a bench ran on, as its JSON reports it. */
export function machineInfo() {
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gb: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}
