import type { Change, Doc } from '../types';
import { couchError } from './couch-errors';
import type { CouchServer } from './couch-client';

/**
 * The doc as it is now, as a change: its winning revision, or its deletion (with the tombstone's
 * revision, so sinks can guard on it). Null when the doc never existed.
 */
export async function readDoc(server: CouchServer, db: string, id: string): Promise<Change | null> {
  try {
    const doc = (await server.nano.request({ db, path: docPath(id) })) as Doc;
    return { id, seq: null, deleted: false, rev: doc._rev, doc };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw couchError(err, db, server.url);
  }
  // deleted (or missing): find the tombstone among the leaves
  try {
    const leaves = (await server.nano.request({ db, path: docPath(id), qs: { open_revs: 'all' } })) as { ok?: Doc }[];
    const tombstones = leaves.map((l) => l.ok).filter((d): d is Doc => !!d && d._deleted === true);
    if (tombstones.length === 0) return null;
    const newest = tombstones.sort((a, b) => revOrder(b._rev) - revOrder(a._rev))[0];
    return { id, seq: null, deleted: true, rev: newest._rev, doc: newest };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw couchError(err, db, server.url);
  }
}

function revOrder(rev: string | undefined): number {
  return Number(/^(\d+)-/.exec(rev ?? '')?.[1] ?? 0);
}

/** The doc's URL path: one escaped segment (nano's own `doc` option skips escaping some ids). */
export function docPath(id: string): string {
  if (id.startsWith('_design/')) return `_design/${encodeURIComponent(id.slice(8))}`;
  return encodeURIComponent(id);
}
