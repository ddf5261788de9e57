/**
 * One promise per key, shared by everyone who asks while it lives: a worker process connects to a
 * CouchDB server once, creates the state tables and a pillow's tables once, and reads a database's
 * head at most once a while. (A prefetched page is not one of these: it is handed to one taker, see
 * src/activities/prefetch.ts.)
 *
 * Policy: a promise that fails is dropped as soon as it fails, so the next caller tries again (the
 * server, the database may be back); with `ttlMs`, an entry older than that is made again; keys that
 * are objects (a pg Pool) are held weakly when `weak` is set, so a closed pool's entries go with it.
 */
export class MemoByKey<K, V> {
  private readonly entries: Map<K, Entry<V>> | WeakMap<K & object, Entry<V>>;

  constructor(private readonly opts: { ttlMs?: number; weak?: K extends object ? boolean : never } = {}) {
    this.entries = opts.weak ? new WeakMap() : new Map();
  }

  /** The live promise for `key`, or a new one from `make`. */
  get(key: K, make: () => Promise<V>): Promise<V> {
    return this.fresh(key)?.value ?? this.put(key, make());
  }

  private put(key: K, value: Promise<V>): Promise<V> {
    const entry: Entry<V> = { value, at: Date.now() };
    this.map.set(key, entry);
    // dropped once failed, unless something newer took its place meanwhile
    value.catch(() => {
      if (this.map.get(key) === entry) this.map.delete(key);
    });
    return value;
  }

  private fresh(key: K): Entry<V> | undefined {
    const entry = this.map.get(key);
    if (entry && this.opts.ttlMs !== undefined && Date.now() - entry.at >= this.opts.ttlMs) {
      this.map.delete(key);
      return undefined;
    }
    return entry;
  }

  // Map and WeakMap share get/set/delete; one view of both
  private get map(): Map<K, Entry<V>> {
    return this.entries as Map<K, Entry<V>>;
  }
}

interface Entry<V> {
  value: Promise<V>;
  at: number;
}
