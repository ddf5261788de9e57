/**
 * `pillowtop bench --quick --search` against the test servers and the test OpenSearch node (started by
 * test/run-tests.ts for files named search-*): the option is parsed and its figures reported. Skipped,
 * saying why, where there is no Java or Maven. No timing thresholds: speed is what the full bench is for.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase } from '../src/dev/postgres-server';
import { testEnv } from './helpers/harness';
import { runBenchJson } from './helpers/bench-json';
import type { BenchResult } from '../bench/bench-result';

const searchUrl = process.env.PILLOWTOP_TEST_OPENSEARCH_URL ?? '';
const skip = searchUrl ? false : `no OpenSearch: ${process.env.PILLOWTOP_TEST_OPENSEARCH_SKIP || 'not started'}`;
if (skip) console.error(`\n*** search bench test SKIPPED: ${skip} ***\n`);

describe('pillowtop bench --quick --search', { skip }, () => {
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let result: BenchResult;
  let stderr: string;

  before(async () => {
    database = await createDatabase(testEnv('PILLOWTOP_TEST_DATABASE_URL'), 'pt_sbench');
    ({ result, stderr } = await runBenchJson(['--quick', '--search', '--docs', '500', '--follow-seconds', '1'], {
      DATABASE_URL: database.url,
      OPENSEARCH_URL: searchUrl,
    }));
  });
  after(() => database?.drop());

  test('reports the search figures in the last-line JSON', () => {
    assert.match(stderr, /bench: search raw loop/);
    assert.match(stderr, /bench: search catch-up/);
    assert.match(stderr, /bench: search rebuild: pillowtop rebuild/);
    const search = result.search;
    assert.ok(search, 'the JSON has a search object');
    assert.equal(search.docs, 500);
    assert.equal(search.server, 'given by OPENSEARCH_URL');
    for (const key of ['docsPerSecond', 'rawDocsPerSecond', 'ratio', 'rebuildDocsPerSecond'] as const)
      assert.ok(
        (search[key] ?? 0) > 0 && Number.isFinite(search[key]),
        `search.${key} is a positive number: ${search[key]}`,
      );
    assert.ok(
      Math.abs(search.docsPerSecond / search.rawDocsPerSecond - search.ratio) < 0.01,
      'ratio is processor over raw',
    );
    if (process.platform === 'linux') {
      assert.ok((search.workerRssMb ?? 0) > 50, `worker RSS was sampled: ${search.workerRssMb}`);
      assert.ok((search.opensearchRssMb ?? 0) > 50, `OpenSearch RSS was sampled: ${search.opensearchRssMb}`);
    }
    assert.equal(typeof result.targets.search_vs_raw_ge_0_9, 'boolean');
  });

  test('its indexes are gone afterwards', async () => {
    const res = await fetch(`${searchUrl}/_cat/indices?format=json`);
    const names = ((await res.json()) as { index: string }[]).map((i) => i.index);
    assert.deepEqual(
      names.filter((n) => /^b[0-9a-z]+_search/.test(n)),
      [],
    );
  });
});
