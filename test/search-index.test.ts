/**
 * searchIndex on a real OpenSearch node (started by test/run-tests.ts from the launcher in
 * src/dev/opensearch-launcher). Skipped, saying why, where there is no Java or Maven.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import nano from 'nano';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { searchIndex, searchId } from '../src/processors/search-index';
import { retryChangeId } from '../src/temporal/retry-change-id';
import { retryStatusQuery, rewindSignal } from '../src/workflows/messages';
import type { PillowDefinition } from '../src/config/pillow-definition';
import type { Doc, Processor } from '../src/types';

const searchUrl = process.env.PILLOWTOP_TEST_OPENSEARCH_URL ?? '';
const skip = searchUrl ? false : `no OpenSearch: ${process.env.PILLOWTOP_TEST_OPENSEARCH_SKIP || 'not started'}`;
if (skip) console.error(`\n*** search-index tests SKIPPED: ${skip} ***\n`);

async function os<T = any>(method: string, path: string, body?: unknown, url = searchUrl): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as T;
}

/** doc_id → doc_rev of everything the alias holds, after a refresh. */
async function indexState(alias: string): Promise<Map<string, string>> {
  await os('POST', `/${alias}/_refresh`);
  const res = await os<{ hits: { hits: { _source: { doc_id: string; doc_rev: string } }[] } }>(
    'POST',
    `/${alias}/_search`,
    { size: 10_000, _source: ['doc_id', 'doc_rev'], query: { match_all: {} } },
  );
  return new Map(res.hits.hits.map((h) => [h._source.doc_id, h._source.doc_rev]));
}

/** doc id → winning rev of the live CommCareCase docs in CouchDB. */
async function sourceState(
  couchUrl: string,
  db: string,
  except: Set<string> = new Set(),
): Promise<Map<string, string>> {
  const all = await nano(couchUrl).use<Doc>(db).list({ include_docs: true });
  return new Map(
    all.rows
      .filter((r) => r.doc?.doc_type === 'CommCareCase' && !except.has(r.id))
      .map((r) => [r.id, r.value.rev] as [string, string]),
  );
}

function diff(a: Map<string, string>, b: Map<string, string>): string {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${k.slice(0, 40)}: source ${v}, index ${b.get(k)}`);
  for (const k of b.keys()) if (!a.has(k)) out.push(`${k.slice(0, 40)}: only in the index`);
  return out.slice(0, 5).join('; ');
}

const MAPPINGS = {
  properties: {
    name: { type: 'text' },
    owner_id: { type: 'keyword' },
    age: { type: 'integer' },
    domain: { type: 'keyword' },
  },
};
const SETTINGS = { number_of_shards: 1, number_of_replicas: 0 };
const transform = (doc: Doc) => ({
  name: doc.name,
  owner_id: doc.owner_id,
  domain: doc.domain,
  age: (doc.properties as { age?: unknown } | undefined)?.age,
});

/** A TCP proxy to the search node that the test can close and reopen on the same port. */
async function closableProxy(target: string) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  let listenPort = 0;
  const open = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(port), hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(listenPort, '127.0.0.1', () => {
        listenPort = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  await open();
  return {
    url: () => `http://127.0.0.1:${listenPort}`,
    open,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server!.close(() => resolve());
      }),
  };
}

describe('searchIndex on OpenSearch', { skip }, () => {
  let s: Suite;
  let db: string;
  let outageDb: string;
  let proxy: Awaited<ReturnType<typeof closableProxy>>;
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const alias = `cases_${suffix}`;
  const outageAlias = `outage_${suffix}`;
  const byIdAlias = `byid_${suffix}`;
  let byIdDb: string;
  let changed: Processor;
  const pillows: PillowDefinition[] = [];

  /** Waits until the index equals the source; on timeout, fails showing the difference. */
  async function converges(workflowId: string, what: string, couchDb: string, index: string, except?: Set<string>) {
    let last = '';
    try {
      await s.eventuallyFor(workflowId, what, async () => {
        last = diff(await sourceState(s.couchUrl, couchDb, except), await indexState(index));
        return last === '';
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n  difference: ${last}`);
    }
  }

  before(async () => {
    s = await setupSuite('search');
    db = await s.couchDb('search');
    outageDb = await s.couchDb('search_outage');
    byIdDb = await s.couchDb('search_byid');
    proxy = await closableProxy(searchUrl);
    changed = searchIndex({
      alias,
      mappings: { properties: { ...MAPPINGS.properties, age: { type: 'keyword' } } },
      settings: SETTINGS,
      transform,
      url: searchUrl,
    });
    pillows.push(
      {
        name: 'search',
        source: { db },
        filter: { docTypes: ['CommCareCase'] },
        batchSize: 20,
        longPollSeconds: 2,
        retry: { attempts: 1, initialIntervalSeconds: 1, backoffCoefficient: 1, maxIntervalSeconds: 1 },
        processors: [searchIndex({ alias, mappings: MAPPINGS, settings: SETTINGS, transform, url: searchUrl })],
      },
      {
        name: 'search_outage',
        source: { db: outageDb },
        batchSize: 20,
        longPollSeconds: 2,
        processors: [searchIndex({ alias: outageAlias, settings: SETTINGS, url: proxy.url() })],
      },
      {
        name: 'search_byid',
        source: { db: byIdDb },
        batchSize: 20,
        longPollSeconds: 2,
        processors: [
          searchIndex({
            alias: byIdAlias,
            settings: SETTINGS,
            url: searchUrl,
            idField: 'external_id',
            transform: (doc) => ({ external_id: (doc.properties as { external_id?: string }).external_id }),
          }),
        ],
      },
      // same alias, a changed mapping: must be refused, never applied
      { name: 'search_changed', source: { db }, longPollSeconds: 2, processors: [changed] },
    );
    await s.startWorker(pillows);
  });
  after(async () => {
    await proxy?.close().catch(() => undefined);
    await s?.cleanup();
    await os('DELETE', `/${alias}*,${outageAlias}*,${byIdAlias}*`).catch(() => undefined);
  });

  test('the index ends equal to CouchDB: inserts, updates, deletes, a long id; a mapping conflict is retried alone', async () => {
    const longId = `long-${'x'.repeat(600)}`;
    const docs: Doc[] = Array.from({ length: 60 }, (_, i) => caseDoc(i));
    docs.push({ ...caseDoc(1000), _id: longId });
    docs.push({ ...caseDoc(1001), _id: 'bad-age', properties: { age: 'forty' } });
    const revs = await writeDocs(s.couchUrl, db, docs);
    await s.startPillowCli('search');

    const bad = new Set(['bad-age']);
    await converges('pillow/search', 'index equal to the source (but the bad doc)', db, alias, bad);

    // the mapping conflict is a doc failure with its own retryChange workflow, naming the reason
    const retry = await eventually('bad-age retried', async () =>
      s.client.workflow
        .getHandle(retryChangeId('search', 'bad-age'))
        .query(retryStatusQuery)
        .catch(() => null),
    );
    assert.match(retry!.lastError, /mapper_parsing_exception|failed to parse field \[age\]/);

    // the alias points at one index, created with our mapping
    const aliasInfo = await os<Record<string, unknown>>('GET', `/_alias/${alias}`);
    const indices = Object.keys(aliasInfo);
    assert.equal(indices.length, 1);
    assert.match(indices[0], new RegExp(`^${alias}-[0-9a-f]{8}$`));
    const mapping = await os('GET', `/${alias}/_mapping`);
    assert.equal(mapping[indices[0]].mappings.properties.age.type, 'integer');

    // the long id is indexed under a hashed _id and keeps its real id in doc_id
    const long = await os('GET', `/${alias}/_doc/${encodeURIComponent(searchId(longId))}`);
    assert.equal(long.found, true);
    assert.equal(long._source.doc_id, longId);
    assert.match(searchId(longId), /^_sha256:[0-9a-f]{64}$/);

    // updates, deletes (the long id too), and the bad doc fixed
    const database = nano(s.couchUrl).use<Doc>(db);
    for (let i = 0; i < 10; i++) await database.insert({ ...caseDoc(i, 1), _rev: revs.get(caseDoc(i)._id) });
    for (let i = 10; i < 15; i++) await database.destroy(caseDoc(i)._id, revs.get(caseDoc(i)._id)!);
    await database.destroy(longId, revs.get(longId)!);
    await database.insert({ ...caseDoc(1001), _id: 'bad-age', _rev: revs.get('bad-age'), properties: { age: 40 } });

    await converges('pillow/search', 'index equal to the source after updates and deletes', db, alias);
    // a rewind to zero replays the feed: the index stays equal to the source
    const processedBefore = (await s.status('search')).processed;
    await s.client.workflow.getHandle('pillow/search').signal(rewindSignal, { to: '0' });
    await s.eventuallyFor(
      'pillow/search',
      'the whole feed replayed',
      async () => (await s.status('search')).processed >= processedBefore + docs.length,
    );
    await converges('pillow/search', 'index equal to the source after a replay', db, alias);

    const state = await indexState(alias);
    assert.equal(state.has(caseDoc(10)._id), false, 'deleted docs are gone');
    assert.equal(state.has(longId), false, 'the long id is deleted too');
    assert.match(state.get(caseDoc(0)._id)!, /^2-/);
    assert.match(state.get('bad-age')!, /^2-/);
  });

  test('with idField, documents live under the value of the field; deletes and changed values leave nothing behind', async () => {
    const docs: Doc[] = Array.from({ length: 6 }, (_, i) => ({
      ...caseDoc(i),
      properties: { external_id: `ext-${i}` },
    }));
    const revs = await writeDocs(s.couchUrl, byIdDb, docs);
    await s.startPillowCli('search_byid');
    const database = nano(s.couchUrl).use<Doc>(byIdDb);
    const expected = async () => {
      const all = await database.list({ include_docs: true });
      return all.rows
        .map((r) => `${(r.doc!.properties as { external_id: string }).external_id}=${r.id}@${r.value.rev}`)
        .sort();
    };
    const actual = async () => {
      await os('POST', `/${byIdAlias}/_refresh`);
      const res = await os('POST', `/${byIdAlias}/_search`, { size: 100, query: { match_all: {} } });
      return (res.hits.hits as { _id: string; _source: { doc_id: string; doc_rev: string } }[])
        .map((h) => `${h._id}=${h._source.doc_id}@${h._source.doc_rev}`)
        .sort();
    };
    await s.eventuallyFor('pillow/search_byid', 'indexed by external id', async () => {
      return JSON.stringify(await actual()) === JSON.stringify(await expected());
    });
    await database.destroy(caseDoc(0)._id, revs.get(caseDoc(0)._id)!);
    await database.insert({ ...docs[1], _rev: revs.get(docs[1]._id), properties: { external_id: 'ext-moved' } });
    let last: string[] = [];
    await s.eventuallyFor('pillow/search_byid', 'delete and move applied', async () => {
      last = await actual();
      return JSON.stringify(last) === JSON.stringify(await expected());
    });
    assert.equal(last.length, 5);
    assert.ok(last.some((l) => l.startsWith(`ext-moved=${docs[1]._id}@2-`)));
    assert.ok(!last.some((l) => l.startsWith('ext-0=') || l.startsWith('ext-1=')));
  });

  test('a soft-deleted doc (CommCareCase-Deleted) leaves the index', async () => {
    const database = nano(s.couchUrl).use<Doc>(db);
    const doc = await database.get(caseDoc(30)._id);
    await database.insert({ ...doc, doc_type: 'CommCareCase-Deleted' });
    await converges('pillow/search', 'soft delete applied', db, alias);
    assert.equal((await indexState(alias)).has(caseDoc(30)._id), false);
  });

  test('a changed mapping is refused, reported, and never applied', async () => {
    await s.startPillowCli('search_changed');
    const st = await s.eventuallyFor('pillow/search_changed', 'refused as needing a rebuild', async () => {
      const st = await s.status('search_changed');
      return /needs a rebuild/.test(st.lastError ?? '') ? st : null;
    });
    assert.equal(st!.processed, 0);
    assert.match(changed.describe!(), /needs rebuild: index "cases_.*" has mappings\/settings [0-9a-f]{8}/);
    const indices = Object.keys(await os('GET', `/_alias/${alias}`));
    const mapping = await os('GET', `/${indices[0]}/_mapping`);
    assert.equal(mapping[indices[0]].mappings.properties.age.type, 'integer', 'the live mapping is unchanged');
    await s.eventuallyFor(
      'pillow/search_changed',
      'shown failing',
      async () => {
        return (await s.status('search_changed')).status === 'failing';
      },
      120_000,
    );
  });

  test('an unreachable cluster is an outage: failing, checkpoint kept, then it catches up', async () => {
    await writeDocs(
      s.couchUrl,
      outageDb,
      Array.from({ length: 10 }, (_, i) => caseDoc(i)),
    );
    // started while the cluster is down: the pillow starts, shows failing, and begins once it is back
    await proxy.close();
    await s.startPillowCli('search_outage');
    const down = await s.eventuallyFor(
      'pillow/search_outage',
      'failing from the start',
      async () => {
        const st = await s.status('search_outage').catch(() => null);
        return st?.status === 'failing' ? st : null;
      },
      120_000,
    );
    assert.match(down!.lastError ?? '', /unreachable/);
    assert.equal(down!.checkpoint, '0');
    await proxy.open();
    await s.eventuallyFor('pillow/search_outage', 'first docs indexed', async () => {
      return diff(await sourceState(s.couchUrl, outageDb), await indexState(outageAlias)) === '';
    });
    await s.eventuallyFor(
      'pillow/search_outage',
      'idle',
      async () => (await s.status('search_outage')).status === 'idle',
    );
    const before = (await s.status('search_outage')).checkpoint;

    await proxy.close();
    await writeDocs(
      s.couchUrl,
      outageDb,
      Array.from({ length: 10 }, (_, i) => caseDoc(100 + i)),
    );
    const failing = await s.eventuallyFor(
      'pillow/search_outage',
      'failing while the cluster is unreachable',
      async () => {
        const st = await s.status('search_outage');
        return st.status === 'failing' ? st : null;
      },
      120_000,
    );
    assert.match(
      failing!.lastError ?? '',
      /SinkUnavailableError: search cluster http:\/\/127\.0\.0\.1:\d+ unreachable/,
    );
    assert.equal(failing!.checkpoint, before, 'the checkpoint does not move during the outage');
    assert.equal(failing!.failed, 0, 'nothing is parked for an outage');

    await proxy.open();
    await s.eventuallyFor(
      'pillow/search_outage',
      'caught up after the outage',
      async () => diff(await sourceState(s.couchUrl, outageDb), await indexState(outageAlias)) === '',
      120_000,
    );
    await s.eventuallyFor('pillow/search_outage', 'no longer failing', async () => {
      return (await s.status('search_outage')).status !== 'failing';
    });

    // a closed index rejects every doc alike: an outage too, not a doc failure
    const kept = (await s.status('search_outage')).checkpoint;
    await os('POST', `/${outageAlias}/_close`);
    await writeDocs(s.couchUrl, outageDb, [caseDoc(200)]);
    const closed = await s.eventuallyFor(
      'pillow/search_outage',
      'failing while the index is closed',
      async () => {
        const st = await s.status('search_outage');
        return st.status === 'failing' ? st : null;
      },
      120_000,
    );
    assert.match(closed!.lastError ?? '', /index_closed_exception/);
    assert.equal(closed!.checkpoint, kept);
    assert.equal(closed!.failed, 0);
    await os('POST', `/${outageAlias}/_open`);
    await s.eventuallyFor(
      'pillow/search_outage',
      'caught up after the index reopened',
      async () => diff(await sourceState(s.couchUrl, outageDb), await indexState(outageAlias)) === '',
      120_000,
    );
  });
});
