import type { Client } from '@temporalio/client';
import { loadConfig } from '../config/load-config';
import { createRegistry, type PillowRegistry } from '../config/pillow-registry';
import type { ResolvedPillow } from '../config/pillow-definition';
import { connectClient } from '../temporal/temporal-client';
import { taskQueue, temporalSettings } from '../temporal/connection-options';
import { pillowWorkflowId } from '../workflows/ids';
import type { CodecKeys } from '../codec/codec-keys';

/** What an operator command needs: the configured pillows and a Temporal client. */
export interface OpsContext {
  registry: PillowRegistry;
  client: Client;
  namespace: string;
  taskQueue: string;
  /** Payload encryption keys, if configured (the client already encrypts with them; retry ids hash with them). */
  codecKeys: CodecKeys | null;
  close(): Promise<void>;
}

/**
 * Resolves pillow names against the config file first (an unknown name fails before Temporal is
 * contacted, and the error lists the known pillows), then connects to Temporal.
 */
export async function withOps<T>(
  names: string[],
  body: (ctx: OpsContext, pillows: ResolvedPillow[]) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const registry = createRegistry(loadConfig(), env);
  const pillows = names.map((name) => registry.get(name));
  const { client, close } = await connectClient(env);
  const settings = temporalSettings(env);
  const ctx: OpsContext = {
    registry,
    client,
    namespace: settings.namespace,
    codecKeys: settings.codecKeys ?? null,
    taskQueue: taskQueue(env),
    close,
  };
  try {
    return await body(ctx, pillows);
  } finally {
    await close();
  }
}

/** The workflow ids of a pillow: `pillow/<name>`, or one per partition `pillow/<name>/p<i>`. */
export function pillowWorkflows(pillow: ResolvedPillow): { workflowId: string; partition: number | null }[] {
  if (pillow.partitions <= 1) return [{ workflowId: pillowWorkflowId(pillow.name), partition: null }];
  return [...Array(pillow.partitions).keys()].map((i) => ({
    workflowId: pillowWorkflowId(pillow.name, i),
    partition: i,
  }));
}
