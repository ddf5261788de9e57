import type { ChangesPage } from '../couch/read-changes';
import type { Seq } from '../types';

/**
 * Read-ahead: while a page is written, the pages after it are read, so that catching up runs at the
 * speed of the slower of reading and writing, not of their sum. Two pages ahead rather than one: a
 * write that takes longer than a read now and then (a slow commit, a GC pause, the workflow round trip
 * between two slices) no longer leaves the source idle, since the next read is already under way.
 * Each read still starts from the `last_seq` of the page before it (seqs are opaque), so reads stay
 * serial; the depth only bounds how far they run ahead of the writes, and so the pages held in memory.
 * @default 2
 */
export const READ_AHEAD_PAGES = 2;

// a read-ahead nobody took for this long is dropped with its pages (a stopped or moved pillow)
const MAX_AGE_MS = 30_000;

/**
 * The pages read ahead for one pillow (partition) on this worker, in feed order. A rewind, or a slice
 * on another worker, asks for another seq and simply misses; the chain is then dropped.
 */
interface Chain {
  /** Read (or being read) and not yet taken, oldest first. */
  ahead: { since: Seq; page: Promise<ChangesPage> }[];
  /** The last page asked for, and what it was once read (the next read starts at its `lastSeq`). */
  tail: { since: Seq; read?: ChangesPage };
  /** Reads a page; the latest taker's, so that reads carry the running activity's cancel signal. */
  read: (since: Seq) => Promise<ChangesPage>;
  /** Whether a page was full: only then is there more to read ahead. */
  full: (page: ChangesPage) => boolean;
  depth: number;
  expiry: NodeJS.Timeout;
}

const chains = new Map<string, Chain>();

/**
 * Reads ahead from `since` (the `last_seq` of a full page being written), up to `depth` pages while
 * they come back full. Does nothing if those reads are already under way.
 */
export function readAhead(
  key: string,
  since: Seq,
  read: (since: Seq) => Promise<ChangesPage>,
  full: (page: ChangesPage) => boolean,
  depth = READ_AHEAD_PAGES,
): void {
  const existing = chains.get(key);
  const under = existing && (existing.ahead[0]?.since ?? existing.tail.read?.lastSeq) === since;
  if (existing && under) {
    existing.read = read;
    existing.full = full;
    extend(key, existing);
    return;
  }
  drop(key);
  const chain: Chain = {
    ahead: [],
    tail: { since },
    read,
    full,
    depth,
    expiry: setTimeout(() => drop(key), MAX_AGE_MS).unref(),
  };
  chains.set(key, chain);
  start(key, chain, since);
}

/** The page read ahead for exactly this seq, if any; it leaves the chain, and the next read may start. */
export function takePrefetch(key: string, since: Seq): Promise<ChangesPage> | null {
  const chain = chains.get(key);
  if (!chain) return null;
  if (chain.ahead[0]?.since !== since) {
    drop(key);
    return null;
  }
  const { page } = chain.ahead.shift()!;
  chain.expiry.refresh();
  extend(key, chain);
  return page;
}

/** Pages read ahead for this key (not yet taken): for tests. */
export function readAheadDepth(key: string): number {
  return chains.get(key)?.ahead.length ?? 0;
}

function start(key: string, chain: Chain, since: Seq): void {
  const page = chain.read(since);
  chain.ahead.push({ since, page });
  chain.tail = { since };
  page.then(
    (read) => {
      if (chains.get(key) !== chain || chain.tail.since !== since) return;
      chain.tail.read = read;
      extend(key, chain);
    },
    // a failed read ends the chain there; its taker reads that page again
    () => undefined,
  );
}

/** Starts the next read when the last one is done, was full, and fewer than `depth` pages wait. */
function extend(key: string, chain: Chain): void {
  const last = chain.tail.read;
  if (!last || !chain.full(last) || chain.ahead.length >= chain.depth) return;
  start(key, chain, last.lastSeq);
}

function drop(key: string): void {
  const chain = chains.get(key);
  if (!chain) return;
  clearTimeout(chain.expiry);
  chains.delete(key);
}
