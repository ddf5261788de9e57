// The seq helpers (src/checkpoint/seq.ts): seqs are opaque text; numbers only for estimates.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seqEstimate, seqProblem, seqToText, shortSeq } from '../src/checkpoint/seq';

describe('seq helpers', () => {
  test('seqToText keeps text verbatim, numbers as text, arrays as JSON; anything else is no seq', () => {
    assert.equal(seqToText('12-g1AAAA'), '12-g1AAAA');
    assert.equal(seqToText(12), '12');
    assert.equal(seqToText([12, 'g1']), '[12,"g1"]');
    assert.equal(seqToText(Number.NaN), null);
    assert.equal(seqToText(undefined), null);
  });
  test('seqEstimate reads only a numeric prefix', () => {
    assert.equal(seqEstimate('12-g1AAAA'), 12);
    assert.equal(seqEstimate(12), 12);
    assert.equal(seqEstimate(Number.POSITIVE_INFINITY), null);
    assert.equal(seqEstimate('g1AAAA'), null);
    assert.equal(seqEstimate(null), null);
  });
  test('seqProblem names what a seq cannot be', () => {
    assert.equal(seqProblem('0'), null);
    assert.match(seqProblem(null)!, /string, got null/);
    assert.match(seqProblem('')!, /empty/);
    assert.match(seqProblem('x'.repeat(4097))!, /at most 4096/);
    assert.equal(seqProblem('x'.repeat(4096)), null);
    assert.match(seqProblem('1\n2')!, /whitespace or control/);
  });
  test('shortSeq cuts long seqs for summaries and keeps short ones', () => {
    assert.equal(shortSeq('123'), '123');
    assert.equal(shortSeq('x'.repeat(24)), 'x'.repeat(24));
    assert.equal(shortSeq('x'.repeat(30)), 'x'.repeat(24) + '…');
  });
});
