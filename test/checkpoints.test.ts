import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { setupSuite, eventually, cancelAndWait, type Suite } from './helpers/harness';
import { startCouch3Proxy, type Couch3Proxy } from './helpers/couch3-proxy';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { postgresTable } from '../src/processors/postgres-table';
import { rewindSignal, setCheckpointUpdate } from '../src/workflows/messages';
import type { PillowDefinition } from '../src/config/pillow-definition';

const tables = async (s: Suite, mirror: string, index: string) => ({
  mirror: (await s.pool.query(`SELECT id, rev, deleted, doc FROM ${mirror} ORDER BY id`)).rows,
  index: (await s.pool.query(`SELECT * FROM ${index} ORDER BY doc_id`)).rows,
});

function pillowFor(name: string, db: string, url?: string, batchSize = 25): PillowDefinition {
  return {
    name,
    source: { db, ...(url ? { url } : {}) },
    batchSize,
    longPollSeconds: 1,
    processors: [
      postgresMirror({ table: `${name}_mirror` }),
      postgresTable({
        table: `${name}_index`,
        columns: [
          { name: 'owner_id', type: 'text' },
          { name: 'age', type: 'integer', expression: 'properties.age' },
        ],
      }),
    ],
  };
}

describe('checkpoints: rewind, setCheckpoint, continue-as-new, CouchDB 3 seqs', () => {
  let s: Suite;
  let proxy: Couch3Proxy;
  let plainDb: string;
  let couch3Db: string;

  before(async () => {
    s = await setupSuite('checkpoints');
    plainDb = await s.couchDb('plain');
    couch3Db = await s.couchDb('couch3');
    proxy = await startCouch3Proxy(s.couchUrl);
    await s.startWorker([
      pillowFor('rw', plainDb),
      pillowFor('c3', couch3Db, proxy.url),
      pillowFor('can', plainDb, undefined, 10),
    ]);
  });
  after(async () => {
    await s.cleanup();
    await proxy.close();
  });

  const start = (name: string, extra: Record<string, unknown> = {}) => s.startPillowCli(name, extra);
  const rows = async (table: string) => Number((await s.pool.query(`SELECT count(*) n FROM ${table}`)).rows[0].n);

  test('rewind to 0 reprocesses everything and leaves the tables identical; rewind to now skips to the head', async () => {
    await writeDocs(
      s.couchUrl,
      plainDb,
      Array.from({ length: 100 }, (_, i) => caseDoc(i)),
    );
    await start('rw');
    await eventually('100 rows', async () => (await rows('rw_index')) === 100);
    await eventually('caught up', async () => (await s.status('rw')).status === 'idle');
    const beforeRewind = await tables(s, 'rw_mirror', 'rw_index');
    const processedBefore = (await s.status('rw')).processed;

    await s.temporalCli([
      'workflow',
      'signal',
      '--workflow-id',
      'pillow/rw',
      '--name',
      'rewind',
      '--input',
      '{"to":"0"}',
    ]);
    await s.eventuallyFor(
      'pillow/rw',
      'everything processed again',
      async () => (await s.status('rw')).processed >= processedBefore + 100,
    );
    await eventually('caught up again', async () => (await s.status('rw')).status === 'idle');
    assert.deepEqual(await tables(s, 'rw_mirror', 'rw_index'), beforeRewind, 'a replay from zero changes nothing');

    // rewind to now: the checkpoint becomes the feed head; docs written before it are not processed
    await s.client.workflow.getHandle('pillow/rw').signal(rewindSignal, { to: 'now' });
    const head = await eventually('checkpoint at head', async () => {
      const info = (await (await fetch(`${s.couchUrl}/${plainDb}`)).json()) as { update_seq: number };
      const st = await s.status('rw');
      return st.checkpoint === String(info.update_seq) ? st : null;
    });
    const stored = (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = 'rw'`)).rows[0].seq;
    assert.equal(stored, head!.checkpoint, 'the rewind is stored with the checkpoint mirror');
  });

  test('setCheckpoint: a malformed seq is rejected by the validator and changes nothing; a good one returns previous and current', async () => {
    const handle = s.client.workflow.getHandle('pillow/rw');
    const before = await s.status('rw');
    for (const bad of [{ seq: '' }, { seq: 42 }, { nope: true }, { seq: 'has space' }, { seq: 'now' }]) {
      await assert.rejects(
        handle.executeUpdate(setCheckpointUpdate, { args: [bad as never] }),
        WorkflowUpdateFailedError,
        `rejects ${JSON.stringify(bad)}`,
      );
    }
    // the plain Temporal CLI sees the same rejection
    await assert.rejects(
      s.temporalCli([
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        'pillow/rw',
        '--name',
        'setCheckpoint',
        '--input',
        '{"seq":""}',
      ]),
    );
    const afterBad = await s.status('rw');
    assert.equal(afterBad.checkpoint, before.checkpoint);

    const result = await handle.executeUpdate(setCheckpointUpdate, { args: [{ seq: '50' }] });
    assert.equal(result.current, '50');
    assert.equal(result.previous, before.checkpoint);
    await eventually('reprocessed from 50', async () => (await s.status('rw')).processed >= before.processed + 50);
    await cancelAndWait(s.client, 'pillow/rw');
  });

  test('CouchDB 3 opaque seqs are stored and sent back verbatim', async () => {
    await writeDocs(
      s.couchUrl,
      couch3Db,
      Array.from({ length: 60 }, (_, i) => caseDoc(i)),
    );
    await start('c3');
    await eventually('60 rows through the CouchDB 3 face', async () => (await rows('c3_index')) === 60);
    const st = (await eventually('caught up', async () => {
      const v = await s.status('c3');
      return v.status === 'idle' ? v : null;
    }))!;
    assert.match(st.checkpoint, /^\d+-g1AAAA/, 'the checkpoint is the opaque string CouchDB gave');
    assert.ok(proxy.issued.has(st.checkpoint));
    const stored = (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = 'c3'`)).rows[0].seq;
    assert.equal(stored, st.checkpoint);
    assert.ok(proxy.sinceSeen.length > 1);
    for (const since of proxy.sinceSeen)
      assert.ok(since === '0' || proxy.issued.has(since), `sent back verbatim: ${since}`);
    assert.equal(st.pending, 0, 'CouchDB pending is reported');
    // seq_interval: rows written between computed seqs carry the batch's last_seq
    const seqs = (await s.pool.query(`SELECT DISTINCT seq FROM c3_mirror`)).rows.map((r) => r.seq as string);
    for (const seq of seqs) assert.ok(proxy.issued.has(seq), `mirror seq ${seq} is one CouchDB issued`);

    // rewind to an opaque seq it issued, then to now
    const handle = s.client.workflow.getHandle('pillow/c3');
    const mid = [...proxy.issued].find((t) => t !== st.checkpoint && !t.startsWith('0-'))!;
    const moved = await handle.executeUpdate(setCheckpointUpdate, { args: [{ seq: mid }] });
    assert.equal(moved.current, mid);
    await handle.signal(rewindSignal, { to: 'now' });
    await eventually(
      'at head (opaque)',
      async () => /^\d+-g1AAAA/.test((await s.status('c3')).checkpoint) && (await s.status('c3')).checkpoint !== mid,
    );
    await cancelAndWait(s.client, 'pillow/c3');
  });

  test('continue-as-new on a long run loses nothing and carries the counters', async () => {
    const db = plainDb; // 100 docs already there
    await start('can', { continueAsNewAfterBatches: 3 });
    await eventually('all rows', async () => (await rows('can_index')) === 100, 60_000);
    const st = (await eventually('caught up', async () => {
      const v = await s.status('can');
      return v.status === 'idle' ? v : null;
    }))!;
    assert.ok(st.runs >= 3, `continued as new (runs: ${st.runs})`);
    assert.equal(st.processed, 100, 'every change counted once across runs');
    const desc = await s.client.workflow.getHandle('pillow/can').describe();
    assert.equal(desc.status.name, 'RUNNING');
    void db;
    await cancelAndWait(s.client, 'pillow/can');
  });
});
