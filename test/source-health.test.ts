import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setupSuite, eventually, cancelAndWait, type Suite } from './helpers/harness';
import { startFaultySource, type FaultySource, type SourceFault } from './helpers/faulty-source';
import { startCouch3Proxy } from './helpers/couch3-proxy';
import { parsePrometheus, valueOf } from './helpers/prometheus-text';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { createPrometheusMetrics } from '../src/metrics/prometheus';
import { confirmQuiet } from '../src/activities/page/read-page';
import { CouchSourceError } from '../src/couch/couch-errors';
import type { ChangesPage } from '../src/couch/read-changes';

describe('a stuck or unreadable source makes the pillow failing, never idle', () => {
  let s: Suite;
  let source: FaultySource;
  let db: string;
  const { registry, metrics } = createPrometheusMetrics();
  const metric = async (name: string) => valueOf(parsePrometheus(await registry.metrics()), name, { pillow: 'sh' });
  const storedCheckpoint = async () =>
    (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = 'sh'`)).rows[0]?.seq as string;
  const rows = async () => Number((await s.pool.query(`SELECT count(*) n FROM sh_mirror`)).rows[0].n);
  let written = 0;
  const writeMore = async (n: number) => {
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: n }, (_, i) => caseDoc(written + i)),
    );
    written += n;
  };

  before(async () => {
    s = await setupSuite('source-health');
    db = await s.couchDb('health');
    source = await startFaultySource(s.couchUrl);
    // defaults for the read bound (30 s): failing must show within 60 s as configured out of the box
    await s.startWorker(
      [
        {
          name: 'sh',
          source: { db, url: source.url },
          batchSize: 10,
          longPollSeconds: 1,
          processors: [postgresMirror({ table: 'sh_mirror' })],
        },
      ],
      { metrics },
    );
    await writeMore(20);
    await s.startPillowCli('sh');
    await eventually('caught up', async () => (await rows()) === 20 && (await s.status('sh')).status === 'idle');
  });
  after(async () => {
    await cancelAndWait(s.client, 'pillow/sh').catch(() => undefined);
    await s.cleanup();
    await source.close();
  });

  const cases: { fault: SourceFault; reason: RegExp }[] = [
    { fault: 'html', reason: /CouchSourceError: .* answered _changes .* other than a changes feed: ".*<html>/ },
    { fault: 'invalid-json', reason: /CouchSourceError: .* answered _changes .* other than a changes feed/ },
    {
      fault: 'stuck',
      reason: /CouchSourceError: .* keeps answering an empty page at seq \d+ while \d+ change\(s\) are past it/,
    },
    // an unreadable db info is not update_seq 0: "the database went behind the checkpoint" would restart from 0
    { fault: 'html-info', reason: /CouchSourceError: .* answered the info of .* without an update_seq: ".*<html>/ },
    { fault: 'hang', reason: /CouchSourceError: .* did not answer a _changes read of .* within 30s \(hung source\)/ },
  ];
  for (const { fault, reason } of cases) {
    test(`${fault}: failing with the reason within 60 s; checkpoint kept; lag and pending rise; recovers`, async () => {
      const before = await s.status('sh');
      assert.equal(before.status, 'idle');
      const checkpoint = before.checkpoint;
      source.set(fault);
      // the source is ahead of the pillow from now on (with an unreadable db info, the pillow could not tell)
      if (fault !== 'html-info') await writeMore(5);
      const failing = await s.eventuallyFor(
        'pillow/sh',
        `failing on ${fault}`,
        async () => {
          const st = await s.status('sh');
          return st.status === 'failing' ? st : null;
        },
        60_000,
      );
      assert.match(failing!.lastError ?? '', reason);
      assert.equal(failing!.checkpoint, checkpoint, 'the checkpoint does not move');
      assert.equal(await storedCheckpoint(), checkpoint, 'the stored checkpoint is not moved (nor reset to 0)');
      const search = await s.client.workflow.getHandle('pillow/sh').describe();
      assert.equal(search.searchAttributes.PillowStatus?.[0], 'failing', 'visible in search');

      // lag runs from when the pillow was last caught up; pending shows the changes past the checkpoint
      const lag = await eventually(
        'lag above 0',
        async () => ((await metric('pillowtop_lag_seconds')) ?? 0) > 0 && (await metric('pillowtop_lag_seconds')),
      );
      await eventually('lag rising', async () => ((await metric('pillowtop_lag_seconds')) ?? 0) > (lag as number));
      if (fault !== 'html-info')
        await eventually('pending above 0', async () => ((await metric('pillowtop_pending_changes')) ?? 0) >= 5);
      assert.equal((await s.status('sh')).checkpoint, checkpoint);
      assert.equal(await storedCheckpoint(), checkpoint);

      source.set('healthy');
      await s.eventuallyFor(
        'pillow/sh',
        'recovered',
        async () => (await rows()) === written && (await s.status('sh')).status === 'idle',
        90_000,
      );
      assert.equal(await metric('pillowtop_lag_seconds'), 0);
      assert.equal(await metric('pillowtop_pending_changes'), 0);
    });
  }
});

describe('a CouchDB long poll that CouchDB does not end by its timeout', () => {
  test('is a hung source: failing with the reason, then recovers', async () => {
    const s = await setupSuite('hung-longpoll');
    const proxy = await startCouch3Proxy(s.couchUrl);
    try {
      const db = await s.couchDb('hung');
      await writeDocs(s.couchUrl, db, [caseDoc(1)]);
      await s.startWorker([
        {
          name: 'hl',
          source: { db, url: proxy.url },
          longPollSeconds: 1,
          processors: [postgresMirror({ table: 'hl_mirror' })],
        },
      ]);
      await s.startPillowCli('hl');
      await eventually('idle', async () => (await s.status('hl')).status === 'idle');
      const checkpoint = (await s.status('hl')).checkpoint;
      proxy.hangChanges(true);
      const st = await s.eventuallyFor(
        'pillow/hl',
        'failing',
        async () => {
          const v = await s.status('hl');
          return v.status === 'failing' ? v : null;
        },
        60_000,
      );
      assert.match(st!.lastError ?? '', /did not end a 1s long poll of .* within 6s \(hung source\)/);
      assert.equal(st!.checkpoint, checkpoint);
      proxy.hangChanges(false);
      await writeDocs(s.couchUrl, db, [caseDoc(2)]);
      await s.eventuallyFor('pillow/hl', 'recovered', async () => {
        const v = await s.status('hl');
        return v.status === 'idle' && v.processed === 2;
      });
      await cancelAndWait(s.client, 'pillow/hl');
    } finally {
      await s.cleanup();
      await proxy.close();
    }
  });
});

describe('confirmQuiet: an empty page at the checkpoint', () => {
  const empty = (seq: string, pending: number | null = null): ChangesPage => ({ changes: [], lastSeq: seq, pending });
  const change = { id: 'a', seq: '6', deleted: false, rev: '1-a', doc: { _id: 'a' } };

  test('is quiet when nothing is past it', async () => {
    const page = empty('5', 0);
    assert.equal(
      await confirmQuiet(
        page,
        '5',
        'src',
        () => assert.fail('no second read'),
        async () => 3,
      ),
      page,
    );
    assert.equal(
      await confirmQuiet(
        empty('5'),
        '5',
        'src',
        () => assert.fail('no second read'),
        async () => 0,
      ).then((p) => p.lastSeq),
      '5',
    );
  });
  test('a change that arrived as the wait ended is read, not taken for a fault', async () => {
    const page = await confirmQuiet(
      empty('5'),
      '5',
      'src',
      async () => ({ changes: [change], lastSeq: '6', pending: null }),
      async () => 1,
    );
    assert.equal(page.changes.length, 1);
  });
  test('stuck when a second read is empty too while the source is ahead', async () => {
    await assert.rejects(
      confirmQuiet(
        empty('5', 2),
        '5',
        'CouchDB at x,',
        async () => empty('5', 2),
        async () => null,
      ),
      (err: Error) =>
        err instanceof CouchSourceError &&
        /CouchDB at x, keeps answering an empty page at seq 5 while 2/.test(err.message),
    );
  });
});
