/**
 * The types of changes and processors. The words (change, seq, checkpoint, page, batch, slice,
 * processor, sink, …) are those of the Glossary at the top of README.md.
 */
import type { PoolClient } from 'pg';

import type { Seq } from './checkpoint/seq';
export type { Seq };

/** A CouchDB document as the feed delivers it. */
export interface Doc {
  _id: string;
  _rev?: string;
  _deleted?: boolean;
  doc_type?: string;
  [key: string]: unknown;
}

/** One change from the feed. `seq` is null when CouchDB's `seq_interval` skipped it. */
export interface Change {
  id: string;
  seq: Seq | null;
  deleted: boolean;
  rev?: string;
  doc?: Doc;
}

/** A change a processor could not handle, as it goes into workflow history: no doc body. */
export interface ChangeFailure {
  id: string;
  seq: Seq | null;
  error: string;
}

/** What a processor reports for a batch: the changes it could not handle. Unlisted changes succeeded. */
export interface BatchResult {
  failed?: ChangeFailure[];
}

export interface Logger {
  debug(message: string, attrs?: Record<string, unknown>): void;
  info(message: string, attrs?: Record<string, unknown>): void;
  warn(message: string, attrs?: Record<string, unknown>): void;
  error(message: string, attrs?: Record<string, unknown>): void;
}

/** Passed to processors: the open transaction that also moves the checkpoint. */
export interface ProcessorContext {
  pillow: string;
  /** A client inside the batch's transaction; PostgreSQL processors write through it. */
  db: PoolClient;
  /** The checkpoint this batch moves to (for a `seq` column where changes carry none). */
  lastSeq: Seq;
  /**
   * The generation being built now (`pillowtop rebuild`) of each of the pillow's processors that has
   * one, by processor name; a processor with a `rebuild` target writes that generation too. Read once
   * per batch in this transaction after its write locks: a rebuild registers under the same locks.
   */
  building: ReadonlyMap<string, number>;
  log: Logger;
}

export interface SetupContext {
  pillow: string;
  db: PoolClient;
  log: Logger;
}

/**
 * A processor: a plain object. `processBatch` must be idempotent and at-least-once safe: replaying
 * any range of changes leaves the sink as one in-order pass would. Each change is what CouchDB's
 * feed says now: write it (a deletion, `deleted: true`, removes the doc if the sink holds it); the
 * feed's order is the truth, so never keep an older row because its revision generation is higher.
 * Throw `SinkUnavailableError` when the sink is down; anything else thrown fails the docs, not the page.
 */
export interface Processor {
  name: string;
  /** Creates or migrates what the processor writes to; called once per worker process and pillow. */
  setup?(ctx: SetupContext): Promise<void>;
  processBatch(changes: Change[], ctx: ProcessorContext): Promise<BatchResult | void>;
  /**
   * Checks that the sink can take writes at all; throws if not. Called when every change of a page
   * failed, to tell an outage (the page is retried, nothing parked) from a page of bad docs.
   */
  probe?(): Promise<void>;
  /**
   * Lists the ids of the docs the sink holds (live ones), a page at a time from `cursor` (null: from
   * the start); returns the next cursor, null at the end. With it, a pillow whose database was
   * re-created or restored removes the docs the source no longer has.
   */
  heldDocIds?(
    ctx: { db: PoolClient },
    cursor: string | null,
    limit: number,
  ): Promise<{ ids: string[]; cursor: string | null }>;
  /** Problems with the processor's own options, reported by config validation. */
  validate?(): string[];
  /** One line for the Web UI and `pillowtop status`, e.g. `postgresTable → case_index`. */
  describe?(): string;
  /** Present on processors whose target `pillowtop rebuild` can build again beside the live one. */
  rebuild?: RebuildTarget;
}

/**
 * A processor's target built as numbered generations (`pillowtop rebuild`, src/workflows/rebuild.ts).
 * Readers use one plain name (a table, an alias); generation N+1 is built beside the live one and
 * swapped in atomically. While a generation is building, the processor's `processBatch` writes it too.
 */
export interface RebuildTarget {
  /** The name readers query, e.g. `case_index`. */
  target: string;
  /** Why the live target cannot take the configured definition (a column type, a mapping), or null. */
  needsRebuild(db: PoolClient): Promise<string | null>;
  /** Creates generation `generation` empty (a leftover of it from a cancelled run is dropped first). */
  create(db: PoolClient, generation: number): Promise<void>;
  /** Writes changes into generation `generation` only (the rebuild's backfill). */
  write(changes: Change[], db: PoolClient, generation: number): Promise<BatchResult | void>;
  /** Makes `generation` what readers see, atomically; the former `live` one stays until `drop`. */
  swap(db: PoolClient, live: number, generation: number): Promise<void>;
  /** Removes a generation that is not live (the old one after the grace period, or a cancelled one). */
  drop(db: PoolClient, generation: number): Promise<void>;
}
