/** Pure logic of the feed reader and the slice activity: no servers. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeOutcomes, MAX_FAILED_IN_HISTORY } from '../src/activities/slice-pages';
import { toPage } from '../src/couch/read-changes';
import { BatchOutageError, isOutage } from '../src/activities/outage';
import {
  couchError,
  CouchDatabaseMissingError,
  CouchRejectedError,
  CouchSourceError,
  CouchUnavailableError,
  isCouchError,
} from '../src/couch/couch-errors';
import { SinkUnavailableError } from '../src/processors/sink-unavailable';
import { DocError } from '../src/processors/doc-error';
import { MemoByKey } from '../src/memo-by-key';
import type { SliceOutcome } from '../src/workflows/types';
import { emptyOutcome } from '../src/activities/page/empty-outcome';

const outcome = (o: Partial<SliceOutcome>): SliceOutcome => ({ ...emptyOutcome('0', '0'), ...o });

const failures = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ id: `doc-${from + i}`, seq: String(from + i), error: 'bad' }));

describe('a slice outcome merges its pages', () => {
  test('counts add up; the position, pending and fullness are the last page’s; since is the first’s', () => {
    const a = outcome({
      since: '0',
      lastSeq: '10',
      read: 10,
      processed: 7,
      skipped: 2,
      failed: failures(1),
      pending: 20,
    });
    const b = outcome({ since: '10', lastSeq: '20', read: 10, processed: 9, skipped: 1, pending: 10, full: false });
    const m = mergeOutcomes(a, b);
    assert.equal(m.since, '0');
    assert.equal(m.lastSeq, '20');
    assert.deepEqual([m.read, m.processed, m.skipped, m.failed.length], [20, 16, 3, 1]);
    assert.equal(m.pending, 10);
    assert.equal(m.full, false);
    assert.equal(m.pages, 2);
    assert.equal(mergeOutcomes(m, outcome({ since: '20', lastSeq: '30' })).pages, 3);
  });

  test('idle only if every page was; a feed rewind in any page is kept', () => {
    assert.equal(mergeOutcomes(outcome({ idle: true }), outcome({ idle: false })).idle, false);
    assert.equal(mergeOutcomes(outcome({ idle: true }), outcome({ idle: true })).idle, true);
    assert.equal(mergeOutcomes(outcome({ rewound: true }), outcome({})).rewound, true);
    assert.equal(mergeOutcomes(outcome({}), outcome({})).rewound, false);
  });

  test('failed ids stay within the history bound; the rest are counted, none lost', () => {
    const a = outcome({ failed: failures(MAX_FAILED_IN_HISTORY), failedOmitted: 5 });
    const b = outcome({ failed: failures(10, 100), failedOmitted: 2 });
    const m = mergeOutcomes(a, b);
    assert.equal(m.failed.length, MAX_FAILED_IN_HISTORY);
    assert.equal(m.failed.length + m.failedOmitted, MAX_FAILED_IN_HISTORY + 5 + 10 + 2);
    assert.equal(m.failed[0].id, 'doc-0', 'the earliest failures are the ones listed');
  });
});

describe('a page holds each doc once', () => {
  test('the last change of a doc wins, at its own place in the page; the page keeps last_seq and pending', () => {
    const page = toPage({
      results: [
        { id: 'a', seq: 1, changes: [{ rev: '1-a' }], doc: { _id: 'a', _rev: '1-a' } },
        { id: 'b', seq: 2, changes: [{ rev: '1-b' }] },
        { id: 'a', seq: 3, changes: [{ rev: '2-a' }], deleted: true },
      ],
      last_seq: 3,
      pending: 4,
    });
    assert.deepEqual(
      page.changes.map((c) => [c.id, c.seq, c.rev, c.deleted]),
      [
        ['b', '2', '1-b', false],
        ['a', '3', '2-a', true],
      ],
    );
    assert.equal(page.lastSeq, '3');
    assert.equal(page.pending, 4);
  });

  test('a doc marked _deleted is a deletion; no pending is null, not 0', () => {
    const page = toPage({
      results: [{ id: 'x', seq: '5-g1', doc: { _id: 'x', _rev: '3-x', _deleted: true } }],
      last_seq: '5-g1',
    });
    assert.deepEqual(page.changes[0], {
      id: 'x',
      seq: '5-g1',
      deleted: true,
      rev: '3-x',
      doc: { _id: 'x', _rev: '3-x', _deleted: true },
    });
    assert.equal(page.pending, null);
  });
});

describe('outage or doc failure', () => {
  test('the source or a sink unusable is an outage; a doc’s own error is not', () => {
    assert.equal(isOutage(new BatchOutageError('probe failed')), true);
    assert.equal(isOutage(new SinkUnavailableError('index closed')), true);
    // by name too: a custom processor may bring its own copy of the class
    assert.equal(isOutage(Object.assign(new Error('x'), { name: 'SinkUnavailableError' })), true);
    assert.equal(isOutage(new CouchUnavailableError('down')), true);
    assert.equal(isOutage(new CouchSourceError('html page')), true);
    assert.equal(isOutage(Object.assign(new Error('read-only'), { code: '25006' })), true);
    assert.equal(isOutage(Object.assign(new Error('gone'), { code: '08006' })), true);
    assert.equal(isOutage(new Error('fetch failed', { cause: { code: 'ECONNREFUSED' } })), true);

    assert.equal(isOutage(new DocError('case_index.age: "x" is not a number')), false);
    assert.equal(isOutage(Object.assign(new Error('too long'), { code: '22001' })), false);
    assert.equal(isOutage(new TypeError("Cannot read properties of undefined (reading 'x')")), false);
    assert.equal(isOutage(null), false);
  });

  test('CouchDB answers become errors that say which side failed', () => {
    const url = 'http://admin:secret@couch:5984';
    const missing = couchError({ statusCode: 404 }, 'cases', url);
    assert.ok(missing instanceof CouchDatabaseMissingError);
    assert.match(missing.message, /"cases" does not exist/);
    assert.doesNotMatch(missing.message, /secret/);

    const refused = couchError({ statusCode: 401, reason: 'name or password' }, 'cases', url);
    assert.ok(refused instanceof CouchRejectedError);
    assert.equal((refused as CouchRejectedError).status, 401);
    assert.match(refused.message, /credentials in COUCH_URL/);

    const bad = couchError({ statusCode: 400, error: 'bad_request', reason: 'invalid since' }, 'cases', url);
    assert.ok(bad instanceof CouchRejectedError);
    assert.match(bad.message, /not an outage/);

    assert.ok(couchError({ statusCode: 503, reason: 'maintenance' }, 'cases', url) instanceof CouchUnavailableError);
    const down = couchError(new Error('connect ECONNREFUSED'), 'cases', url);
    assert.ok(down instanceof CouchUnavailableError);
    assert.match(down.message, /unreachable/);

    for (const err of [missing, refused, bad, down]) assert.equal(isCouchError(err), true, err.name);
    assert.equal(isCouchError(new Error('x')), false);
  });
});

describe('one promise per key', () => {
  test('callers of one key share one promise; other keys get their own', async () => {
    const memo = new MemoByKey<string, number>();
    let made = 0;
    const make = async () => ++made;
    const [a, b] = [memo.get('k', make), memo.get('k', make)];
    assert.equal(a, b);
    assert.equal(await a, 1);
    assert.equal(await memo.get('other', make), 2);
    assert.equal(await memo.get('k', make), 1);
  });

  test('a failed promise is dropped: the next caller tries again', async () => {
    const memo = new MemoByKey<string, string>();
    let attempts = 0;
    const flaky = async () => {
      attempts++;
      if (attempts === 1) throw new Error('down');
      return 'up';
    };
    await assert.rejects(memo.get('k', flaky), /down/);
    assert.equal(await memo.get('k', flaky), 'up');
    assert.equal(await memo.get('k', flaky), 'up');
    assert.equal(attempts, 2);
  });

  test('with a TTL an entry is made again once it is that old', async () => {
    const memo = new MemoByKey<string, number>({ ttlMs: 20 });
    let made = 0;
    const make = async () => ++made;
    assert.equal(await memo.get('k', make), 1);
    assert.equal(await memo.get('k', make), 1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(await memo.get('k', make), 2);
  });

  test('object keys may be held weakly', async () => {
    const memo = new MemoByKey<object, string>({ weak: true });
    const pool = {};
    assert.equal(await memo.get(pool, async () => 'set up'), 'set up');
    assert.equal(await memo.get(pool, async () => 'again'), 'set up');
    assert.equal(await memo.get({}, async () => 'another pool'), 'another pool');
  });
});
