import type { Seq } from '../types';
import { MemoByKey } from '../memo-by-key';

// how stale a database's update seq may be when it only feeds a `pending` estimate
const HEAD_TTL_MS = 2000;

const heads = new MemoByKey<string, Seq>({ ttlMs: HEAD_TTL_MS });

/** A database's update seq, read at most once every two seconds per database in this worker. */
export function cachedHead(key: string, read: () => Promise<Seq>): Promise<Seq> {
  return heads.get(key, read);
}
