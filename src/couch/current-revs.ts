import type { CouchServer } from './couch-client';
import { couchError } from './couch-errors';

/** A doc's winning revision now, and whether it is deleted; null when CouchDB never had it (or purged it). */
export type CurrentRev = { rev: string; deleted: boolean } | null;

interface AllDocsRow {
  key: string;
  value?: { rev: string; deleted?: boolean };
  error?: string;
}

/**
 * The winning revision of each doc now, in one `_all_docs` request (POST with `keys`): deleted docs
 * come back with their tombstone's revision. Used by writers beside the feed (`reindex`) to leave a
 * doc that changed since they read it to the pillow, which will see that change in its feed.
 */
export async function currentRevs(server: CouchServer, db: string, ids: string[]): Promise<Map<string, CurrentRev>> {
  const found = new Map<string, CurrentRev>();
  if (ids.length === 0) return found;
  let body: { rows?: AllDocsRow[] };
  try {
    body = (await server.nano.request({ db, method: 'POST', path: '_all_docs', body: { keys: ids } })) as {
      rows?: AllDocsRow[];
    };
  } catch (err) {
    throw couchError(err, db, server.url);
  }
  if (!Array.isArray(body?.rows)) throw couchError(new Error('_all_docs answered without rows'), db, server.url);
  for (const row of body.rows) {
    found.set(row.key, row.value ? { rev: row.value.rev, deleted: row.value.deleted === true } : null);
  }
  return found;
}
