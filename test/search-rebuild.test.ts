/**
 * `pillowtop rebuild` of a searchIndex on a real OpenSearch node (started by test/run-tests.ts for
 * `search-*` suites; skipped, saying why, where there is no Java or Maven).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import { differences, sourceWinners, startLiveWriter, startReaders } from './helpers/rebuild-traffic';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { searchIndex } from '../src/processors/search-index';
import type { PillowDefinition } from '../src/config/pillow-definition';
import type { RunningWorker } from '../src/worker/start-worker';
import type { Doc } from '../src/types';
import { rebuildWorkflowId } from '../src/workflows/rebuild-types';

const searchUrl = process.env.PILLOWTOP_TEST_OPENSEARCH_URL ?? '';
const skip = searchUrl ? false : `no OpenSearch: ${process.env.PILLOWTOP_TEST_OPENSEARCH_SKIP || 'not started'}`;
if (skip) console.error(`\n*** search-rebuild tests SKIPPED: ${skip} ***\n`);

const DOCS = 5_000;
const ALIAS = 'rbs_cases';

async function os<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${searchUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** doc_id → doc_rev of everything the alias holds, after a refresh. */
async function indexState(): Promise<Map<string, string>> {
  await os('POST', `/${ALIAS}/_refresh`);
  const res = await os<{ hits: { hits: { _source: { doc_id: string; doc_rev: string } }[] } }>(
    'POST',
    `/${ALIAS}/_search`,
    { size: 10_000, _source: ['doc_id', 'doc_rev'], query: { match_all: {} } },
  );
  return new Map(res.body.hits.hits.map((h) => [h._source.doc_id, h._source.doc_rev]));
}

/** What a search client sees through the alias now. */
async function aliasCount(): Promise<number> {
  const res = await os<{ count?: number }>('GET', `/${ALIAS}/_count`);
  if (typeof res.body.count !== 'number') throw new Error(`_count answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.count;
}

const aliasTargets = async () =>
  Object.keys((await os<Record<string, unknown>>('GET', `/_alias/${ALIAS}`)).body).sort();

const transform = (doc: Doc) => ({ name: doc.name, owner_id: doc.owner_id });

describe('pillowtop rebuild of a searchIndex', { skip }, () => {
  let s: Suite;
  let db: string;
  let worker: RunningWorker;
  let revs: Map<string, string>;
  const name = 'rbs';
  const processor = `searchIndex:${ALIAS}`;
  const pillowWith = (ownerType: 'keyword' | 'text'): PillowDefinition => ({
    name,
    source: { db },
    batchSize: 500,
    longPollSeconds: 1,
    processors: [
      searchIndex({
        alias: ALIAS,
        url: searchUrl,
        mappings: { properties: { name: { type: 'text' }, owner_id: { type: ownerType } } },
        settings: { number_of_shards: 1, number_of_replicas: 0 },
        transform,
      }),
    ],
  });
  const startRebuild = () =>
    s.client.workflow.start('rebuild', {
      workflowId: rebuildWorkflowId(name, processor),
      taskQueue: s.taskQueue,
      args: [{ name, processor, graceSeconds: 1 }],
    });
  const converged = () =>
    s.eventuallyFor(
      `pillow/${name}`,
      'the alias equal to the source',
      async () => differences(await sourceWinners(s.couchUrl, db), await indexState()) === '',
      120_000,
    );

  before(async () => {
    s = await setupSuite('search-rebuild');
    db = await s.couchDb('rbs');
    revs = await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: DOCS }, (_, i) => caseDoc(i)),
    );
    worker = await s.startWorker([pillowWith('keyword')]);
    await s.startPillowCli(name);
    await converged();
  });
  after(() => s?.cleanup());

  test('searches through the alias never see fewer docs during a rebuild with live writes; one _aliases swap', async () => {
    const [first] = await aliasTargets();
    const readers = startReaders(aliasCount);
    const writer = startLiveWriter(s.couchUrl, db, revs, DOCS);
    const result = await (await startRebuild()).result();
    const written = await writer.stop();
    const seen = await readers.stop();
    assert.equal(result.phase, 'done');
    assert.ok(written > 0);
    assert.deepEqual(seen.errors, [], 'no search failed across the swap');
    assert.ok(seen.fewest >= DOCS, `a search saw ${seen.fewest} docs, fewer than the ${DOCS} the source had`);
    assert.deepEqual(await aliasTargets(), [`${ALIAS}_v2`]);
    await converged();
    await eventually('the old index dropped', async () => (await os('GET', `/${first}`)).status === 404);
  });

  test('a changed mapping is refused by the live index and applied by rebuild', async () => {
    await worker.stop();
    worker = await s.startWorker([pillowWith('text')]);
    const changed = await writeDocs(s.couchUrl, db, [{ ...caseDoc(3, 50), _rev: revs.get(caseDoc(3)._id) }]);
    for (const [id, rev] of changed) revs.set(id, rev);
    await s.eventuallyFor(`pillow/${name}`, 'the pillow failing with "needs a rebuild"', async () =>
      /needs a rebuild/.test((await s.status(name)).lastError ?? ''),
    );
    const result = await (await startRebuild()).result();
    assert.equal(result.phase, 'done');
    assert.deepEqual(await aliasTargets(), [`${ALIAS}_v3`]);
    const mapping = await os<Record<string, { mappings: { properties: { owner_id: { type: string } } } }>>(
      'GET',
      `/${ALIAS}_v3/_mapping`,
    );
    assert.equal(mapping.body[`${ALIAS}_v3`].mappings.properties.owner_id.type, 'text');
    await converged();
    await eventually('the pillow running again', async () => (await s.status(name)).status !== 'failing');
  });
});
