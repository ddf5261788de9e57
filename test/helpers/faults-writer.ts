/**
 * Keeps a CouchDB database changing while a fault happens: new docs, updates and deletes, a few
 * times a second. Writes that fail (the server is down) are simply tried again with the next round.
 */
import nano from 'nano';
import { caseDoc } from '../../src/dev/demo-data';
import type { Doc } from '../../src/types';

export interface Writer {
  /** Stops writing and waits for the round in flight. */
  stop(): Promise<number>;
}

export function startWriter(couchUrl: string, db: string, opts: { startAt: number; perRound?: number }): Writer {
  const database = nano(couchUrl).use<Doc>(db);
  const revs = new Map<string, string>();
  let next = opts.startAt;
  let written = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const docs: Doc[] = [];
      for (let k = 0; k < (opts.perRound ?? 20); k++) {
        const known = [...revs.keys()];
        const roll = (next + k) % 10;
        if (roll < 6 || known.length < 10) docs.push(caseDoc(next++));
        else if (roll < 9) {
          const id = known[(next * 31 + k) % known.length];
          docs.push({ ...caseDoc(Number(id.slice(5)), next), _rev: revs.get(id) });
        } else {
          const id = known[(next * 17 + k) % known.length];
          docs.push({ _id: id, _rev: revs.get(id), _deleted: true });
        }
      }
      // one change per doc per round, so a round never conflicts with itself
      const unique = [...new Map(docs.map((d) => [d._id, d])).values()];
      try {
        for (const r of await database.bulk({ docs: unique })) {
          if (r.error || !r.id || !r.rev) continue;
          written++;
          if (unique.find((d) => d._id === r.id)?._deleted) revs.delete(r.id);
          else revs.set(r.id, r.rev);
        }
      } catch {
        // the server is away: next round
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return written;
    },
  };
}
