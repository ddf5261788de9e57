import type { Doc, Processor } from '../types';

/** Where a pillow reads from. */
export interface SourceOptions {
  /** CouchDB database name. */
  db: string;
  /** Server URL, credentials included. @default process.env.COUCH_URL */
  url?: string;
}

/** Which changes reach the processors. Deletions always pass: a deleted doc has no body to filter on. */
export interface FilterOptions {
  /** Keep docs whose `doc_type` is one of these. */
  docTypes?: string[];
  /** Keep docs for which this returns true (runs in the worker, after `docTypes`). */
  predicate?: (doc: Doc) => boolean;
  /** A CouchDB server-side filter, `ddoc/name`. */
  couchFilter?: string;
  /** Keep design docs (`_design/...`). @default false */
  includeDesignDocs?: boolean;
}

/** How a change that keeps failing is retried by its `retryChange` workflow before it is parked. */
export interface ChangeRetryOptions {
  /** Attempts after the first failure. @default 5 */
  attempts?: number;
  /** Wait before the first retry, in seconds. @default 60 */
  initialIntervalSeconds?: number;
  /** Each wait is the previous one times this. @default 2 */
  backoffCoefficient?: number;
  /** Longest wait between attempts, in seconds. @default 3600 */
  maxIntervalSeconds?: number;
}

export interface PillowDefinition {
  /** Unique name; the workflow id is `pillow/<name>`. Letters, digits, `_` and `-`. */
  name: string;
  source: SourceOptions;
  filter?: FilterOptions;
  /** Changes per page (so per batch), and CouchDB's `seq_interval`. @default 1000 */
  batchSize?: number;
  /** How long a caught-up read waits for new changes, in seconds. @default 20 */
  longPollSeconds?: number;
  /**
   * How long a plain read of the source (catch-up page, db info) may take before the source counts
   * as hung and the pillow shows `failing`. A long poll is bounded by `longPollSeconds` + 5 s instead.
   * @default 30
   */
  readTimeoutSeconds?: number;
  processors: Processor[];
  retry?: ChangeRetryOptions;
  /** Split the pillow by doc id hash into this many workflows, `pillow/<name>/p<i>`. @default 1 */
  partitions?: number;
  /** Log a processor slower than this, in milliseconds. @default 5000 */
  slowThresholdMs?: number;
}

/** A definition with defaults filled in. */
export interface ResolvedPillow extends Required<Omit<PillowDefinition, 'source' | 'filter' | 'retry'>> {
  source: Required<SourceOptions>;
  filter: FilterOptions;
  retry: Required<ChangeRetryOptions>;
}

export const DEFAULT_BATCH_SIZE = 1000;

export function resolvePillow(def: PillowDefinition, env: NodeJS.ProcessEnv = process.env): ResolvedPillow {
  return {
    name: def.name,
    source: { db: def.source.db, url: def.source.url ?? env.COUCH_URL ?? 'http://127.0.0.1:5984' },
    filter: def.filter ?? {},
    batchSize: def.batchSize ?? DEFAULT_BATCH_SIZE,
    longPollSeconds: def.longPollSeconds ?? 20,
    readTimeoutSeconds: def.readTimeoutSeconds ?? 30,
    processors: def.processors,
    retry: {
      attempts: def.retry?.attempts ?? 5,
      initialIntervalSeconds: def.retry?.initialIntervalSeconds ?? 60,
      backoffCoefficient: def.retry?.backoffCoefficient ?? 2,
      maxIntervalSeconds: def.retry?.maxIntervalSeconds ?? 3600,
    },
    partitions: def.partitions ?? 1,
    slowThresholdMs: def.slowThresholdMs ?? 5000,
  };
}

/** Typed helper for `pillowtop.config.ts`: `export default definePillows([...])`. */
export function definePillows(pillows: PillowDefinition[]): PillowDefinition[] {
  return pillows;
}
