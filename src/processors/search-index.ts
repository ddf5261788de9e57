import { createHash } from 'node:crypto';
import type { Change, ChangeFailure, Doc, Processor } from '../types';
import { DocError, errorText } from './doc-error';
import { errorReason, searchClient, type SearchClient } from './search-client';
import { SinkUnavailableError } from './sink-unavailable';
import { indexGenerations } from './search-index-generations';

export interface SearchIndexOptions {
  /** The alias every write goes through; searches should use it too. */
  alias: string;
  /** The concrete index created on first use and pointed at by the alias. @default `<alias>-<mapping fingerprint>` */
  index?: string;
  /** The index's mappings (`{ properties: {...} }`); `doc_id` and `doc_rev` keyword fields are added. */
  mappings?: Record<string, unknown>;
  /** The index's settings (`{ number_of_shards: 1, analysis: {...} }`). */
  settings?: Record<string, unknown>;
  /** The document to index for a CouchDB doc; null or undefined leaves the doc out (removes it). @default the doc without its `_` fields */
  transform?: (doc: Doc) => Record<string, unknown> | null | undefined;
  /** A field of the transformed document whose value is the search `_id`. @default the CouchDB doc id */
  idField?: string;
  /** The cluster, credentials included. @default `OPENSEARCH_URL`, else http://127.0.0.1:9200 */
  url?: string;
  /** Processor name in metrics and errors. @default `searchIndex:<alias>` */
  name?: string;
}

/** OpenSearch and Elasticsearch refuse `_id`s longer than 512 bytes. */
const MAX_ID_BYTES = 512;
/**
 * Per-item errors that are the index's or the cluster's state, not the doc's: every doc would fail
 * alike, so they are outages (batch retried) rather than doc failures (parked one by one).
 */
const OUTAGE_TYPES = new Set([
  'index_not_found_exception', // the alias was removed: re-created by the retried batch
  'index_closed_exception',
  'cluster_block_exception', // read-only index, e.g. the disk flood-stage watermark
  'unavailable_shards_exception', // red
  'es_rejected_execution_exception',
  'opensearch_rejected_execution_exception',
  'circuit_breaking_exception',
]);
/** Seconds a bulk request waits for unavailable shards (a red index) before its items fail with 503. */
const BULK_SHARD_TIMEOUT = '30s';

/**
 * One search document per CouchDB doc, written with `_bulk` through an alias: CommCare's
 * Elasticsearch pillows. The index is created with its mappings and settings on first use and the
 * alias pointed at it; a configured mapping that differs from the live index's (a fingerprint kept in
 * the index's `_meta`) is never applied: writes stop until a rebuild, and `describe()` says so.
 *
 * Writes follow the feed's order (the framework serialises a pillow's batches), so plain index and
 * delete operations leave the index equal to CouchDB's winning revisions; each document carries its
 * `doc_id` and `doc_rev`. A document the cluster rejects (a mapping conflict) is a doc failure; an
 * unreachable, overloaded or red cluster throws `SinkUnavailableError` (an outage: batch retried).
 */
export function searchIndex(options: SearchIndexOptions): Processor {
  const mappings = withDocFields(options.mappings ?? {});
  const settings = options.settings ?? {};
  const fingerprint = mappingFingerprint(mappings, settings);
  const alias = options.alias;
  const index = options.index ?? `${alias}-${fingerprint.slice(0, 8)}`;
  const transform = options.transform ?? withoutCouchFields;
  let client: SearchClient | undefined;
  const getClient = () =>
    (client ??= searchClient(options.url ?? process.env.OPENSEARCH_URL ?? 'http://127.0.0.1:9200'));
  let ready: Promise<void> | undefined;
  let needsRebuild: string | null = null;

  const ensure = () => {
    ready ??= ensureIndex(getClient(), { alias, index, mappings, settings, fingerprint }).then((problem) => {
      needsRebuild = problem;
      if (problem) ready = undefined; // look again next batch: someone may have rebuilt it
    });
    ready.catch(() => (ready = undefined));
    return ready;
  };

  const name = options.name ?? `searchIndex:${alias}`;
  const write = { transform, idField: options.idField };
  const rebuild = indexGenerations(getClient, {
    alias,
    mappings,
    settings,
    fingerprint,
    liveProblem: () => liveProblem(getClient(), alias, fingerprint),
    write: async (changes, target) => {
      const result = await writeBatch(getClient(), { ...write, alias: target, requireAlias: false }, changes);
      return { failed: result.failed };
    },
  });
  return {
    name,
    rebuild,
    describe: () => `searchIndex → ${alias}${needsRebuild ? ` (needs rebuild: ${needsRebuild})` : ''}`,
    validate: () => searchIndexProblems(options),
    async setup({ log }) {
      // a cluster that is down must not stop the pillow from starting: its batches then fail as an
      // outage (and the pillow shows `failing`) until the cluster is back
      await ensure().catch((err) => {
        if ((err as Error).name !== 'SinkUnavailableError') throw err;
        log.warn('search cluster unavailable at setup; batches will retry', { alias, error: errorText(err) });
      });
    },
    async processBatch(changes, { db, building: generations }) {
      await ensure();
      // read in this transaction under its write lock, under which a rebuild registers (write-changes.ts)
      const building = generations.get(name) ?? null;
      if (needsRebuild && building === null)
        throw new SinkUnavailableError(`search index "${alias}" needs a rebuild: ${needsRebuild}`);
      let failed: ChangeFailure[] = [];
      // the live index is written unless it is the one being replaced for changed mappings
      if (!needsRebuild) {
        const result = await writeBatch(getClient(), { ...write, alias, requireAlias: true }, changes);
        if (result.aliasMissing) ready = undefined; // re-created by the retried batch
        failed = result.failed;
      }
      if (building === null) return { failed };
      const built = await rebuild.write(changes, db, building);
      const seen = new Set(failed.map((f) => f.id));
      return { failed: failed.concat((built?.failed ?? []).filter((f) => !seen.has(f.id))) };
    },
  };
}

interface Target {
  alias: string;
  index: string;
  mappings: Record<string, unknown>;
  settings: Record<string, unknown>;
  fingerprint: string;
}

/**
 * Creates the index (with the alias, atomically) if the alias does not exist; otherwise compares the
 * live index's fingerprint with the configured one. Returns why the index needs a rebuild, or null.
 */
async function ensureIndex(client: SearchClient, t: Target): Promise<string | null> {
  const found = await client.request<Record<string, unknown>>('GET', `/_alias/${encodeURIComponent(t.alias)}`);
  if (found.status === 404) {
    const meta = { ...((t.mappings._meta as object) ?? {}), pillowtop: { fingerprint: t.fingerprint } };
    const created = await client.request('PUT', `/${encodeURIComponent(t.index)}`, {
      settings: t.settings,
      mappings: { ...t.mappings, _meta: meta },
      aliases: { [t.alias]: {} },
    });
    if (created.status < 300) return null;
    const reason = errorReason(created.body);
    if (!reason.startsWith('resource_already_exists_exception'))
      throw new Error(`creating search index "${t.index}" failed (${created.status}): ${reason}`);
    // the index exists without the alias (a crash, or made by hand): adopt it only if its mapping is ours
    const problem = await fingerprintProblem(client, t.index, t.fingerprint);
    if (problem) return problem;
    const added = await client.request('POST', '/_aliases', { actions: [{ add: { index: t.index, alias: t.alias } }] });
    if (added.status >= 300)
      throw new Error(`pointing alias "${t.alias}" at "${t.index}" failed: ${errorReason(added.body)}`);
    return null;
  }
  if (found.status >= 300)
    throw new Error(`reading alias "${t.alias}" failed (${found.status}): ${errorReason(found.body)}`);
  const indices = Object.keys(found.body ?? {});
  if (indices.length !== 1) return `alias "${t.alias}" points at ${indices.length} indices (${indices.join(', ')})`;
  return fingerprintProblem(client, indices[0], t.fingerprint);
}

/** Why the index behind the alias lacks the configured mappings/settings, or null; reads only (status). */
async function liveProblem(client: SearchClient, alias: string, fingerprint: string): Promise<string | null> {
  const found = await client.request<Record<string, unknown>>('GET', `/_alias/${encodeURIComponent(alias)}`);
  if (found.status === 404) return null;
  const indices = Object.keys(found.body ?? {});
  if (indices.length !== 1) return `alias "${alias}" points at ${indices.length} indices (${indices.join(', ')})`;
  return fingerprintProblem(client, indices[0], fingerprint);
}

async function fingerprintProblem(client: SearchClient, index: string, fingerprint: string): Promise<string | null> {
  const res = await client.request<Record<string, { mappings?: { _meta?: { pillowtop?: { fingerprint?: string } } } }>>(
    'GET',
    `/${encodeURIComponent(index)}/_mapping`,
  );
  if (res.status >= 300) throw new Error(`reading the mapping of "${index}" failed: ${errorReason(res.body)}`);
  const live = Object.values(res.body ?? {})[0]?.mappings?._meta?.pillowtop?.fingerprint;
  if (live === fingerprint) return null;
  return live
    ? `index "${index}" has mappings/settings ${live.slice(0, 8)}, the config says ${fingerprint.slice(0, 8)}`
    : `index "${index}" was not created by pillowtop (no fingerprint in its _meta)`;
}

interface WriteOptions {
  /** The alias, or a generation's own index while it is rebuilt. */
  alias: string;
  /** Refuse to write an index by a name that is not an alias (a deleted alias must not become an index). */
  requireAlias: boolean;
  transform: (doc: Doc) => Record<string, unknown> | null | undefined;
  idField?: string;
}

interface Op {
  change: Change;
  /** The search `_id`, or null for a delete of a doc whose `_id` comes from `idField`. */
  id: string | null;
  source: Record<string, unknown> | null;
}

/** One `_bulk` request for the batch (plus a delete-by-query when `idField` decides the `_id`s). */
async function writeBatch(
  client: SearchClient,
  w: WriteOptions,
  changes: Change[],
): Promise<{ failed: ChangeFailure[]; aliasMissing: boolean }> {
  const failed: ChangeFailure[] = [];
  // the feed may repeat a doc within a batch: its last change is the one that counts
  const last = new Map<string, Change>();
  for (const change of changes) {
    last.delete(change.id);
    last.set(change.id, change);
  }
  const ops: Op[] = [];
  for (const change of last.values()) {
    try {
      ops.push(opFor(change, w));
    } catch (err) {
      failed.push({ id: change.id, seq: change.seq, error: errorText(err) });
    }
  }
  const lines: string[] = [];
  const sent: Op[] = [];
  for (const op of ops) {
    if (op.id === null) continue;
    sent.push(op);
    if (op.source) {
      lines.push(JSON.stringify({ index: { _index: w.alias, _id: op.id } }), JSON.stringify(op.source));
    } else {
      lines.push(JSON.stringify({ delete: { _index: w.alias, _id: op.id } }));
    }
  }
  let aliasMissing = false;
  if (lines.length > 0) {
    const res = await client.request<BulkResponse>(
      'POST',
      `/_bulk?${w.requireAlias ? 'require_alias=true&' : ''}timeout=${BULK_SHARD_TIMEOUT}`,
      lines.join('\n') + '\n',
      true,
    );
    if (res.status >= 300 || !Array.isArray(res.body?.items))
      throw new Error(`bulk request to "${w.alias}" failed (${res.status}): ${errorReason(res.body)}`);
    const outages: string[] = [];
    res.body.items.forEach((item, i) => {
      const r = item.index ?? item.delete;
      const op = sent[i];
      if (!r || !op || !r.error) return; // a delete of a doc the index never held is `not_found`, no error
      const reason = errorReason({ error: r.error });
      if (r.error.type === 'index_not_found_exception') aliasMissing = true;
      if (r.status === 429 || r.status >= 500 || OUTAGE_TYPES.has(r.error.type ?? '')) outages.push(reason);
      else failed.push({ id: op.change.id, seq: op.change.seq, error: `search index "${w.alias}": ${reason}` });
    });
    if (outages.length > 0)
      throw new SinkUnavailableError(`search index "${w.alias}": ${outages.length} writes refused: ${outages[0]}`);
  }
  if (w.idField) await removeStaleEntries(client, w.alias, ops);
  return { failed, aliasMissing };
}

interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string };
}
interface BulkResponse {
  items: { index?: BulkItemResult; delete?: BulkItemResult }[];
}

function opFor(change: Change, w: WriteOptions): Op {
  if (change.deleted) return { change, id: w.idField ? null : searchId(change.id), source: null };
  if (!change.doc) throw new DocError('change has no doc (was the feed read without include_docs?)');
  let body: Record<string, unknown> | null | undefined;
  try {
    body = w.transform(change.doc);
  } catch (err) {
    throw new DocError(`transform failed: ${(err as Error).message}`);
  }
  if (body === null || body === undefined) return { change, id: w.idField ? null : searchId(change.id), source: null };
  if (typeof body !== 'object' || Array.isArray(body)) throw new DocError('transform must return an object or null');
  let id = change.id;
  if (w.idField) {
    const value = body[w.idField];
    if (value === undefined || value === null || value === '')
      throw new DocError(`idField "${w.idField}" has no value in the transformed document`);
    id = String(value);
  }
  return { change, id: searchId(id), source: { ...body, doc_id: change.id, doc_rev: change.rev ?? change.doc._rev } };
}

/**
 * With `idField`, a doc's search `_id` is not its doc id, so a deleted doc (no body left) or a doc
 * whose `idField` value changed is found by its `doc_id` field instead.
 */
async function removeStaleEntries(client: SearchClient, alias: string, ops: Op[]): Promise<void> {
  const clauses = ops.map((op) =>
    op.source && op.id !== null
      ? { bool: { filter: [{ term: { doc_id: op.change.id } }], must_not: [{ ids: { values: [op.id] } }] } }
      : { term: { doc_id: op.change.id } },
  );
  if (clauses.length === 0) return;
  await client.request('POST', `/${encodeURIComponent(alias)}/_refresh`);
  for (let i = 0; i < clauses.length; i += 500) {
    const res = await client.request(
      'POST',
      `/${encodeURIComponent(alias)}/_delete_by_query?conflicts=proceed&refresh=true`,
      { query: { bool: { should: clauses.slice(i, i + 500), minimum_should_match: 1 } } },
    );
    if (res.status >= 300) throw new Error(`removing stale entries from "${alias}" failed: ${errorReason(res.body)}`);
  }
}

/**
 * The search `_id` for an id: itself when it fits in 512 bytes, else `_sha256:<hex>`. CouchDB doc
 * ids never start with `_` (only `_design/` and `_local/` do), so a hashed id cannot meet a real one;
 * the real id stays in the `doc_id` field.
 */
export function searchId(id: string): string {
  if (Buffer.byteLength(id, 'utf8') <= MAX_ID_BYTES) return id;
  return `_sha256:${createHash('sha256').update(id).digest('hex')}`;
}

/** The CouchDB doc without `_id`, `_rev`, `_attachments`…: fields starting with `_` are metadata to the engine. */
function withoutCouchFields(doc: Doc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!k.startsWith('_')) out[k] = v;
  return out;
}

function withDocFields(mappings: Record<string, unknown>): Record<string, unknown> {
  const properties = (mappings.properties as Record<string, unknown> | undefined) ?? {};
  return {
    ...mappings,
    properties: { doc_id: { type: 'keyword' }, doc_rev: { type: 'keyword' }, ...properties },
  };
}

/** A stable hash of mappings and settings: key order does not matter, values do. */
export function mappingFingerprint(mappings: unknown, settings: unknown): string {
  return createHash('sha256').update(canonicalJson({ mappings, settings })).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

// OpenSearch's index and alias name rules
const NAME = /^[a-z0-9][a-z0-9_.+-]*$/;

function nameProblem(value: unknown, field: string): string | null {
  if (typeof value !== 'string' || !NAME.test(value) || value === '.' || value === '..' || value.length > 255)
    return `${field} must be a lowercase index name (letters, digits, _ . + -, not starting with _ . + -), got ${JSON.stringify(value)}`;
  return null;
}

function searchIndexProblems(options: SearchIndexOptions): string[] {
  const problems: string[] = [];
  const aliasProblem = nameProblem(options.alias, 'alias');
  if (aliasProblem) problems.push(aliasProblem);
  if (options.index !== undefined) {
    const indexProblem = nameProblem(options.index, 'index');
    if (indexProblem) problems.push(indexProblem);
    else if (options.index === options.alias) problems.push('index and alias must differ');
  }
  for (const field of ['mappings', 'settings'] as const) {
    const v = options[field];
    if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v)))
      problems.push(`${field} must be an object`);
  }
  if (options.transform !== undefined && typeof options.transform !== 'function')
    problems.push('transform must be a function of the doc');
  if (options.idField !== undefined && (typeof options.idField !== 'string' || options.idField === ''))
    problems.push('idField must be a non-empty field name');
  if (options.url !== undefined) {
    try {
      const u = new URL(options.url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push('url must be http(s)');
    } catch {
      problems.push('url must be a URL like http://127.0.0.1:9200');
    }
  }
  return problems;
}
