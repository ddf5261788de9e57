/** Follow slices: the page loop, its progress in heartbeats, and status read from them. No servers. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Context } from '@temporalio/activity';
import { runSlicePages, type RunPage } from '../src/activities/slice-pages';
import { SliceProgress } from '../src/activities/slice-progress';
import { emptyOutcome } from '../src/activities/page/empty-outcome';
import { withSliceProgress } from '../src/operations/live-status';
import { PillowState } from '../src/workflows/pillow-state';
import type { PillowStatusView, SliceInput, SliceOutcome } from '../src/workflows/types';

// a quiet long poll: nothing read, the checkpoint where it was
const page = (since: string, o: Partial<SliceOutcome> = {}): SliceOutcome => ({
  ...emptyOutcome(since, since),
  pending: 0,
  idle: true,
  full: false,
  durationMs: 1,
  ...o,
});

/** A change every other page, the rest quiet long polls that wait what they are given (up to 5 ms). */
function feed(script: (n: number, since: string) => Partial<SliceOutcome> | Error = () => ({})) {
  const calls: { since: string; waitMs: number }[] = [];
  const run: RunPage = async (input, waitMs) => {
    calls.push({ since: input.since, waitMs });
    const got = script(calls.length, input.since);
    if (got instanceof Error) throw got;
    await new Promise((r) => setTimeout(r, Math.min(5, waitMs)));
    return page(input.since, got);
  };
  return { run, calls };
}

const ctx = (signal = new AbortController().signal) =>
  ({ cancellationSignal: signal, heartbeat: () => undefined }) as unknown as Context;
const input = (o: Partial<SliceInput> = {}): SliceInput => ({ name: 'p', since: '10', ...o });
const changed = (to: string) => ({ lastSeq: to, read: 1, processed: 1, idle: false });

describe('a follow slice', () => {
  test('goes on past quiet and non-full pages until its time is spent, each wait bounded by what is left', async () => {
    let seq = 10;
    const f = feed((n) => (n % 2 === 0 ? changed(String(++seq)) : {}));
    const progress = new SliceProgress('10', true);
    const outcome = await runSlicePages(input({ followMs: 60 }), ctx(), f.run, progress);
    assert.ok(f.calls.length > 3, `several pages in one slice (${f.calls.length})`);
    assert.ok(f.calls.every((c) => c.waitMs <= 60));
    assert.equal(outcome.since, '10');
    assert.equal(outcome.lastSeq, String(seq));
    assert.equal(outcome.pages, f.calls.length);
    assert.equal(outcome.processed, seq - 10);
    assert.deepEqual(
      f.calls.map((c) => c.since).slice(0, 3),
      ['10', '10', '11'],
      'each page starts at the last one’s seq',
    );
    assert.equal(progress.details().committed, outcome.lastSeq);
    assert.equal(progress.details().processed, outcome.processed);
  });

  test('a catch-up slice ends at the first page that is not full', async () => {
    const f = feed((n) => (n < 3 ? { ...changed(String(10 + n)), full: true } : changed(String(10 + n))));
    const outcome = await runSlicePages(input(), ctx(), f.run, new SliceProgress('10', false));
    assert.equal(f.calls.length, 3);
    assert.equal(outcome.lastSeq, '13');
    assert.equal(outcome.full, false);
    assert.deepEqual(
      f.calls.map((c) => c.waitMs),
      [Infinity, 0, 0],
      'only the first page long-polls',
    );
  });

  test('stops at a feed rewind, at maxPages, and reports what committed when a later page fails', async () => {
    const rewound = feed((n) => (n === 2 ? { ...changed('3'), rewound: true } : changed(String(10 + n))));
    assert.equal(
      (await runSlicePages(input({ followMs: 5000 }), ctx(), rewound.run, new SliceProgress('10', true))).rewound,
      true,
    );
    assert.equal(rewound.calls.length, 2);

    const capped = feed((n) => changed(String(10 + n)));
    const o = await runSlicePages(
      input({ followMs: 5000, maxPages: 4 }),
      ctx(),
      capped.run,
      new SliceProgress('10', true),
    );
    assert.equal(o.pages, 4);

    const failing = feed((n) => (n === 3 ? new Error('source down') : changed(String(10 + n))));
    const f = await runSlicePages(input({ followMs: 5000 }), ctx(), failing.run, new SliceProgress('10', true));
    assert.equal(f.lastSeq, '12', 'the pages before the failure');

    // after quiet long polls only there is nothing to report: the slice fails at once
    const quietThenDown = feed((n) => (n === 3 ? new Error('source down') : {}));
    await assert.rejects(
      runSlicePages(input({ followMs: 5000 }), ctx(), quietThenDown.run, new SliceProgress('10', true)),
      /source down/,
    );
  });

  test('a cancel between pages ends the slice with what is committed', async () => {
    const abort = new AbortController();
    const f = feed((n) => {
      if (n === 3) abort.abort('pause');
      return changed(String(10 + n));
    });
    const o = await runSlicePages(input({ followMs: 5000 }), ctx(abort.signal), f.run, new SliceProgress('10', true));
    assert.equal(f.calls.length, 3);
    assert.equal(o.lastSeq, '13');
  });
});

describe('slice progress in heartbeats', () => {
  test('nothing committed yet, then the running sums and whether the last poll was quiet', () => {
    const p = new SliceProgress('10', true);
    assert.equal(p.committed, null);
    assert.deepEqual(
      { committed: p.details().committed, pages: p.details().pages, lastBatchAt: p.details().lastBatchAt },
      { committed: null, pages: 0, lastBatchAt: null },
    );
    p.record(page('10', changed('12')));
    p.record(page('12'));
    const d = p.details();
    assert.equal(d.committed, '12');
    assert.equal(d.pages, 2);
    assert.equal(d.processed, 1);
    assert.equal(d.idle, true);
    assert.ok(d.lastBatchAt);
  });
});

const view = (o: Partial<PillowStatusView> = {}): PillowStatusView => ({
  name: 'p',
  partition: null,
  workflowId: 'pillow/p',
  checkpoint: '10',
  status: 'idle',
  paused: false,
  processed: 100,
  failed: 1,
  skipped: 2,
  batches: 7,
  pending: 0,
  lastBatchAt: null,
  caughtUpAt: null,
  lastError: null,
  lastRejectedMove: null,
  rewindsDetected: 0,
  rate: 0,
  runs: 1,
  startedAt: '2026-11-27T00:00:00.000Z',
  ...o,
});

describe('status with the running slice’s progress', () => {
  const progress = (o: Partial<ReturnType<SliceProgress['details']>> = {}) => ({
    ...new SliceProgress('10', true).details(),
    committed: '15',
    pages: 3,
    read: 5,
    processed: 4,
    failed: 1,
    skipped: 0,
    pending: 2,
    idle: false,
    full: false,
    lastBatchAt: '2026-11-27T01:00:00.000Z',
    ...o,
  });

  test('a slice from the workflow’s checkpoint moves the checkpoint and adds its counts', () => {
    const live = withSliceProgress(view(), progress());
    assert.equal(live.checkpoint, '15');
    assert.equal(live.processed, 104);
    assert.equal(live.failed, 2);
    assert.equal(live.batches, 10);
    assert.equal(live.pending, 2);
    assert.equal(live.status, 'running');
    assert.equal(live.lastBatchAt, '2026-11-27T01:00:00.000Z');
    assert.equal(withSliceProgress(view({ status: 'running' }), progress({ idle: true })).status, 'idle');
    // a burst while following: the slice's pages come back full
    assert.equal(withSliceProgress(view({ status: 'idle' }), progress({ full: true })).status, 'catching-up');
    assert.equal(withSliceProgress(view({ status: 'catching-up' }), progress({ full: false })).status, 'running');
  });

  test('ignored before the slice commits, when it started elsewhere (a move), and while pausing', () => {
    assert.deepEqual(withSliceProgress(view(), progress({ committed: null })), view());
    assert.deepEqual(withSliceProgress(view({ checkpoint: '3' }), progress()), view({ checkpoint: '3' }));
    assert.deepEqual(withSliceProgress(view(), null), view());
    assert.equal(withSliceProgress(view({ paused: true, status: 'running' }), progress()).status, 'running');
  });
});

describe('the pillow follows once caught up', () => {
  const t = new Date('2026-11-27T00:00:00Z');
  test('a page that was not full makes the next slice a follow slice; a full one or a move ends it', () => {
    const s = new PillowState('0', undefined, t);
    assert.equal(s.following(), false, 'a new run does not know yet');
    s.recordSlice(page('0', { ...changed('5'), full: true }), 100, t);
    assert.equal(s.following(), false);
    s.recordSlice(page('5', changed('6')), 100, t);
    assert.equal(s.following(), true);
    assert.equal(s.followPages(), undefined, 'no page limit without a test’s run limit');
    s.applyMove({ id: s.queueMove('0', 'rewind signal'), to: '0', reason: 'rewind signal' }, '0');
    assert.equal(s.following(), false, 'after a move the pillow catches up first');
  });
});
