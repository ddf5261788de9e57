import type { Change, Doc, Seq } from '../types';
import { seqToText } from '../checkpoint/seq';
import type { CouchServer } from './couch-client';
import { couchError, CouchSourceError, excerpt } from './couch-errors';
import { redactUrl } from './redact-url';

export interface ReadChangesOptions {
  server: CouchServer;
  db: string;
  since: Seq;
  limit: number;
  /** Wait this long for a change when caught up; 0 returns at once. */
  longPollMs: number;
  /** A CouchDB server-side filter, `ddoc/name`. */
  couchFilter?: string;
  /** Aborts the read (activity cancelled). */
  signal?: AbortSignal;
  /** Bound on a plain read (no long poll); a source that takes longer is failing. @default 30000 */
  readTimeoutMs?: number;
  /**
   * Ask for the doc bodies (`include_docs`). A partition leaves them out and fetches only its own
   * docs (read-own-changes.ts): with bodies every partition would pay for the whole feed. @default true
   */
  includeDocs?: boolean;
}

export interface ChangesPage {
  changes: Change[];
  /** Where the next read starts: CouchDB's `last_seq`, verbatim. */
  lastSeq: Seq;
  /** CouchDB's own count of changes after `lastSeq`; null where the server gives none. */
  pending: number | null;
}

interface RawChange {
  id: string;
  seq: unknown;
  changes?: { rev: string }[];
  deleted?: boolean;
  doc?: Doc | null;
}

// CouchDB ends a long poll itself at `timeout`; the client's own bound, a little later, only ends
// the wait of a source that hangs (pouchdb-server, which ignores `timeout`, is polled with plain reads)
const CLIENT_MARGIN_MS = 5000;
/** How long a plain read (catch-up, read-ahead, db info) may take before the source counts as failing. */
export const DEFAULT_READ_TIMEOUT_MS = 30_000;

/**
 * Reads one page of `_changes`, with docs unless `includeDocs` is false. When nothing is new it long-polls up to `longPollMs`
 * and returns an empty page at the same checkpoint.
 */
export async function readChanges(opts: ReadChangesOptions): Promise<ChangesPage> {
  if (opts.longPollMs > 0 && opts.server.kind !== 'couchdb') return pollChanges(opts);
  return requestChanges(opts);
}

// how often a stand-in server without a usable long poll is asked again while the feed is quiet
const POLL_INTERVAL_MS = 100;

/**
 * pouchdb-server's long poll ignores `timeout` and holds the connection until a change arrives, and
 * an aborted request keeps its socket open until then: every bounded wait would leak one. Servers
 * other than CouchDB are therefore polled with plain reads until a change comes or the wait is over.
 */
async function pollChanges(opts: ReadChangesOptions): Promise<ChangesPage> {
  const deadline = Date.now() + opts.longPollMs;
  for (;;) {
    const page = await requestChanges({ ...opts, longPollMs: 0 });
    if (page.changes.length > 0 || page.lastSeq !== opts.since || Date.now() >= deadline) return page;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, POLL_INTERVAL_MS);
      opts.signal?.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', done);
        resolve();
      }
    });
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
  }
}

async function requestChanges(opts: ReadChangesOptions): Promise<ChangesPage> {
  const { server, db, since, limit } = opts;
  const longPoll = opts.longPollMs > 0;
  const qs: Record<string, string | number | boolean> = {
    since,
    limit,
    feed: longPoll ? 'longpoll' : 'normal',
  };
  if (opts.includeDocs !== false) qs.include_docs = true;
  if (longPoll) qs.timeout = opts.longPollMs;
  // CouchDB 2+ computes only every Nth seq, a large saving on sharded databases; the others come back null
  if (server.kind === 'couchdb' && limit > 1) qs.seq_interval = limit;
  if (opts.couchFilter) qs.filter = opts.couchFilter;

  const bound = new AbortController();
  // a plain read (catch-up, read-ahead) that stalls is an outage, not a quiet feed
  const readTimeoutMs = opts.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const boundMs = longPoll ? opts.longPollMs + CLIENT_MARGIN_MS : readTimeoutMs;
  const timer = setTimeout(() => bound.abort(), boundMs);
  const onOuterAbort = () => bound.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    // nano passes `signal` through to fetch, though its types do not list it
    const request = { db, path: '_changes', qs, signal: bound.signal } as Parameters<typeof server.nano.request>[0];
    // nano never settles when an abort lands while it reads a text/plain body (pouchdb-server's
    // long poll): its handler's rejection is dropped. The abort itself ends the wait instead.
    const aborted = new Promise<never>((_, reject) => {
      // the abort's own reason (an AbortError, or the activity's CancelledFailure) so cancellation reads as such
      const fail = () => reject(bound.signal.reason);
      if (bound.signal.aborted) fail();
      else bound.signal.addEventListener('abort', fail, { once: true });
    });
    const body = await Promise.race([server.nano.request(request), aborted]);
    return toPage(changesBody(body, server.url, db));
  } catch (err) {
    if (bound.signal.aborted && !opts.signal?.aborted) {
      // CouchDB answers a long poll by its `timeout` even when nothing changed: no answer by then is a hung source
      throw new CouchSourceError(
        longPoll
          ? `CouchDB at ${redactUrl(server.url)} did not end a ${opts.longPollMs / 1000}s long poll of "${db}" within ${boundMs / 1000}s (hung source)`
          : `CouchDB at ${redactUrl(server.url)} did not answer a _changes read of "${db}" within ${boundMs / 1000}s (hung source)`,
      );
    }
    if (opts.signal?.aborted || err instanceof CouchSourceError) throw err;
    throw couchError(err, db, server.url);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** A `_changes` answer, checked for its shape. */
export interface ChangesBody {
  results: RawChange[];
  last_seq: unknown;
  pending?: number;
}

/**
 * A `_changes` answer must be a JSON object with a `results` array and a `last_seq`. Anything else
 * (an HTML error page from a proxy, invalid JSON, another shape) is a source fault: taken as an
 * empty page it would look like a quiet feed, and the pillow would sit `idle` for ever.
 */
function changesBody(body: unknown, url: string, db: string): ChangesBody {
  const b = body as Partial<ChangesBody> | null;
  if (
    typeof b !== 'object' ||
    b === null ||
    !Array.isArray(b.results) ||
    seqToText(b.last_seq) === null ||
    b.results.some((r) => typeof r !== 'object' || r === null || typeof r.id !== 'string')
  ) {
    throw new CouchSourceError(
      `CouchDB at ${redactUrl(url)} answered _changes of "${db}" with something other than a changes feed: ${excerpt(typeof b === 'object' && b !== null && Array.isArray(b.results) ? { ...b, results: `[${b.results.length}]` } : body)}`,
    );
  }
  return b as ChangesBody;
}

/** The page of an answer: one change per doc, the last the answer gave (as the original pillowtop did). */
export function toPage(body: ChangesBody): ChangesPage {
  const byId = new Map<string, Change>();
  for (const raw of body.results ?? []) {
    const doc = raw.doc ?? undefined;
    const deleted = raw.deleted === true || doc?._deleted === true;
    const change: Change = {
      id: raw.id,
      seq: seqToText(raw.seq),
      deleted,
      rev: raw.changes?.[0]?.rev ?? doc?._rev,
      doc,
    };
    byId.delete(raw.id);
    byId.set(raw.id, change);
  }
  return {
    changes: [...byId.values()],
    lastSeq: seqToText(body.last_seq)!,
    pending: typeof body.pending === 'number' ? body.pending : null,
  };
}

/**
 * The database's current update seq (for `rewind now`) and an estimate of its size. An answer
 * without an `update_seq` is a source fault, never seq 0 (which would read as "the database went
 * behind the checkpoint" and restart the pillow from the beginning).
 */
export async function databaseInfo(
  server: CouchServer,
  db: string,
  timeoutMs = DEFAULT_READ_TIMEOUT_MS,
): Promise<{ updateSeq: Seq; docCount: number }> {
  let info: unknown;
  try {
    info = await server.nano.request({ db, signal: AbortSignal.timeout(timeoutMs) } as Parameters<
      typeof server.nano.request
    >[0]);
  } catch (err) {
    if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError')
      throw new CouchSourceError(
        `CouchDB at ${redactUrl(server.url)} did not answer for "${db}" within ${timeoutMs / 1000}s (hung source)`,
      );
    throw couchError(err, db, server.url);
  }
  const i = info as { update_seq?: unknown; doc_count?: unknown } | null;
  const updateSeq = typeof i === 'object' && i !== null ? seqToText(i.update_seq) : null;
  if (updateSeq === null) {
    throw new CouchSourceError(
      `CouchDB at ${redactUrl(server.url)} answered the info of "${db}" without an update_seq: ${excerpt(info)}`,
    );
  }
  return { updateSeq, docCount: typeof i!.doc_count === 'number' ? i!.doc_count : 0 };
}
