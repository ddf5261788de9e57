import type { ChangesPage } from '../couch/read-changes';
import type { Seq } from '../types';

/**
 * Pipelining across activities: when a page was full, the activity starts reading the next page
 * (since its own last seq) before it writes, and leaves the read here for the next activity of the
 * same pillow on this worker. A rewind or a different worker asks for another seq and simply misses.
 */
interface Pending {
  since: Seq;
  page: Promise<ChangesPage>;
  at: number;
}

const MAX_AGE_MS = 30_000;
const pending = new Map<string, Pending>();

export function startPrefetch(key: string, since: Seq, read: () => Promise<ChangesPage>): void {
  const page = read();
  page.catch(() => undefined); // a failed prefetch is simply read again by the next page
  pending.set(key, { since, page, at: Date.now() });
}

/** The prefetched page for exactly this seq, if one is fresh; consumed either way. */
export function takePrefetch(key: string, since: Seq): Promise<ChangesPage> | null {
  const found = pending.get(key);
  pending.delete(key);
  if (!found || found.since !== since || Date.now() - found.at > MAX_AGE_MS) return null;
  return found.page;
}
