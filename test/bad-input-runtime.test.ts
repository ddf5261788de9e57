import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nano from 'nano';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import {
  assertPillowMatchesSource,
  assertSinkMatchesSource,
  eventuallyValue,
  sinkDiff,
  sourceState,
} from './helpers/faults-check';
import { reportTally, tally } from './helpers/faults-tally';
import { captureStderr } from './helpers/capture-stderr';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { postgresTable } from '../src/processors/postgres-table';
import { retryChangeId } from '../src/temporal/retry-change-id';
import { pillowWorkflowId } from '../src/workflows/ids';
import { retryStatusQuery, rewindSignal, setCheckpointUpdate } from '../src/workflows/messages';
import type { PillowDefinition } from '../src/config/pillow-definition';
import type { Doc } from '../src/types';
import type { PillowStatusView, RetryChangeStatus } from '../src/workflows/types';

/** Every byte array in a fetched history, decoded: payloads are where a doc body would hide. */
function payloadBytes(value: unknown, out: { bytes: number; texts: string[] }, seen = new Set<unknown>()) {
  if (value === null || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  if (value instanceof Uint8Array) {
    out.bytes += value.byteLength;
    out.texts.push(Buffer.from(value).toString('utf8'));
    return out;
  }
  for (const v of Object.values(value)) payloadBytes(v, out, seen);
  return out;
}

describe('bad input: at runtime', () => {
  let s: Suite;
  let db: string;
  let missingDb: string;
  let authServer: http.Server;
  const name = 'bad';
  const table = 'bad_mirror';
  const handle = () => s.client.workflow.getHandle(pillowWorkflowId(name));
  /** The `bad` pillow's mirror equals the source, with the workflow's checkpoint converged to the stored one. */
  const checkSink = () => assertPillowMatchesSource(s, name, { db, table });
  const stored = async (key = name) =>
    (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [key])).rows[0]?.seq as string;
  const start = (pillow: string, input: unknown = { name: pillow }) =>
    s.client.workflow.start('pillow', {
      workflowId: pillowWorkflowId(pillow),
      taskQueue: s.taskQueue,
      args: [input as { name: string }],
    });
  const failingWith = (pillow: string) =>
    eventuallyValue<PillowStatusView>(
      `${pillow} failing`,
      async () => {
        const st = await s.status(pillow);
        return st.status === 'failing' && st;
      },
      90_000,
    );

  before(async () => {
    s = await setupSuite('bad');
    db = await s.couchDb('bad');
    missingDb = `missing_${Date.now().toString(36)}`;
    // a CouchDB that refuses our credentials
    authServer = http.createServer((req, res) => {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="server"' });
      res.end(JSON.stringify({ error: 'unauthorized', reason: 'Name or password is incorrect.' }));
    });
    await new Promise<void>((r) => authServer.listen(0, '127.0.0.1', r));
    const authPort = (authServer.address() as AddressInfo).port;
    const common = { batchSize: 100, longPollSeconds: 1, retry: { attempts: 1, initialIntervalSeconds: 1 } };
    const pillows: PillowDefinition[] = [
      {
        name,
        source: { db },
        ...common,
        processors: [
          postgresMirror({ table }),
          postgresTable({
            table: 'bad_index',
            columns: [
              { name: 'age', type: 'integer', expression: 'properties.age' },
              { name: 'opened_on', type: 'timestamptz' },
              { name: 'owner_id', type: 'text', required: true },
            ],
          }),
        ],
      },
      {
        name: 'badmissing',
        source: { db: missingDb },
        ...common,
        processors: [postgresMirror({ table: 'badmissing_mirror' })],
      },
      {
        name: 'badauth',
        source: { db: 'cases', url: `http://admin:s3cret-pw@127.0.0.1:${authPort}` },
        ...common,
        processors: [postgresMirror({ table: 'badauth_mirror' })],
      },
    ];
    await s.startWorker(pillows);
    await start(name);
  });
  after(async () => {
    for (const p of [name, 'badmissing', 'badauth'])
      await s.client.workflow
        .getHandle(pillowWorkflowId(p))
        .terminate()
        .catch(() => undefined);
    // nano keeps connections alive: close them, or the server never finishes closing
    authServer.closeAllConnections();
    await new Promise((r) => authServer.close(r));
    await s.cleanup();
    reportTally(__filename);
  });

  test('an unknown pillow name shows as failing, naming the known pillows, then fails after its timeout', async () => {
    tally.badInputs += 2;
    // a name no worker knows may be a deploy still under way: the pillow waits, failing, and says why
    await s.startPillowCli('nope');
    const waiting = await failingWith('nope');
    assert.match(
      String(waiting.lastError),
      /^worker \S+ does not know pillow "nope" \(known: bad, badmissing, badauth\); waiting for a worker that does$/,
    );
    assert.equal((await s.client.workflow.getHandle('pillow/nope').describe()).status.name, 'RUNNING');
    await s.client.workflow.getHandle('pillow/nope').terminate('test done');

    // past its timeout (600 s unless the input says otherwise) it is a typo: it fails, non-retryably
    await s.startPillowCli('nope2', { unknownPillowTimeoutSeconds: 3 });
    const result = await s.temporalCli(['workflow', 'result', '--workflow-id', 'pillow/nope2']).then(
      () => assert.fail('expected the workflow to fail'),
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    );
    assert.match(result, /unknown pillow "nope2": no worker on task queue "[^"]+" took it in \d+s/);
    assert.match(result, /known: bad, badmissing, badauth/);
    const err = await s.client.workflow
      .getHandle('pillow/nope2')
      .result()
      .catch((e) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'UnknownPillow');
    assert.equal(err.cause.nonRetryable, true);
    const desc = await s.client.workflow.getHandle('pillow/nope2').describe();
    assert.equal(desc.status.name, 'FAILED');
    // no input at all is bad input, named as such
    const noName = await start('noname', {})
      .then((h) => h.result())
      .catch((e) => e);
    assert.match(String(noName.cause?.message), /pillow input must be \{"name": "<pillow>"\}/);
  });

  test('a malformed setCheckpoint is rejected by the validator and changes nothing', async () => {
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 20 }, (_, i) => caseDoc(i)),
    );
    await checkSink();
    const before = await s.status(name);
    const storedBefore = await stored();
    for (const [input, reason] of [
      [{ seq: 12 }, /"seq": a seq must be a string, got number/],
      [{ seq: '' }, /"seq": a seq must not be empty/],
      [{}, /"seq": a seq must be a string, got undefined/],
      [{ seq: 'now' }, /"now" is not a seq/],
      [{ seq: '12 34' }, /whitespace/],
      [{ seq: 'x'.repeat(5000) }, /at most 4096 characters/],
    ] as const) {
      tally.badInputs += 1;
      const err = await handle()
        .executeUpdate(setCheckpointUpdate, { args: [input as { seq: string }] })
        .then(
          () => assert.fail(`accepted ${JSON.stringify(input).slice(0, 50)}`),
          (e) => e,
        );
      assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
      assert.match(String(err.cause?.message), reason);
    }
    // the same through the plain Temporal CLI
    tally.badInputs += 1;
    const cli = await s
      .temporalCli([
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        pillowWorkflowId(name),
        '--name',
        'setCheckpoint',
        '--input',
        '{"seq":12}',
      ])
      .then(
        () => assert.fail('the CLI update was accepted'),
        (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
      );
    assert.match(cli, /a seq must be a string/);

    const after = await s.status(name);
    assert.equal(after.checkpoint, before.checkpoint);
    assert.equal(await stored(), storedBefore);
    // rejected by the validator: nothing about them in the workflow's history
    const history = await handle().fetchHistory();
    assert.ok(
      !history.events?.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes),
      'no update was accepted into history',
    );
  });

  test('a malformed rewind signal is ignored with a logged reason, state unchanged', async () => {
    const before = await s.status(name);
    const logged = await captureStderr(async (seen) => {
      for (const input of [{ to: 5 }, {}, 'zero', { to: '' }, { to: 'a\nb' }]) {
        tally.badInputs += 1;
        await handle().signal(rewindSignal, input as { to: string });
      }
      await eventually(
        'five ignored rewinds logged',
        async () => seen.filter((l) => l.includes('rewind signal ignored')).length >= 5,
      );
    });
    const lines = logged.filter((l) => l.includes('rewind signal ignored')).join('\n');
    assert.match(lines, /a seq must be a string, got number/);
    assert.match(lines, /expected \{"to": "<seq>" \| "0" \| "now"\}/);
    assert.match(lines, /a seq must not be empty/);
    const after = await s.status(name);
    assert.equal(after.checkpoint, before.checkpoint);
    assert.equal(after.processed, before.processed, 'nothing reprocessed');
    // and the pillow still works
    await writeDocs(s.couchUrl, db, [caseDoc(500)]);
    await checkSink();
  });

  test('docs that are not what the mapping expects are parked with an error naming the column; the rest go through', async () => {
    const database = nano(s.couchUrl).use<Doc>(db);
    const bad: [Doc, RegExp][] = [
      [{ _id: 'bad-age', owner_id: 'o', properties: { age: 'forty' } }, /column "age": .*is not an integer/],
      [{ _id: 'bad-date', owner_id: 'o', opened_on: 'last tuesday' }, /column "opened_on": .*is not a timestamp/],
      [{ _id: 'bad-owner', properties: { age: 3 } }, /column "owner_id" is required but the doc has no value/],
      [{ _id: 'bad-nul', owner_id: 'o', note: 'a\u0000b' }, /NUL character/],
      [{ _id: 'bad-props', owner_id: 'o', properties: 'not an object' }, /./],
    ];
    for (const [doc] of bad) await database.insert(doc);
    await database.insert({ _id: 'good-after-bad', owner_id: 'o', properties: { age: 7 } });
    tally.badInputs += bad.length;
    for (const [doc, reason] of bad.slice(0, 4)) {
      const parked = await eventuallyValue<RetryChangeStatus>(
        `${doc._id} parked`,
        async () => {
          const st = await s.client.workflow
            .getHandle(retryChangeId(name, doc._id))
            .query(retryStatusQuery)
            .catch(() => null);
          return st?.state === 'parked' && st;
        },
        60_000,
      );
      assert.match(parked.lastError, reason);
    }
    // each processor writes what it can: the mirror takes any JSON but NUL, the typed table any doc
    // whose columns convert; a path into a non-object is simply absent (NULL)
    const inIndex = async () =>
      (await s.pool.query(`SELECT doc_id FROM bad_index WHERE doc_id LIKE 'bad-%' OR doc_id = 'good-after-bad'`)).rows
        .map((r) => r.doc_id)
        .sort();
    await eventually('good docs written', async () => (await inIndex()).includes('good-after-bad'));
    assert.deepEqual(await inIndex(), ['bad-nul', 'bad-props', 'good-after-bad']);
    const diff = await sinkDiff(s.pool, table, await sourceState(s.couchUrl, db));
    assert.deepEqual(diff.lost, ['bad-nul']);
    assert.deepEqual(diff.stale, []);
    const { rows } = await s.pool.query(`SELECT age FROM bad_index WHERE doc_id = 'good-after-bad'`);
    assert.deepEqual(rows, [{ age: 7 }]);
    // counted when the slice reports: its next heartbeat, or its return
    await eventually('four failures counted', async () => (await s.status(name)).failed === 4);
  });

  test('unicode, slashes and very long doc ids arrive intact', async () => {
    const ids = ['a/b/c', 'ünïcødé 日本語 🚀', 'with spaces and %2F', 'q?x=1&y=#frag', `long-${'é'.repeat(2000)}`];
    tally.badInputs += ids.length;
    await writeDocs(
      s.couchUrl,
      db,
      ids.map((id, i) => ({ ...caseDoc(900 + i), _id: id })),
    );
    await eventually('ids in the mirror', async () => {
      const { rows } = await s.pool.query(`SELECT id FROM ${table} WHERE id = ANY($1)`, [ids]);
      return rows.length === ids.length;
    });
    const { rows } = await s.pool.query(`SELECT doc_id FROM bad_index WHERE doc_id = ANY($1)`, [ids]);
    assert.deepEqual(rows.map((r) => r.doc_id).sort(), [...ids].sort());
  });

  test('a 5 MB doc is written, and never enters workflow history', async () => {
    tally.badInputs += 2;
    const blob = 'MARKER-5MB-' + 'x'.repeat(5 * 1024 * 1024);
    const database = nano(s.couchUrl).use<Doc>(db);
    await database.insert({ ...caseDoc(1000), _id: 'big-ok', blob });
    // and one that fails, so it goes through a retryChange workflow too
    await database.insert({ ...caseDoc(1001), _id: 'big-bad', blob, properties: { age: 'old' } });
    await eventually(
      'the big doc in the mirror',
      async () => {
        const { rows } = await s.pool.query(`SELECT length(doc->>'blob') AS n FROM ${table} WHERE id = 'big-ok'`);
        return rows[0]?.n === blob.length;
      },
      120_000,
    );
    await eventually(
      'the bad big doc parked',
      async () => {
        const st = await s.client.workflow
          .getHandle(retryChangeId(name, 'big-bad'))
          .query(retryStatusQuery)
          .catch(() => null);
        return st?.state === 'parked';
      },
      60_000,
    );
    for (const id of [pillowWorkflowId(name), retryChangeId(name, 'big-bad')]) {
      const found = payloadBytes(await s.client.workflow.getHandle(id).fetchHistory(), { bytes: 0, texts: [] });
      assert.ok(found.bytes < 256 * 1024, `${id}: history payloads are ${found.bytes} bytes`);
      assert.ok(!found.texts.some((t) => t.includes('MARKER-5MB')), `${id}: no doc body in history`);
    }
  });

  test('a CouchDB database that does not exist, or is deleted while the pillow runs: failing with a clear error, recovers when (re-)created', async () => {
    tally.badInputs += 2;
    await start('badmissing');
    const failing = await failingWith('badmissing');
    assert.match(
      failing.lastError ?? '',
      new RegExp(`CouchDB database "${missingDb}" does not exist at http://127\\.0\\.0\\.1:\\d+`),
    );

    const server = nano(s.couchUrl);
    await server.db.create(missingDb);
    await writeDocs(
      s.couchUrl,
      missingDb,
      Array.from({ length: 30 }, (_, i) => caseDoc(i)),
    );
    await eventually('recovered', async () => (await s.status('badmissing')).status !== 'failing', 120_000);
    await assertSinkMatchesSource({
      pool: s.pool,
      couchUrl: s.couchUrl,
      db: missingDb,
      table: 'badmissing_mirror',
      pillowKey: 'badmissing',
    });

    // deleted under the running pillow
    await server.db.destroy(missingDb);
    const again = await failingWith('badmissing');
    assert.match(again.lastError ?? '', /does not exist/);
    const rewindsBefore = again.rewindsDetected;
    await server.db.create(missingDb);
    // fewer changes than the old checkpoint: the new database is read from its start
    await writeDocs(
      s.couchUrl,
      missingDb,
      Array.from({ length: 10 }, (_, i) => caseDoc(100 + i)),
    );
    await eventually(
      'recovered after re-creation',
      async () => (await s.status('badmissing')).status !== 'failing',
      120_000,
    );
    const source = await sourceState(s.couchUrl, missingDb);
    // the 30 docs of the old database are gone from the sink too: the new one never had them
    await eventuallyValue('the re-created database mirrored, nothing more', async () => {
      const d = await sinkDiff(s.pool, 'badmissing_mirror', source);
      return d.lost.length + d.stale.length + d.extra.length === 0 && d;
    });
    assert.equal(
      (await s.status('badmissing')).rewindsDetected,
      rewindsBefore + 1,
      'reported as a feed that went backwards',
    );
    assert.equal(await stored('badmissing'), source.updateSeq);
    tally.faults += 1;
  });

  test('wrong credentials: failing with an error that says so, and never shows the password', async () => {
    // pouchdb-server has no easy auth: a local server answers 401 as CouchDB does for a bad password
    tally.badInputs += 1;
    await start('badauth');
    const failing = await failingWith('badauth');
    assert.match(
      failing.lastError ?? '',
      /CouchDB at http:\/\/admin:\*\*\*@127\.0\.0\.1:\d+ refused access \(401\): check the credentials in COUCH_URL/,
    );
    assert.ok(!(failing.lastError ?? '').includes('s3cret-pw'));
  });
});
