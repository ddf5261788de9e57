/** Read-ahead of pages (prefetch.ts), the worker's heap settings, and the memory run's growth figure: no servers. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readAhead, readAheadDepth, takePrefetch } from '../src/activities/prefetch';
import type { ChangesPage } from '../src/couch/read-changes';
import { DEFAULT_HEAP_GROWING_PERCENT, heapGrowingPercent } from '../src/worker/worker-memory';
import { growthAfterFirstMinute } from '../bench/memory-run';

/** A feed of `pages` full pages of 2 changes; page i starts at seq `s<i>` and ends at `s<i+1>`. */
function fakeFeed(pages: number) {
  const asked: string[] = [];
  const pending = new Map<string, (page: ChangesPage) => void>();
  const read = (since: string): Promise<ChangesPage> => {
    asked.push(since);
    return new Promise((resolve) => pending.set(since, resolve));
  };
  const answer = (since: string) => {
    const i = Number(since.slice(1));
    const n = i <= pages ? 2 : 0;
    const changes = Array.from({ length: n }, (_, k) => ({ id: `d${i}-${k}`, seq: null, deleted: false }));
    pending.get(since)!({ changes, lastSeq: n ? `s${i + 1}` : since, pending: null });
    pending.delete(since);
  };
  return { asked, answer, read, full: (p: ChangesPage) => p.changes.length >= 2 };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('pages are read ahead while one is written', () => {
  test('two pages ahead at most, each from the last seq of the one before, in feed order', async () => {
    const feed = fakeFeed(10);
    readAhead('a', 's1', feed.read, feed.full);
    assert.deepEqual(feed.asked, ['s1'], 'one read at a time: the next seq is not known yet');
    feed.answer('s1');
    await settle();
    assert.deepEqual(feed.asked, ['s1', 's2'], 'a full page has the page after it read too');
    feed.answer('s2');
    await settle();
    assert.deepEqual(feed.asked, ['s1', 's2'], 'no further than two pages ahead');
    assert.equal(readAheadDepth('a'), 2);

    const first = await takePrefetch('a', 's1');
    assert.equal(first?.lastSeq, 's2');
    await settle();
    assert.deepEqual(feed.asked, ['s1', 's2', 's3'], 'taking a page lets the next read start');
    readAhead('a', 's2', feed.read, feed.full); // the taker asks for what is already under way
    assert.deepEqual(feed.asked, ['s1', 's2', 's3'], 'nothing is read twice');
    assert.equal((await takePrefetch('a', 's2'))?.lastSeq, 's3');
  });

  test('a page that is not full ends the read-ahead', async () => {
    const feed = fakeFeed(1);
    readAhead('b', 's1', feed.read, feed.full);
    feed.answer('s1');
    await settle();
    feed.answer('s2'); // empty: the end of the feed
    await settle();
    assert.deepEqual(feed.asked, ['s1', 's2']);
    await takePrefetch('b', 's1');
    await takePrefetch('b', 's2');
    await settle();
    assert.deepEqual(feed.asked, ['s1', 's2']);
  });

  test('another seq (a rewind, a move) misses, and the pages read ahead are dropped', async () => {
    const feed = fakeFeed(10);
    readAhead('c', 's1', feed.read, feed.full);
    feed.answer('s1');
    await settle();
    assert.equal(takePrefetch('c', 's7'), null);
    assert.equal(readAheadDepth('c'), 0);
    assert.equal(takePrefetch('c', 's1'), null, 'dropped: nothing is handed out from before the move');
    feed.answer('s2');
    await settle();
    assert.deepEqual(feed.asked, ['s1', 's2'], 'a dropped read-ahead reads nothing further');
  });

  test('a read that failed is handed to its taker as failed, and nothing after it is read', async () => {
    const asked: string[] = [];
    readAhead(
      'd',
      's1',
      (since) => {
        asked.push(since);
        return Promise.reject(new Error('source down'));
      },
      () => true,
    );
    await settle();
    await assert.rejects(takePrefetch('d', 's1')!, /source down/);
    assert.deepEqual(asked, ['s1']);
  });
});

describe('the worker heap settings', () => {
  test('PILLOWTOP_HEAP_GROWING_PERCENT: a default, 0 for V8 own heuristics, and a clear error otherwise', () => {
    assert.equal(heapGrowingPercent({}), DEFAULT_HEAP_GROWING_PERCENT);
    assert.equal(heapGrowingPercent({ PILLOWTOP_HEAP_GROWING_PERCENT: ' ' }), DEFAULT_HEAP_GROWING_PERCENT);
    assert.equal(heapGrowingPercent({ PILLOWTOP_HEAP_GROWING_PERCENT: '0' }), 0);
    assert.equal(heapGrowingPercent({ PILLOWTOP_HEAP_GROWING_PERCENT: '50' }), 50);
    for (const bad of ['-1', '1.5', 'lots', '5000'])
      assert.throws(
        () => heapGrowingPercent({ PILLOWTOP_HEAP_GROWING_PERCENT: bad }),
        /PILLOWTOP_HEAP_GROWING_PERCENT must be a whole number from 0 to 1000/,
      );
  });
});

describe('the memory run measures growth after the first minute', () => {
  const curve = (f: (s: number) => number) => Array.from({ length: 301 }, (_, i) => ({ s: i * 2, rss: f(i * 2) }));

  test('a flat sawtooth is no growth', () => {
    const { growthMb, slopeMbPerMin } = growthAfterFirstMinute(
      curve((s) => 200 + ((s / 2) % 5)),
      600,
    );
    assert.equal(growthMb, 0);
    assert.ok(Math.abs(slopeMbPerMin!) < 0.1, `slope ${slopeMbPerMin}`);
  });

  test('a steady climb after the first minute shows in both figures', () => {
    const { growthMb, slopeMbPerMin } = growthAfterFirstMinute(
      curve((s) => 200 + s / 60),
      600,
    );
    assert.ok(growthMb! > 7 && growthMb! < 9, `growth ${growthMb}`);
    assert.ok(Math.abs(slopeMbPerMin! - 1) < 0.01, `slope ${slopeMbPerMin}`);
  });

  test('what happens in the first minute is not growth', () => {
    assert.equal(
      growthAfterFirstMinute(
        curve((s) => (s < 60 ? 150 + s : 230)),
        600,
      ).growthMb,
      0,
    );
  });
});
