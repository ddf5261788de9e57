import type { Seq } from '../types';

// how stale a database's update seq may be when it only feeds a `pending` estimate
const HEAD_TTL_MS = 2000;

const heads = new Map<string, { at: number; seq: Promise<Seq> }>();

/** A database's update seq, read at most once every two seconds per database in this worker. */
export function cachedHead(key: string, read: () => Promise<Seq>): Promise<Seq> {
  const found = heads.get(key);
  if (found && Date.now() - found.at < HEAD_TTL_MS) return found.seq;
  const seq = read();
  heads.set(key, { at: Date.now(), seq });
  seq.catch(() => heads.delete(key)); // a failed read is not kept
  return seq;
}
