// Pure logic of the search processor, no servers: ids, mapping fingerprints, option validation.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mappingFingerprint, searchId, searchIndex } from '../src/processors/search-index';
import { configProblems } from '../src/config/validate-config';

describe('searchIndex', () => {
  test('ids up to 512 bytes are kept; longer ones hashed under a prefix CouchDB ids cannot have', () => {
    assert.equal(searchId('case-1'), 'case-1');
    assert.equal(searchId('x'.repeat(512)), 'x'.repeat(512));
    assert.match(searchId('x'.repeat(513)), /^_sha256:[0-9a-f]{64}$/);
    // bytes, not characters: 200 three-byte characters are 600 bytes
    assert.match(searchId('€'.repeat(200)), /^_sha256:/);
    assert.notEqual(searchId('a'.repeat(600)), searchId('b'.repeat(600)));
  });

  test('the mapping fingerprint ignores key order and sees every value', () => {
    const a = mappingFingerprint({ properties: { a: { type: 'keyword' }, b: { type: 'integer' } } }, { x: 1, y: 2 });
    const b = mappingFingerprint({ properties: { b: { type: 'integer' }, a: { type: 'keyword' } } }, { y: 2, x: 1 });
    const c = mappingFingerprint({ properties: { a: { type: 'keyword' }, b: { type: 'long' } } }, { x: 1, y: 2 });
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  test('bad options are named in config validation', () => {
    const pillow = (processor: unknown) => [{ name: 'p', source: { db: 'cases' }, processors: [processor] }];
    assert.deepEqual(configProblems(pillow(searchIndex({ alias: 'cases' }))), []);
    const problems = (o: Parameters<typeof searchIndex>[0]) => configProblems(pillow(searchIndex(o))).join('\n');
    assert.match(problems({ alias: 'Cases' }), /alias must be a lowercase index name/);
    assert.match(problems({ alias: 'cases', index: 'cases' }), /index and alias must differ/);
    assert.match(problems({ alias: 'cases', mappings: [] as never }), /mappings must be an object/);
    assert.match(problems({ alias: 'cases', url: 'nope' }), /url must be a URL/);
    assert.match(problems({ alias: 'cases', idField: '' }), /idField must be a non-empty field name/);
  });

  test('describe names the alias', () => {
    assert.equal(searchIndex({ alias: 'cases' }).describe!(), 'searchIndex → cases');
  });
});
