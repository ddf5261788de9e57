import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { setupSuite, eventually, cancelAndWait, type Suite } from './helpers/harness';
import { startCouch3Proxy, type Couch3Proxy } from './helpers/couch3-proxy';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { rewindSignal, setCheckpointUpdate } from '../src/workflows/messages';
import type { PillowDefinition } from '../src/config/pillow-definition';

function pillowFor(name: string, db: string, url?: string): PillowDefinition {
  return {
    name,
    source: { db, ...(url ? { url } : {}) },
    batchSize: 25,
    longPollSeconds: 1,
    processors: [postgresMirror({ table: `${name}_mirror` })],
  };
}

/** The message of the failure an update or a workflow ended with (the server's reason, not the wrapper's). */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { message?: string } }).cause;
  return cause?.message ?? (err as Error).message;
}

describe('a checkpoint the source would not accept is refused before it is stored', () => {
  let s: Suite;
  let proxy: Couch3Proxy;
  let plainDb: string;
  let couch3Db: string;
  const stored = async (key: string) =>
    (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [key])).rows[0]?.seq as
      string | undefined;
  const history = async (key: string) =>
    Number(
      (await s.pool.query(`SELECT count(*) n FROM pillowtop_checkpoint_history WHERE pillow = $1`, [key])).rows[0].n,
    );

  before(async () => {
    s = await setupSuite('checkpoint-checks');
    plainDb = await s.couchDb('plain');
    couch3Db = await s.couchDb('couch3');
    proxy = await startCouch3Proxy(s.couchUrl);
    await writeDocs(
      s.couchUrl,
      plainDb,
      Array.from({ length: 30 }, (_, i) => caseDoc(i)),
    );
    await writeDocs(
      s.couchUrl,
      couch3Db,
      Array.from({ length: 30 }, (_, i) => caseDoc(i)),
    );
    await s.startWorker([
      pillowFor('ckp', plainDb),
      pillowFor('ckc3', couch3Db, proxy.url),
      pillowFor('cks', plainDb),
      pillowFor('ckg', plainDb),
    ]);
    await s.startPillowCli('ckp');
    await s.startPillowCli('ckc3');
    await eventually('both caught up', async () => {
      const [a, b] = await Promise.all([s.status('ckp'), s.status('ckc3')]);
      return a.status === 'idle' && b.status === 'idle' && a.processed === 30 && b.processed === 30;
    });
  });
  after(async () => {
    await Promise.allSettled(['pillow/ckp', 'pillow/ckc3'].map((id) => cancelAndWait(s.client, id)));
    await s.cleanup();
    await proxy.close();
  });

  const cases = [
    {
      pillow: 'ckp',
      server: 'pouchdb-server',
      bad: 'garbage',
      reason: /seq "garbage" is not a seq of .*: this server's seqs are integers/,
    },
    {
      pillow: 'ckp',
      server: 'pouchdb-server',
      bad: '999999',
      reason: /seq "999999" is past the head of .* \(update_seq 30\)/,
    },
    {
      pillow: 'ckc3',
      server: 'CouchDB 3',
      bad: 'garbage',
      reason: /refuses seq "garbage" for .*: Malformed sequence supplied in 'since' parameter/,
    },
  ];
  for (const { pillow, server, bad, reason } of cases) {
    test(`setCheckpoint ${bad} on ${server}: the update fails with the reason and nothing is stored`, async () => {
      const before = await s.status(pillow);
      const storedBefore = await stored(pillow);
      const historyBefore = await history(pillow);
      const err = await s.client.workflow
        .getHandle(`pillow/${pillow}`)
        .executeUpdate(setCheckpointUpdate, { args: [{ seq: bad }] })
        .then(
          () => assert.fail('the update was accepted'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
      assert.match(causeOf(err), reason);
      assert.equal(await stored(pillow), storedBefore, 'the stored checkpoint is untouched');
      assert.equal(await history(pillow), historyBefore, 'no checkpoint history entry');
      const after = await s.status(pillow);
      assert.equal(after.checkpoint, before.checkpoint);
      assert.notEqual(after.status, 'failing');
    });
  }

  test('a good seq still moves the checkpoint on CouchDB 3 (opaque seqs are checked, not parsed)', async () => {
    const token = [...proxy.issued][0];
    const result = await s.client.workflow
      .getHandle('pillow/ckc3')
      .executeUpdate(setCheckpointUpdate, { args: [{ seq: token }] });
    assert.equal(result.current, token);
    await eventually('caught up again', async () => {
      const v = await s.status('ckc3');
      return v.status === 'idle' && v.checkpoint !== token && (await stored('ckc3')) === v.checkpoint;
    });
  });

  test('a rewind signal to a seq the source refuses is ignored; the reason shows in status', async () => {
    const before = await s.status('ckc3');
    const storedBefore = await stored('ckc3');
    await s.client.workflow.getHandle('pillow/ckc3').signal(rewindSignal, { to: 'garbage' });
    const st = await eventually('refusal shown in status', async () => {
      const v = await s.status('ckc3');
      return v.lastRejectedMove?.reason.startsWith('rewind signal') ? v : null;
    });
    assert.equal(st!.lastRejectedMove!.to, 'garbage');
    assert.match(st!.lastRejectedMove!.reason, /^rewind signal: .*Malformed sequence supplied in 'since' parameter/);
    assert.equal(st!.checkpoint, before.checkpoint);
    assert.equal(await stored('ckc3'), storedBefore);
    const desc = await s.client.workflow.getHandle('pillow/ckc3').describe();
    assert.equal(desc.status.name, 'RUNNING', 'the pillow keeps running');
  });

  test('a start with a checkpoint the source refuses fails with the reason and stores nothing', async () => {
    await s.startPillowCli('cks', { checkpoint: 'garbage' });
    const err = await s.client.workflow
      .getHandle('pillow/cks')
      .result()
      .then(
        () => assert.fail('the pillow started'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.match(causeOf(err), /input\.checkpoint: seq "garbage" is not a seq of .*: this server's seqs are integers/);
    // the describe step stamps a new pillow's row at "0" before the start input is checked
    assert.ok([undefined, '0'].includes(await stored('cks')), 'the refused checkpoint is not stored');
  });

  test('a checkpoint stored before these checks, which pouchdb-server would echo back, makes the pillow failing, not idle', async () => {
    // the schema exists by now (the other pillows have run)
    await s.pool.query(`INSERT INTO pillowtop_checkpoints (pillow, seq) VALUES ('ckg', 'garbage')`);
    await s.startPillowCli('ckg');
    try {
      const st = await s.eventuallyFor('pillow/ckg', 'failing', async () => {
        const v = await s.status('ckg');
        return v.status === 'failing' ? v : null;
      });
      assert.match(st!.lastError ?? '', /checkpoint "garbage" is not a seq of .*: move it with pillowtop rewind/);
      // and the way out: a rewind to a good seq
      await s.client.workflow.getHandle('pillow/ckg').executeUpdate(setCheckpointUpdate, { args: [{ seq: '0' }] });
      await eventually('recovered', async () => (await s.status('ckg')).status === 'idle');
    } finally {
      await cancelAndWait(s.client, 'pillow/ckg');
    }
  });
});
