import type { Seq } from '../types';
import type { CouchServer } from './couch-client';
import { CouchRejectedError, couchError } from './couch-errors';
import { redactUrl } from './redact-url';
import { databaseInfo, DEFAULT_READ_TIMEOUT_MS } from './read-changes';

/**
 * Why the source would not accept `seq` as a checkpoint, or null if it would. Asked before a
 * checkpoint from an operator (setCheckpoint, rewind, a start `checkpoint`, `pillowtop rewind --to`)
 * is stored: a stored seq the source refuses leaves a pillow failing every slice (CouchDB 3 answers
 * a malformed `since` with 400) or idle for ever (integer-seq servers echo any `since` back).
 *
 * Two checks: servers with integer seqs (pouchdb-server, CouchDB 1.x; told by the server kind or
 * by the shape of the database's `update_seq`) take only integers up to their head (an exact
 * comparison of integers, not an estimate); every server is then asked for one change after the seq,
 * without docs, and must not refuse it. Throws when the source cannot be asked (an outage).
 */
export async function seqRejection(
  server: CouchServer,
  db: string,
  seq: Seq,
  timeoutMs = DEFAULT_READ_TIMEOUT_MS,
): Promise<string | null> {
  const shown = seq.length > 60 ? JSON.stringify(seq.slice(0, 60) + '…') : JSON.stringify(seq);
  const { updateSeq } = await databaseInfo(server, db, timeoutMs);
  if (server.kind === 'pouchdb-server' || /^\d+$/.test(updateSeq)) {
    if (!/^\d+$/.test(seq)) return `seq ${shown} is not a seq of "${db}": this server's seqs are integers`;
    if (Number(seq) > Number(updateSeq)) return `seq ${shown} is past the head of "${db}" (update_seq ${updateSeq})`;
  }
  try {
    await server.nano.request({
      db,
      path: '_changes',
      qs: { since: seq, limit: 1 },
      signal: AbortSignal.timeout(timeoutMs),
    } as Parameters<typeof server.nano.request>[0]);
  } catch (err) {
    const e = couchError(err, db, server.url);
    if (e instanceof CouchRejectedError && e.status === 400) {
      const reason = (err as { reason?: string }).reason ?? e.message;
      return `CouchDB at ${redactUrl(server.url)} refuses seq ${shown} for "${db}": ${reason}`;
    }
    throw e;
  }
  return null;
}
