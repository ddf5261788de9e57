import { couchServer } from '../src/couch/couch-client';
import { readChanges } from '../src/couch/read-changes';
import { seqToText } from '../src/checkpoint/seq';
import type { Doc } from '../src/types';

export interface RawSearchResult {
  docs: number;
  seconds: number;
  docsPerSecond: number;
  /** The feed's end as read (`last_seq` of the last page), text as the checkpoint stores it. */
  lastSeq: string;
}

export interface RawSearchOptions {
  couchUrl: string;
  db: string;
  searchUrl: string;
  /** A fresh index, created here with the processor's `doc_id`/`doc_rev` keyword fields. */
  index: string;
  batchSize: number;
}

/**
 * The search raw loop: the tightest honest serial loop. Read a page of changes with docs, one `_bulk`
 * of the same documents the processor writes (the doc without `_` fields, plus `doc_id`, `doc_rev`),
 * next page. Same keep-alive fetch (undici), same default index settings as the processor's index.
 */
export async function rawSearchLoop(o: RawSearchOptions): Promise<RawSearchResult> {
  const created = await fetch(`${o.searchUrl}/${o.index}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mappings: { properties: { doc_id: { type: 'keyword' }, doc_rev: { type: 'keyword' } } } }),
  });
  if (!created.ok) throw new Error(`creating ${o.index} failed (${created.status}): ${await created.text()}`);
  const server = await couchServer(o.couchUrl); // looked up once, outside the timed loop
  const started = performance.now();
  let since = '0';
  let docs = 0;
  for (;;) {
    const page = await readChanges({ server, db: o.db, since, limit: o.batchSize, longPollMs: 0 });
    const lines: string[] = [];
    for (const c of page.changes) {
      if (c.deleted || c.doc?.doc_type !== 'CommCareCase') continue;
      const source: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(c.doc as Doc)) if (!k.startsWith('_')) source[k] = v;
      source.doc_id = c.id;
      source.doc_rev = c.rev ?? c.doc._rev;
      lines.push(JSON.stringify({ index: { _index: o.index, _id: c.id } }), JSON.stringify(source));
    }
    if (lines.length > 0) {
      const res = await fetch(`${o.searchUrl}/_bulk`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: lines.join('\n') + '\n',
      });
      const body = (await res.json()) as { errors?: boolean };
      if (!res.ok || body.errors !== false) throw new Error(`raw loop _bulk into ${o.index} failed (${res.status})`);
    }
    docs += page.changes.length;
    since = seqToText(page.lastSeq) ?? String(page.lastSeq);
    if (page.changes.length < o.batchSize) break;
  }
  const seconds = (performance.now() - started) / 1000;
  return { docs, seconds, docsPerSecond: docs / seconds, lastSeq: since };
}

/** Documents an index or alias holds, after a refresh. */
export async function searchDocCount(searchUrl: string, index: string): Promise<number> {
  await fetch(`${searchUrl}/${index}/_refresh`, { method: 'POST' });
  const res = await fetch(`${searchUrl}/${index}/_count`);
  const body = (await res.json()) as { count?: number };
  return body.count ?? -1;
}
