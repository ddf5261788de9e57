import { databaseInfo } from '../../couch/read-changes';
import type { CouchServer } from '../../couch/couch-client';
import { seqEstimate } from '../../checkpoint/seq';
import { cachedHead } from '../head-cache';

/** Where the server gives no `pending` (pouchdb-server), estimate it from the update seq. */
export async function estimatePending(
  server: CouchServer,
  db: string,
  lastSeq: string,
  catchingUp: boolean,
  timeoutMs?: number,
): Promise<number | null> {
  // catching up, a head a second or two old is close enough and saves a request per page
  const read = async () => (await databaseInfo(server, db, timeoutMs)).updateSeq;
  const head = seqEstimate(catchingUp ? await cachedHead(`${server.url}/${db}`, read) : await read());
  const at = seqEstimate(lastSeq);
  return head === null || at === null ? null : Math.max(0, head - at);
}
