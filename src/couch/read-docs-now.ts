import type { Change, Doc } from '../types';
import type { CouchServer } from './couch-client';
import { couchError, CouchSourceError, excerpt } from './couch-errors';
import { DEFAULT_READ_TIMEOUT_MS } from './read-changes';
import { redactUrl } from './redact-url';

/**
 * What the source holds for a doc id now: its winning revision's body, its deletion (with the
 * tombstone's revision), or nothing at all (never created, or purged).
 */
export type DocNow = { doc: Doc } | { deleted: true; rev: string } | { missing: true };

interface AllDocsRow {
  key?: unknown;
  value?: { rev?: unknown; deleted?: unknown };
  doc?: Doc | null;
  error?: unknown;
}

export interface ReadDocsNowOptions {
  /** Aborts the read (activity cancelled). */
  signal?: AbortSignal;
  /** A source that takes longer is failing (hung). @default 30000 */
  timeoutMs?: number;
}

/**
 * The docs as they are now, in one request: `POST /db/_all_docs?include_docs=true` with their ids
 * as `keys` (CouchDB 1.x to 3.x and pouchdb-server answer it alike: a row per key, in order; a
 * deleted doc as `value.deleted` with a null doc, an unknown id as `error: "not_found"`).
 * Any other answer is a source fault, never a doc's absence.
 */
export async function readDocsNow(
  server: CouchServer,
  db: string,
  ids: string[],
  opts: ReadDocsNowOptions = {},
): Promise<Map<string, DocNow>> {
  const found = new Map<string, DocNow>();
  if (ids.length === 0) return found;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let body: unknown;
  try {
    // nano passes `signal` through to fetch, though its types do not list it
    body = await server.nano.request({
      db,
      method: 'POST',
      path: '_all_docs',
      qs: { include_docs: true },
      body: { keys: ids },
      signal,
    } as Parameters<typeof server.nano.request>[0]);
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    if (timeout.aborted)
      throw new CouchSourceError(
        `CouchDB at ${redactUrl(server.url)} did not answer a read of ${ids.length} doc(s) of "${db}" within ${timeoutMs / 1000}s (hung source)`,
      );
    throw couchError(err, db, server.url);
  }
  // a server asked without `Accept: application/json` (a proxy may drop it) sends its JSON as text/plain
  if (typeof body === 'string') body = parseOr(body);
  const rows = (body as { rows?: unknown } | null)?.rows;
  const fault = (what: string, about: unknown) =>
    new CouchSourceError(
      `CouchDB at ${redactUrl(server.url)} answered a read of ${ids.length} doc(s) of "${db}" (_all_docs with keys) ${what}: ${excerpt(about)}`,
    );
  if (!Array.isArray(rows)) throw fault('without rows', body);
  for (const row of rows as AllDocsRow[]) {
    if (typeof row !== 'object' || row === null || typeof row.key !== 'string')
      throw fault('with a malformed row', row);
    if (row.error === 'not_found') found.set(row.key, { missing: true });
    else if (row.error !== undefined) throw fault(`with an error for doc ${JSON.stringify(row.key)}`, row.error);
    else if (row.value?.deleted === true && typeof row.value.rev === 'string')
      found.set(row.key, { deleted: true, rev: row.value.rev });
    else if (row.doc && typeof row.doc === 'object' && row.doc._id === row.key) found.set(row.key, { doc: row.doc });
    else throw fault(`without the body of doc ${JSON.stringify(row.key)}`, row);
  }
  const absent = ids.find((id) => !found.has(id));
  if (absent !== undefined) throw fault(`without a row for doc ${JSON.stringify(absent)}`, `${rows.length} rows`);
  return found;
}

/**
 * The changes with the bodies read after the feed. A doc may have moved on since its change was
 * written to the feed: the change then carries the newer winner (its body and revision), or its
 * deletion when the doc is now deleted or gone. That is safe because the feed holds a later change
 * for the same doc, which writes the winner again, and processors are idempotent. Changes not
 * asked for (`now` has no entry) stay as they were, without a body.
 */
export function withDocsNow(changes: Change[], now: Map<string, DocNow>): Change[] {
  return changes.map((change) => {
    const found = now.get(change.id);
    if (!found) return change;
    if ('doc' in found) {
      const deleted = found.doc._deleted === true;
      return { id: change.id, seq: change.seq, deleted, rev: found.doc._rev ?? change.rev, doc: found.doc };
    }
    if ('deleted' in found) return { id: change.id, seq: change.seq, deleted: true, rev: found.rev };
    return { id: change.id, seq: change.seq, deleted: true, rev: change.rev };
  });
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
