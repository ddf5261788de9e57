// The pillow's state machine, without Temporal: what the workflow's handlers and loop rely on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PillowState } from '../src/workflows/pillow-state';
import { RunLimit } from '../src/workflows/run-limit';
import { pillowArgs, pillowIdentity, withLayout } from '../src/workflows/identity';
import type { SliceOutcome } from '../src/workflows/types';
import { emptyOutcome } from '../src/activities/page/empty-outcome';

const t0 = new Date('2026-11-27T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

// a page of ten changes, all written, with nothing left behind it
function outcome(over: Partial<SliceOutcome> = {}): SliceOutcome {
  return { ...emptyOutcome('0', '10'), read: 10, processed: 10, pending: 0, full: false, durationMs: 5, ...over };
}

describe('pillow state: pause and resume', () => {
  test('pause and resume flip paused; the status changes only when set', () => {
    const s = new PillowState('0', undefined, t0);
    assert.equal(s.paused, false);
    s.pause();
    assert.equal(s.paused, true);
    assert.equal(s.setStatus('paused'), true);
    assert.equal(s.setStatus('paused'), false, 'no change, no search attribute update');
    s.resume();
    assert.equal(s.paused, false);
    assert.equal(s.status, 'paused', 'the loop sets the status once it runs again');
  });
});

describe('pillow state: checkpoint moves', () => {
  test('moves come out in the order queued; applied ones move the checkpoint and answer once', () => {
    const s = new PillowState('5', undefined, t0);
    const a = s.queueMove('3', 'rewind signal');
    const b = s.queueMove('0', 'setCheckpoint update');
    assert.ok(s.hasMoves());
    assert.deepEqual(s.nextMove(), { id: a, to: '3', reason: 'rewind signal' });
    assert.equal(s.moveSettled(a), false);
    assert.deepEqual(s.applyMove(s.nextMove()!, '3'), { previous: '5', current: '3' });
    assert.equal(s.checkpoint, '3');
    assert.equal(s.moveSettled(a), true);
    assert.equal(s.nextMove()!.id, b);
    s.applyMove(s.nextMove()!, '0');
    assert.equal(s.hasMoves(), false);
    assert.deepEqual(s.takeMoveResult(b), { applied: { previous: '3', current: '0' } });
    assert.equal(s.takeMoveResult(b), undefined, 'handed out once');
  });

  test('a rejected move leaves the checkpoint, answers its update with the reason and shows in status', () => {
    const s = new PillowState('5', undefined, t0);
    const id = s.queueMove('x'.repeat(80), 'setCheckpoint update');
    s.rejectMove(s.nextMove()!, 'not a seq of this database', at(1));
    assert.equal(s.checkpoint, '5');
    assert.equal(s.hasMoves(), false);
    assert.deepEqual(s.takeMoveResult(id), { rejected: 'not a seq of this database' });
    const shown = s.view('p', null, 'pillow/p').lastRejectedMove!;
    assert.equal(shown.to, 'x'.repeat(60) + '…');
    assert.equal(shown.reason, 'setCheckpoint update: not a seq of this database');
    assert.equal(shown.at, at(1).toISOString());
  });

  test('an ignored rewind signal shows in status without queueing anything', () => {
    const s = new PillowState('5', undefined, t0);
    s.ignoreRewind(undefined, 'expected {"to": ...}', t0);
    assert.equal(s.hasMoves(), false);
    assert.equal(s.view('p', null, 'w').lastRejectedMove!.reason, 'rewind signal: expected {"to": ...}');
  });
});

describe('pillow state: slice outcomes', () => {
  test('idle, catching-up and running follow the outcome', () => {
    const s = new PillowState('0', undefined, t0);
    assert.equal(s.recordSlice(outcome({ idle: true, read: 0 }), 100, t0), 'idle');
    assert.equal(s.recordSlice(outcome({ full: true }), 100, t0), 'catching-up');
    assert.equal(s.recordSlice(outcome({ pending: 101 }), 100, t0), 'catching-up', 'more than a batch pending');
    assert.equal(s.recordSlice(outcome({ pending: 100 }), 100, t0), 'running');
  });

  test('counts add up, the checkpoint moves to the last seq, a failed doc is the last error', () => {
    const s = new PillowState('0', undefined, t0);
    s.recordSlice(outcome({ lastSeq: '7', processed: 6, skipped: 1, pages: 3 }), 100, t0);
    s.recordSlice(
      outcome({ lastSeq: '9', processed: 1, failed: [{ id: 'd1', seq: '8', error: 'boom' }], failedOmitted: 2 }),
      100,
      t0,
    );
    const v = s.view('p', null, 'w');
    assert.equal(v.checkpoint, '9');
    assert.equal(v.processed, 7);
    assert.equal(v.failed, 3);
    assert.equal(v.skipped, 1);
    assert.equal(v.batches, 4, 'a slice counts as its pages');
    assert.equal(v.lastError, 'doc d1: boom');
  });

  test('slices double while pages come back full (up to 256) and fall back to one', () => {
    const s = new PillowState('0', undefined, t0);
    const sizes = [s.slicePages()];
    for (let i = 0; i < 10; i++) {
      s.recordSlice(outcome({ full: true }), 100, t0);
      sizes.push(s.slicePages());
    }
    assert.deepEqual(sizes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 256, 256]);
    s.recordSlice(outcome(), 100, t0);
    assert.equal(s.slicePages(), 1);
  });

  test('the rate is changes per second over the recent slices', () => {
    const s = new PillowState('0', undefined, t0);
    assert.equal(s.rate(), 0);
    s.recordSlice(outcome({ read: 50 }), 100, at(0));
    s.recordSlice(outcome({ read: 20 }), 100, at(2));
    s.recordSlice(outcome({ read: 20 }), 100, at(4));
    assert.equal(s.rate(), 10, '40 changes read in the 4 s after the first slice');
  });
});

describe('pillow state: failures', () => {
  test('the backoff doubles from 2s to a minute, and a slice that goes through resets it', () => {
    const s = new PillowState('0', undefined, t0);
    const waits = Array.from({ length: 8 }, () => s.recordFailure('source down', false).backoffMs);
    assert.deepEqual(waits, [2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    assert.equal(s.lastError, 'source down');
    s.recordSlice(outcome(), 100, t0);
    assert.deepEqual(s.recordFailure('again', false), { attempt: 1, backoffMs: 2000 });
  });

  test('a worker without the pillow is tried again after a second, however often', () => {
    const s = new PillowState('0', undefined, t0);
    s.recordFailure('x', false);
    s.recordFailure('x', false);
    assert.deepEqual(s.recordFailure('not on this worker', true), { attempt: 3, backoffMs: 1000 });
  });

  test('waiting for a knowing worker is failing with the reason; found, it runs with no error', () => {
    const s = new PillowState('0', undefined, t0);
    s.waitForWorker('no worker has pillow "p"');
    assert.equal(s.status, 'failing');
    assert.equal(s.lastError, 'no worker has pillow "p"');
    s.workerFound();
    assert.equal(s.status, 'running');
    assert.equal(s.lastError, null);
  });
});

describe('pillow state: continue-as-new', () => {
  test('carry and restore keep the checkpoint, counts, pause and start; runs count up', () => {
    const s = new PillowState('0', undefined, t0);
    s.recordSlice(outcome({ lastSeq: '42', processed: 40, skipped: 2, rewound: true, pages: 2 }), 100, t0);
    s.pause();
    const carried = s.carry();
    const next = new PillowState('ignored', carried, at(60));
    assert.deepEqual(next.carry(), { ...carried, runs: 2 });
    const v = next.view('p', null, 'w');
    assert.equal(v.checkpoint, '42');
    assert.equal(v.paused, true);
    assert.equal(v.startedAt, t0.toISOString(), 'the first run started it');
    assert.equal(v.rewindsDetected, 1);
    assert.equal(v.batches, 2);
  });

  test('due when Temporal suggests it, or at the run limit; slices stop at the limit', () => {
    assert.equal(new PillowState('0', undefined, t0).continueAsNewDue(true), true);
    const s = new PillowState('0', undefined, t0, new RunLimit(3));
    assert.equal(s.continueAsNewDue(false), false);
    s.recordSlice(outcome({ full: true, pages: 1 }), 100, t0);
    s.recordSlice(outcome({ full: true, pages: 1 }), 100, t0);
    assert.equal(s.slicePages(), 1, 'four pages would be due, one is left in this run');
    s.recordSlice(outcome({ full: true, pages: 1 }), 100, t0);
    assert.equal(s.continueAsNewDue(false), true);
    assert.deepEqual(new RunLimit(3).input(), { continueAsNewAfterBatches: 3 });
    assert.deepEqual(new RunLimit(undefined).input(), {});
    assert.equal(new RunLimit(undefined).reached(1_000_000), false);
  });
});

describe('pillow identity', () => {
  test('the key, the partition and its layout, once', () => {
    const whole = pillowIdentity({ name: 'cases' }, 'pillow/cases');
    assert.equal(whole.key, 'cases');
    assert.deepEqual(pillowArgs(whole, true), { name: 'cases' });
    const p1 = pillowIdentity({ name: 'cases', partition: 1 }, 'pillow/cases/p1');
    assert.equal(p1.key, 'cases/p1');
    assert.equal(p1.partitions, null);
    assert.deepEqual(pillowArgs(withLayout(p1, 4), true), { name: 'cases', partition: 1, partitions: 4 });
    assert.deepEqual(pillowArgs(withLayout(p1, 4), false), { name: 'cases', partition: 1 });
    const started = pillowIdentity({ name: 'cases', partition: 1, partitions: 2 }, 'w');
    assert.equal(withLayout(started, 4).partitions, 2, "the start's count wins over the describing worker's");
    const reindex = pillowIdentity({ name: 'cases', reindex: true }, 'pillow/cases/reindex');
    assert.equal(reindex.key, 'cases/reindex');
    assert.deepEqual(pillowArgs(reindex, true), { name: 'cases', reindex: true });
  });
});
