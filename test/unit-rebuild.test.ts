import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseRebuildProcessor } from '../src/operations/rebuild-pillow';
import { resolvePillow } from '../src/config/pillow-definition';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { postgresTable } from '../src/processors/postgres-table';
import { searchIndex } from '../src/processors/search-index';
import type { Processor } from '../src/types';
import { rebuildLine, type RebuildStatus } from '../src/workflows/rebuild-types';

const audit: Processor = { name: 'audit', processBatch: async () => undefined };
const table = (name: string) => postgresTable({ table: name, columns: [{ name: 'owner_id', type: 'text' }] });
const pillow = (...processors: Processor[]) =>
  resolvePillow({ name: 'cases', source: { db: 'cases', url: 'http://127.0.0.1:5984' }, processors });

describe('pillowtop rebuild: which processor', () => {
  test('the only rebuildable processor is chosen without --processor', () => {
    assert.equal(chooseRebuildProcessor(pillow(audit, table('case_index'))), 'postgresTable:case_index');
  });
  test('several: --processor is required, and the error lists them', () => {
    const p = pillow(table('a'), searchIndex({ alias: 'cases_search' }));
    assert.throws(
      () => chooseRebuildProcessor(p),
      /several rebuildable processors: name one with --processor \(postgresTable:a, searchIndex:cases_search\)/,
    );
    assert.equal(chooseRebuildProcessor(p, 'cases_search'), 'searchIndex:cases_search');
    assert.equal(chooseRebuildProcessor(p, 'postgresTable:a'), 'postgresTable:a');
  });
  test('a processor that cannot rebuild is named as such', () => {
    const p = pillow(audit, postgresMirror({ table: 'm' }), table('a'));
    assert.throws(
      () => chooseRebuildProcessor(p, 'audit'),
      /no rebuildable processor "audit" \(rebuildable: postgresMirror:m, postgresTable:a; not rebuildable: audit\)/,
    );
    assert.throws(() => chooseRebuildProcessor(pillow(audit)), /has no rebuildable processor; not rebuildable: audit/);
  });
});

describe('rebuild progress line', () => {
  const st: RebuildStatus = {
    pillow: 'cases',
    processor: 'postgresTable:case_index',
    target: 'case_index',
    phase: 'backfilling',
    live: 1,
    building: 2,
    done: 12_000,
    failed: 0,
    estimatedTotal: 20_000,
    rate: 1500.4,
    cursor: '123',
    startedAt: '2026-11-27T00:00:00Z',
    swappedAt: null,
  };
  test('says docs done of the estimate, and the rate', () => {
    assert.equal(rebuildLine(st), 'rebuilding case_index: 12,000 of ~20,000 (1,500/s)');
    assert.equal(rebuildLine({ ...st, done: 25_000 }), 'rebuilding case_index: 25,000 of ~25,000 (1,500/s)');
  });
});
