// Pure logic, no servers: seqs, column conversion, filtering and partitioning, identifiers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seqEstimate, seqProblem, seqToText } from '../src/checkpoint/seq';
import { toColumnValue } from '../src/processors/column-types';
import { DocError } from '../src/processors/doc-error';
import { identifierProblem, quoteIdent } from '../src/postgres/identifiers';
import { filterChanges } from '../src/activities/filter-changes';
import { partitionOf } from '../src/partition-hash';
import { resolvePillow } from '../src/config/pillow-definition';
import { couchKindOf } from '../src/couch/couch-client';
import { isPgOutage } from '../src/postgres/pg-errors';
import { revGeneration } from '../src/processors/revisions';
import { retryChangeWorkflowId, pillowWorkflowId } from '../src/workflows/ids';
import type { Change } from '../src/types';

describe('seqs are opaque text', () => {
  test('numbers and strings become text, verbatim', () => {
    assert.equal(seqToText(42), '42');
    assert.equal(seqToText('123-g1AAAAB'), '123-g1AAAAB');
    assert.equal(seqToText(null), null);
  });
  test('the numeric prefix is only an estimate', () => {
    assert.equal(seqEstimate('123-g1AAAA'), 123);
    assert.equal(seqEstimate('7'), 7);
    assert.equal(seqEstimate('g1AAAA'), null);
  });
  test('bad seqs are named', () => {
    assert.match(seqProblem('')!, /empty/);
    assert.match(seqProblem(5)!, /string/);
    assert.match(seqProblem('a b')!, /whitespace/);
    assert.equal(seqProblem('99-g1AAAA_-'), null);
  });
});

describe('column values', () => {
  test('convert or throw a DocError naming the column', () => {
    assert.equal(toColumnValue('12', 'integer', 'age'), '12');
    assert.equal(toColumnValue(12, 'integer', 'age'), '12');
    assert.throws(
      () => toColumnValue('twelve', 'integer', 'age'),
      (e: Error) => e instanceof DocError && /column "age"/.test(e.message),
    );
    assert.throws(() => toColumnValue(2 ** 40, 'integer', 'age'), DocError);
    assert.equal(toColumnValue(2 ** 40, 'bigint', 'n'), String(2 ** 40));
    assert.equal(toColumnValue('true', 'boolean', 'b'), true);
    assert.equal(toColumnValue('2025-03-04T10:00:00Z', 'date', 'd'), '2025-03-04');
    assert.throws(() => toColumnValue('yesterday', 'timestamptz', 't'), DocError);
    assert.equal(toColumnValue({ a: 1 }, 'jsonb', 'j'), '{"a":1}');
    assert.equal(toColumnValue(undefined, 'text', 'x'), null);
  });
});

describe('identifiers', () => {
  test('only safe names are quoted', () => {
    assert.equal(identifierProblem('case_index', 'table'), null);
    assert.match(identifierProblem('case index', 'table')!, /lowercase/);
    assert.match(identifierProblem('x'.repeat(60), 'table')!, /longer/);
    assert.throws(() => quoteIdent('a"; drop table x; --'));
    assert.equal(quoteIdent('ok_name'), '"ok_name"');
  });
});

describe('filtering and partitions', () => {
  const pillow = resolvePillow(
    {
      name: 'p',
      source: { db: 'd', url: 'http://x' },
      filter: { docTypes: ['CommCareCase'], predicate: (d) => d.domain !== 'skip' },
      processors: [],
      partitions: 3,
    },
    {},
  );
  const change = (id: string, doc: Record<string, unknown> | null, deleted = false): Change => ({
    id,
    seq: null,
    deleted,
    ...(doc ? { doc: { _id: id, ...doc } } : {}),
  });
  test('docs outside the filter reach the sinks as deletions; predicate failures fail their change only', () => {
    const { kept, failed, filteredOut } = filterChanges(
      {
        ...pillow,
        partitions: 1,
        filter: {
          docTypes: ['CommCareCase'],
          predicate: (d) => {
            if (d.boom) throw new Error('boom');
            return d.domain !== 'skip';
          },
        },
      },
      [
        change('a', { doc_type: 'CommCareCase', domain: 'x' }),
        change('b', { doc_type: 'XFormInstance' }),
        change('c', { doc_type: 'CommCareCase', domain: 'skip' }),
        change('d', null, true),
        change('_design/x', { views: {} }),
        change('e', { doc_type: 'CommCareCase', boom: true }),
        change('f', { doc_type: 'CommCareCase-Deleted', domain: 'x' }),
      ],
    );
    assert.deepEqual(
      kept.map((c) => [c.id, c.deleted, c.doc === undefined || c.deleted === false]),
      [
        ['a', false, true],
        ['b', true, true],
        ['c', true, true],
        ['d', true, true],
        ['f', true, true],
      ],
      'live docs as they are; deleted, soft-deleted and filtered-out docs as deletions without a body',
    );
    assert.deepEqual([...filteredOut].sort(), ['b', 'c', 'f']);
    assert.deepEqual(
      failed.map((f) => f.id),
      ['e'],
    );
  });
  test('a soft-deleted doc type is a deletion unless the pillow asks for it by name', () => {
    const docs = [change('x', { doc_type: 'CommCareCase-Deleted' }), change('y', { doc_type: 'XFormArchived' })];
    const all = filterChanges({ ...pillow, partitions: 1, filter: {} }, docs);
    assert.deepEqual(
      all.kept.map((c) => [c.id, c.deleted]),
      [
        ['x', true],
        ['y', false],
      ],
    );
    const named = filterChanges({ ...pillow, partitions: 1, filter: { docTypes: ['CommCareCase-Deleted'] } }, docs);
    assert.deepEqual(
      named.kept.map((c) => [c.id, c.deleted]),
      [
        ['x', false],
        ['y', true],
      ],
    );
  });
  test('every doc belongs to exactly one partition, the same in every process', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `case-${i}`);
    const seen = new Map<string, number>();
    for (let p = 0; p < 3; p++) {
      const docs = ids.map((id) => change(id, { doc_type: 'CommCareCase' }));
      for (const c of filterChanges(pillow, docs, p).kept) {
        assert.ok(!seen.has(c.id));
        seen.set(c.id, p);
      }
    }
    assert.equal(seen.size, 300);
    assert.equal(partitionOf('case-1', 3), seen.get('case-1'));
    assert.ok(new Set(seen.values()).size === 3, 'all partitions get docs');
  });
});

describe('small helpers', () => {
  test('server kind from the welcome JSON', () => {
    assert.equal(couchKindOf({ couchdb: 'Welcome', version: '3.3.3' }), 'couchdb');
    assert.equal(couchKindOf({ 'express-pouchdb': 'Welcome!' }), 'pouchdb-server');
  });
  test('transient PostgreSQL errors by SQLSTATE', () => {
    // the sink is unusable, whatever the doc
    for (const code of [
      '57P01',
      'ECONNREFUSED',
      '08006',
      '25006',
      '42501',
      '42P01',
      '42703',
      '53300',
      '53100',
      '40P01',
    ])
      assert.equal(isPgOutage({ code }), true, code);
    assert.equal(isPgOutage({ code: 'ECONNRESET', cause: undefined }), true);
    assert.equal(isPgOutage({ message: 'x', cause: { code: 'ECONNREFUSED' } }), true, 'a network error as the cause');
    // one doc's fault: bad value, overflow, NUL, a CHECK or NOT NULL, a statement timeout, an index row too big
    for (const code of ['22P02', '23505', '22003', '22P05', '23514', '23502', '57014', '54000'])
      assert.equal(isPgOutage({ code }), false, code);
  });
  test('revision generations', () => {
    assert.equal(revGeneration('12-abc'), 12);
    assert.equal(revGeneration(undefined), 0);
  });
  test('workflow ids from the contract', () => {
    assert.equal(pillowWorkflowId('cases'), 'pillow/cases');
    assert.equal(pillowWorkflowId('cases', 1), 'pillow/cases/p1');
    assert.equal(
      retryChangeWorkflowId('cases', 'abc/def', () => 'h'),
      'pillow/cases/change/abc/def',
    );
    assert.equal(
      retryChangeWorkflowId('cases', 'x'.repeat(201), () => 'h'),
      'pillow/cases/change/sha1:h',
    );
  });
});
