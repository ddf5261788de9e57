import type { Pool } from 'pg';
import type { Client } from '@temporalio/client';
import type { PillowRegistry } from '../config/pillow-registry';
import type { PillowMetrics } from '../metrics/pillow-metrics';
import type { Logger } from '../types';
import type { CodecKeys } from '../codec/codec-keys';

/** What the activities need from the outside world; tests hand in real servers. */
export interface ActivityDeps {
  registry: PillowRegistry;
  /** The state database (checkpoint mirror) and the PostgreSQL processors' database. */
  pool: Pool;
  /** Starts and signals `retryChange` workflows for changes that keep failing. */
  temporal: Client;
  /** Whether PillowName / PillowStatus are registered on the namespace. */
  searchAttributes: boolean;
  /** Payload encryption keys: retry workflow ids then hash the doc id (retry-change-id.ts). */
  codecKeys?: CodecKeys | null;
  metrics: PillowMetrics;
  log: Logger;
  /** The level of the line logged per batch: `debug` where a summary replaces them (`pillowtop dev`). @default info */
  batchLogLevel?: 'info' | 'debug';
  /** The worker's Temporal identity, named when a task is left to another worker. */
  identity?: string;
}
