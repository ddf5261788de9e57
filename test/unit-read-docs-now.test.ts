// A partition's bulk read of its docs' bodies: merging them into the changes (pure), and the
// answers readDocsNow accepts or refuses, from a small HTTP server that answers as told.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readDocsNow, withDocsNow, type DocNow } from '../src/couch/read-docs-now';
import { needsBody } from '../src/activities/filter-changes';
import { couchServer } from '../src/couch/couch-client';
import { resolvePillow } from '../src/config/pillow-definition';
import { partitionOf } from '../src/partition-hash';
import type { Change } from '../src/types';

const change = (id: string, rev: string, deleted = false): Change => ({ id, seq: null, rev, deleted });

describe('withDocsNow: the changes with the bodies read after the feed', () => {
  test('a doc as the change left it gets its body; one that moved on carries the newer winner', () => {
    const docA = { _id: 'a', _rev: '1-a', doc_type: 'CommCareCase' };
    const now = new Map<string, DocNow>([
      ['a', { doc: docA }],
      ['b', { doc: { _id: 'b', _rev: '3-b', doc_type: 'CommCareCase' } }],
    ]);
    const [a, b] = withDocsNow([change('a', '1-a'), change('b', '2-b')], now);
    assert.deepEqual(a, { id: 'a', seq: null, rev: '1-a', deleted: false, doc: docA });
    assert.equal(b.rev, '3-b', 'the body and its revision agree');
    assert.equal(b.doc?._rev, '3-b');
  });
  test('a doc deleted since the feed read is a deletion with the tombstone revision; one not found at all a deletion too', () => {
    const now = new Map<string, DocNow>([
      ['a', { deleted: true, rev: '2-a' }],
      ['b', { missing: true }],
    ]);
    const [a, b] = withDocsNow([change('a', '1-a'), change('b', '1-b')], now);
    assert.deepEqual(a, { id: 'a', seq: null, rev: '2-a', deleted: true });
    assert.deepEqual(b, { id: 'b', seq: null, rev: '1-b', deleted: true });
    assert.equal((a as Change).doc, undefined);
  });
  test('changes not asked for stay as they were, without a body, in the same order', () => {
    const changes = [change('x', '1-x'), change('a', '1-a'), change('y', '2-y', true)];
    const out = withDocsNow(changes, new Map([['a', { doc: { _id: 'a', _rev: '1-a' } }]]));
    assert.deepEqual(
      out.map((c) => c.id),
      ['x', 'a', 'y'],
    );
    assert.equal(out[0], changes[0]);
    assert.equal(out[2], changes[2]);
  });
});

describe('needsBody: which changes a partition fetches', () => {
  const pillow = resolvePillow({ name: 'p', source: { db: 'd', url: 'http://x' }, partitions: 3, processors: [] });
  const ids = Array.from({ length: 60 }, (_, i) => `case-${i}`);
  test('live docs of its own partition only, each doc in exactly one partition', () => {
    for (const id of ids) {
      const owners = [0, 1, 2].filter((p) => needsBody(pillow, change(id, '1-x'), p));
      assert.deepEqual(owners, [partitionOf(id, 3)]);
    }
  });
  test('deletions need no body, nor design docs unless the pillow takes them', () => {
    const own = (id: string) => partitionOf(id, 3);
    assert.equal(needsBody(pillow, change('case-1', '2-x', true), own('case-1')), false);
    assert.equal(needsBody(pillow, change('_design/v', '1-x'), own('_design/v')), false);
    const withDesign = { ...pillow, filter: { includeDesignDocs: true } };
    assert.equal(needsBody(withDesign, change('_design/v', '1-x'), own('_design/v')), true);
  });
  test('an unpartitioned pillow owns every doc', () => {
    const one = { ...pillow, partitions: 1 };
    assert.ok(ids.every((id) => needsBody(one, change(id, '1-x'), undefined)));
  });
});

describe('readDocsNow: one POST _all_docs?include_docs=true with keys', () => {
  let server: http.Server;
  let url = '';
  let answer: (keys: string[]) => { status: number; body: string } = () => ({ status: 200, body: '{}' });
  const seen: { method?: string; path?: string; keys?: string[] }[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.url === '/') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ couchdb: 'Welcome', version: '3.3.3' }));
        }
        const keys = body ? (JSON.parse(body) as { keys: string[] }).keys : [];
        seen.push({ method: req.method, path: req.url, keys });
        const a = answer(keys);
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(a.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const rowsAnswer = (rows: unknown[]) => () => ({ status: 200, body: JSON.stringify({ total_rows: 9, rows }) });

  test('live, deleted and unknown docs, as CouchDB and pouchdb-server answer them', async () => {
    answer = rowsAnswer([
      { id: 'a', key: 'a', value: { rev: '1-a' }, doc: { _id: 'a', _rev: '1-a', n: 1 } },
      { id: 'b', key: 'b', value: { rev: '2-b', deleted: true }, doc: null },
      { key: 'c', error: 'not_found' },
    ]);
    const found = await readDocsNow(await couchServer(url), 'db', ['a', 'b', 'c']);
    assert.deepEqual(seen.at(-1), { method: 'POST', path: '/db/_all_docs?include_docs=true', keys: ['a', 'b', 'c'] });
    assert.deepEqual(found.get('a'), { doc: { _id: 'a', _rev: '1-a', n: 1 } });
    assert.deepEqual(found.get('b'), { deleted: true, rev: '2-b' });
    assert.deepEqual(found.get('c'), { missing: true });
  });

  test('no ids: no request', async () => {
    const before = seen.length;
    assert.equal((await readDocsNow(await couchServer(url), 'db', [])).size, 0);
    assert.equal(seen.length, before);
  });

  test('an answer that is not one row per id is a source fault naming what is wrong', async () => {
    const s = await couchServer(url);
    answer = () => ({ status: 200, body: '<html>gateway</html>' });
    await assert.rejects(readDocsNow(s, 'db', ['a']), { name: 'CouchSourceError', message: /without rows/ });
    answer = rowsAnswer([{ id: 'a', key: 'a', value: { rev: '1-a' }, doc: { _id: 'a', _rev: '1-a' } }]);
    await assert.rejects(readDocsNow(s, 'db', ['a', 'b']), {
      name: 'CouchSourceError',
      message: /without a row for doc "b"/,
    });
    answer = rowsAnswer([{ key: 'a', error: 'timeout' }]);
    await assert.rejects(readDocsNow(s, 'db', ['a']), { name: 'CouchSourceError', message: /an error for doc "a"/ });
    answer = rowsAnswer([{ id: 'a', key: 'a', value: { rev: '1-a' } }]);
    await assert.rejects(readDocsNow(s, 'db', ['a']), {
      name: 'CouchSourceError',
      message: /without the body of doc "a"/,
    });
  });

  test('a refusal, a missing database and an outage are told apart', async () => {
    const s = await couchServer(url);
    answer = () => ({ status: 500, body: JSON.stringify({ error: 'internal', reason: 'boom' }) });
    await assert.rejects(readDocsNow(s, 'db', ['a']), { name: 'CouchUnavailableError' });
    answer = () => ({ status: 404, body: JSON.stringify({ error: 'not_found', reason: 'Database does not exist.' }) });
    await assert.rejects(readDocsNow(s, 'db', ['a']), { name: 'CouchDatabaseMissingError' });
    answer = () => ({ status: 400, body: JSON.stringify({ error: 'bad_request', reason: 'keys' }) });
    await assert.rejects(readDocsNow(s, 'db', ['a']), { name: 'CouchRejectedError' });
  });
});
