import nano from 'nano';
import type { Doc } from '../types';

const VILLAGES = ['Ajmer', 'Bhopal', 'Chitwan', 'Dodoma', 'Eldoret', 'Fianarantsoa', 'Gulu', 'Hoima'];
const CASE_TYPES = ['patient', 'household', 'pregnancy', 'child'];

function pick<T>(list: T[], i: number): T {
  return list[i % list.length];
}

/**
 * A CommCare-like case doc of about 1 KB with twenty properties. `i` makes it deterministic;
 * `version` changes its content for updates.
 */
export function caseDoc(i: number, version = 0, domain = 'demo'): Doc {
  const opened = new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString();
  return {
    _id: `case-${String(i).padStart(8, '0')}`,
    doc_type: 'CommCareCase',
    domain,
    type: pick(CASE_TYPES, i),
    name: `Case ${i} v${version}`,
    owner_id: `owner-${i % 50}`,
    opened_on: opened,
    server_modified_on: new Date(Date.UTC(2025, 0, 1) + i * 60_000 + version * 1000).toISOString(),
    closed: version % 7 === 6,
    user_id: `user-${i % 20}`,
    properties: {
      age: (i * 7 + version) % 90,
      village: pick(VILLAGES, i + version),
      phone: `+2547${String(10_000_000 + i).slice(-8)}`,
      dob: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 9}`,
      sex: i % 2 ? 'female' : 'male',
      household_size: 1 + (i % 9),
      visit_count: version,
      last_visit_notes: `Routine follow-up visit ${version}; no danger signs observed; counselled on nutrition and hygiene.`,
      risk_level: pick(['low', 'medium', 'high'], i + version),
      referred: version % 3 === 0,
      edd: i % 4 === 2 ? `2026-0${1 + (i % 9)}-15` : null,
      gps: `${(i % 90) - 45}.${i % 1000} ${(i % 180) - 90}.${(i * 3) % 1000}`,
      language: pick(['en', 'hi', 'sw', 'fr'], i),
      consent: true,
      program: pick(['mch', 'nutrition', 'tb', 'hiv'], i),
      status: pick(['active', 'followup', 'closed'], version),
    },
    indices: [
      {
        identifier: 'parent',
        referenced_type: 'household',
        referenced_id: `case-${String(i - (i % 5)).padStart(8, '0')}`,
      },
    ],
  };
}

/** A form doc: same database, a doc type the demo pillow's filter drops. */
export function formDoc(i: number): Doc {
  return {
    _id: `form-${String(i).padStart(8, '0')}`,
    doc_type: 'XFormInstance',
    domain: 'demo',
    form: { case_id: `case-${i}`, answers: { q1: i } },
  };
}

/** Creates the database if missing. */
export async function ensureDatabase(couchUrl: string, db: string): Promise<void> {
  const server = nano(couchUrl);
  try {
    await server.db.create(db);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 412) throw err;
  }
}

/** Writes docs with `_bulk_docs` in chunks; returns the new revisions by id. */
export async function writeDocs(couchUrl: string, db: string, docs: Doc[], chunk = 1000): Promise<Map<string, string>> {
  const database = nano(couchUrl).use<Doc>(db);
  const revs = new Map<string, string>();
  for (let i = 0; i < docs.length; i += chunk) {
    const results = await database.bulk({ docs: docs.slice(i, i + chunk) });
    for (const r of results) {
      if (r.error) throw new Error(`writing ${r.id} failed: ${r.error} ${r.reason ?? ''}`);
      if (r.id && r.rev) revs.set(r.id, r.rev);
    }
  }
  return revs;
}

export interface Generator {
  stop(): Promise<void>;
  written(): number;
}

/**
 * Keeps writing to the demo database: new cases, updates of earlier ones, the odd form and delete,
 * about `perSecond` docs a second, so the demo pillow always has something to follow.
 */
export function startGenerator(couchUrl: string, db: string, opts: { perSecond: number; startAt: number }): Generator {
  const database = nano(couchUrl).use<Doc>(db);
  const revs = new Map<string, string>();
  let next = opts.startAt;
  let count = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const docs: Doc[] = [];
      for (let k = 0; k < Math.max(1, Math.round(opts.perSecond)); k++) {
        const roll = (next + k) % 10;
        if (roll < 6 || revs.size < 10) docs.push(caseDoc(next++));
        else if (roll < 9) {
          const id = [...revs.keys()][(next * 31) % revs.size];
          const i = Number(id.slice(5));
          docs.push({ ...caseDoc(i, next), _rev: revs.get(id) });
        } else if (roll === 9 && k % 2 === 0) docs.push(formDoc(next++));
        else {
          const id = [...revs.keys()][(next * 17) % revs.size];
          docs.push({ _id: id, _rev: revs.get(id), _deleted: true });
          revs.delete(id);
        }
      }
      try {
        for (const r of await database.bulk({ docs })) {
          if (r.rev && r.id?.startsWith('case-')) revs.set(r.id, r.rev);
          if (!r.error) count++;
        }
      } catch {
        // CouchDB away for a moment: keep trying
      }
      for (const d of docs) if (d._deleted) revs.delete(d._id);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    written: () => count,
    async stop() {
      running = false;
      await loop;
    },
  };
}
