/**
 * Payload encryption: with a codec key nothing a doc holds reaches Temporal in plaintext (payloads,
 * failures, user metadata, retry workflow ids), and clients with the key read it all back; the codec
 * server speaks Temporal's remote codec protocol over HTTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresTable } from '../src/processors/postgres-table';
import { SinkUnavailableError } from '../src/processors/sink-unavailable';
import { codecKeysFromEnv, keyFingerprint, parseCodecKeys, type CodecKeys } from '../src/codec/codec-keys';
import { EncryptionCodec } from '../src/codec/encryption-codec';
import { pillowtopDataConverter } from '../src/codec/data-converter';
import { startCodecServer } from '../src/codec/codec-server';
import { isHashedRetryChangeId, retryChangeId, retryChangeIdCandidates } from '../src/temporal/retry-change-id';
import { listRetryChanges, retryNow } from '../src/operations/retry-changes';
import { startPillow } from '../src/operations/start-pillow';
import { createRegistry } from '../src/config/pillow-registry';
import { pillowWorkflowId } from '../src/workflows/ids';
import { changeFailedSignal, retryStatusQuery, statusQuery } from '../src/workflows/messages';
import type { PillowDefinition } from '../src/config/pillow-definition';
import type { Processor } from '../src/types';
import { ROOT, runPillowtop, spawnPillowtop } from './helpers/pillowtop-cli';

describe('pillowtop codec-key and codec-server commands', () => {
  test('codec-key prints a key the codec reads; codec-server without a key says so', async () => {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME };
    const made = await runPillowtop(['codec-key', '--id', '2026-11'], env);
    assert.equal(made.code, 0, made.stderr);
    const keys = parseCodecKeys(made.stdout.trim(), 'codec-key output');
    assert.equal(keys.current.id, '2026-11');
    assert.equal(keys.current.key.length, 32);
    const noKey = await runPillowtop(['codec-server'], env);
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /no codec key: set PILLOWTOP_CODEC_KEY or PILLOWTOP_CODEC_KEY_FILE/);
  });
});

const newKeys = (ids: string[]): CodecKeys =>
  parseCodecKeys(ids.map((id) => `${id}:${randomBytes(32).toString('base64')}`).join(','), 'test');

describe('codec: nothing a doc holds reaches Temporal in plaintext', () => {
  let s: Suite;
  let codecClient: Client;
  let connection: Connection;
  const keys = newKeys(['t1']);
  const name = 'sealed';
  const secretId = 'secret-doc-id-7q9';
  const secretAge = 'forty-two-secret';
  const outageText = 'sink-refused-value-zebra-crossing-secret';
  let outages = 0;
  let sinkUp = false;

  /** Throws SinkUnavailableError quoting a doc value until `sinkUp`: the batch activity fails with it. */
  const flakySink: Processor = {
    name: 'flakySink',
    async processBatch(changes) {
      const loud = changes.find((c) => c.doc?.outage_note);
      if (loud && !sinkUp) {
        outages += 1;
        throw new SinkUnavailableError(`sink down while writing ${String(loud.doc?.outage_note)}`);
      }
    },
  };

  before(async () => {
    s = await setupSuite('codec');
    connection = await Connection.connect({ address: s.temporalAddress });
    codecClient = new Client({ connection, dataConverter: pillowtopDataConverter(keys) });
  });
  after(async () => {
    await connection?.close();
    await s?.cleanup();
  });

  test('history, failures and user metadata carry no doc value; clients with the key read them', async () => {
    const db = await s.couchDb('sealed');
    const pillow: PillowDefinition = {
      name,
      source: { db },
      filter: { docTypes: ['CommCareCase'] },
      batchSize: 50,
      retry: { attempts: 1, initialIntervalSeconds: 1, backoffCoefficient: 1, maxIntervalSeconds: 1 },
      processors: [
        postgresTable({
          table: 'sealed_index',
          columns: [
            { name: 'domain', type: 'text', required: true },
            { name: 'age', type: 'integer', expression: 'properties.age' },
          ],
        }),
        flakySink,
      ],
    };
    await s.startWorker([pillow], { codecKeys: keys });
    const secretDoc = {
      ...caseDoc(1),
      _id: secretId,
      properties: { ...(caseDoc(1).properties as Record<string, unknown>), age: secretAge },
    };
    await writeDocs(s.couchUrl, db, [caseDoc(2), secretDoc, { ...caseDoc(3), outage_note: outageText }]);
    await startPillow(codecClient, createRegistry([pillow], { COUCH_URL: s.couchUrl }).get(name), s.taskQueue);

    // an outage quoting a doc value fails batch activities; then the sink comes back
    await eventually('an outage', async () => outages >= 2);
    const failing = await eventually('status shows the outage', async () => {
      const st = await codecClient.workflow.getHandle(pillowWorkflowId(name)).query(statusQuery);
      return st.lastError?.includes(outageText) ? st : null;
    });
    assert.equal(failing!.status, 'failing');
    sinkUp = true;

    // the bad doc goes to a retryChange workflow whose id hides the doc id
    const retryId = retryChangeId(name, secretId, keys);
    assert.ok(isHashedRetryChangeId(retryId), retryId);
    assert.ok(!retryId.includes(secretId));
    const retry = await eventually('retry workflow parked', async () => {
      const st = await codecClient.workflow
        .getHandle(retryId)
        .query(retryStatusQuery)
        .catch(() => null);
      return st?.state === 'parked' ? st : null;
    });
    assert.equal(retry!.docId, secretId);
    assert.match(retry!.lastError ?? '', new RegExp(secretAge));
    const status = await eventually('pillow caught up', async () => {
      const st = await codecClient.workflow.getHandle(pillowWorkflowId(name)).query(statusQuery);
      return st.processed >= 2 && st.status !== 'failing' ? st : null;
    });
    assert.match(status!.lastError ?? '', new RegExp(`doc ${secretId}: .*${secretAge}`));

    // `pillowtop errors` and `retry` find it by the real doc id
    const rows = await listRetryChanges(codecClient, [name]);
    assert.deepEqual(
      rows.map((r) => [r.docId, r.workflowId]),
      [[secretId, retryId]],
    );
    assert.deepEqual(await retryNow(codecClient, name, [secretId], keys), [retryId]);
    // the same from the CLI, with the key from the environment; without it, nothing of the doc shows
    const cliEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: s.temporalAddress,
      PILLOWTOP_TASK_QUEUE: s.taskQueue,
      PILLOWTOP_CONFIG: path.join(ROOT, 'test', 'fixtures', 'codec.config.ts'),
      CODEC_COUCH_DB: db,
      COUCH_URL: s.couchUrl,
    };
    const keyed = { ...cliEnv, PILLOWTOP_CODEC_KEY: `t1:${keys.current.key.toString('base64')}` };
    const errors = await runPillowtop(['errors', name, '--json'], keyed);
    assert.equal(errors.code, 0, errors.stderr);
    const listed = (JSON.parse(errors.stdout) as { changes: { docId: string; lastError: string }[] }).changes;
    assert.deepEqual(
      listed.map((c) => c.docId),
      [secretId],
    );
    assert.match(listed[0].lastError, new RegExp(secretAge));
    const retried = await runPillowtop(['retry', name, secretId], keyed);
    assert.equal(retried.code, 0, retried.stderr);
    const blind = await runPillowtop(['errors', name, '--json'], cliEnv);
    assert.equal(blind.code, 0, blind.stderr);
    assert.equal(
      (JSON.parse(blind.stdout) as { changes: { docId: string }[] }).changes[0].docId,
      '(unknown: hashed id)',
    );
    assert.ok(!blind.stdout.includes(secretId) && !blind.stdout.includes(secretAge), blind.stdout);

    // the raw server, read without the codec: histories of every run, descriptions, queries
    const plain = new Client({ connection });
    const runs = (await eventually('visibility lists both', async () => {
      const found: { workflowId: string; runId: string }[] = [];
      for await (const w of plain.workflow.list({ query: `TaskQueue="${s.taskQueue}"` }))
        found.push({ workflowId: w.workflowId, runId: w.runId });
      return found.some((r) => r.workflowId === retryId) && found.some((r) => r.workflowId === pillowWorkflowId(name))
        ? found
        : null;
    }))!;
    const texts: string[] = [];
    let failureSeen = false;
    for (const run of runs) {
      const history = await plain.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      texts.push(Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1'));
      for (const e of history.events ?? []) {
        const failure = e.activityTaskFailedEventAttributes?.failure;
        if (!failure) continue;
        // encoded: the message is a placeholder and the real one decrypts from encodedAttributes
        assert.equal(failure.message, 'Encoded failure');
        const [decoded] = await new EncryptionCodec(keys).decode([failure.encodedAttributes as Payload]);
        const attrs = defaultPayloadConverter.fromPayload<{ message: string }>(decoded);
        if (attrs.message.includes(outageText)) failureSeen = true;
      }
      const desc = await connection.workflowService.describeWorkflowExecution({
        namespace: 'default',
        execution: { workflowId: run.workflowId, runId: run.runId },
      });
      texts.push(
        Buffer.from(temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse.encode(desc).finish()).toString(
          'latin1',
        ),
      );
    }
    for (const workflowId of [pillowWorkflowId(name), retryId])
      for (const queryType of ['status', '__temporal_workflow_metadata']) {
        const res = await connection.workflowService.queryWorkflow({
          namespace: 'default',
          execution: { workflowId },
          query: { queryType },
        });
        texts.push(
          Buffer.from(temporal.api.workflowservice.v1.QueryWorkflowResponse.encode(res).finish()).toString('latin1'),
        );
      }
    assert.ok(failureSeen, 'an ActivityTaskFailed event whose decrypted failure quotes the outage');
    const raw = texts.join('\n');
    for (const secret of [secretId, secretAge, outageText, 'invalid input syntax', 'not an integer'])
      assert.ok(!raw.includes(secret), `"${secret}" appears in plaintext on the Temporal server`);
    // and the scan could see plaintext: the pillow's name and the workflow ids are there
    assert.ok(raw.includes(pillowWorkflowId(name)));

    // the Temporal CLI reads them through `pillowtop codec-server`, and only through it
    const keyEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PILLOWTOP_CODEC_KEY: `t1:${keys.current.key.toString('base64')}`,
    };
    const server = spawnPillowtop(['codec-server', '--port', '0'], keyEnv);
    try {
      const url = (await eventually(
        'codec server listening',
        async () => /codec server on (http:\/\/\S+)/.exec(server.out())?.[1] ?? null,
      ))!;
      const query = ['workflow', 'query', '--workflow-id', pillowWorkflowId(name), '--type', 'status'];
      assert.match(await s.temporalCli([...query, '--codec-endpoint', url]), new RegExp(secretAge));
      const withoutCodec = await s.temporalCli(query).catch((err: Error) => err.message);
      assert.ok(!withoutCodec.includes(secretAge), withoutCodec);
      const shown = await s.temporalCli([
        'workflow',
        'show',
        '--workflow-id',
        retryId,
        '--output',
        'json',
        '--codec-endpoint',
        url,
      ]);
      // `-o json` prints decoded payloads as base64 json/plain
      const data = [...shown.matchAll(/"data": "([^"]*)"/g)].map((m) => Buffer.from(m[1], 'base64').toString());
      assert.ok(
        data.some((d) => d.includes(`"docId":"${secretId}"`)),
        'the retry workflow input, decoded',
      );
    } finally {
      server.kill('SIGTERM');
      assert.equal(await server.exit, 0, server.err());
    }
  });
});

describe('codec server', () => {
  const keys = newKeys(['new', 'old']);
  let url: string;
  let close: () => Promise<void>;
  before(async () => {
    ({ url, close } = await startCodecServer({
      keys,
      port: 0,
      host: '127.0.0.1',
      corsOrigins: ['http://localhost:8233'],
    }));
  });
  after(() => close?.());

  const json = (p: Payload) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
      body: JSON.stringify(body),
    });

  test('/encode then /decode gives the payloads back; the encoded ones name the current key', async () => {
    const original = defaultPayloadConverter.toPayload({ age: 'forty-two-secret' });
    const enc = await post('/encode', { payloads: [json(original)] });
    assert.equal(enc.status, 200);
    const encoded = (await enc.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    const meta = encoded.payloads[0].metadata;
    assert.equal(Buffer.from(meta.encoding, 'base64').toString(), 'binary/encrypted');
    assert.equal(Buffer.from(meta['encryption-key-id'], 'base64').toString(), 'new');
    assert.ok(!Buffer.from(encoded.payloads[0].data, 'base64').toString('latin1').includes('forty-two'));
    const dec = await post('/default/decode', encoded);
    assert.equal(dec.status, 200);
    assert.deepEqual(await dec.json(), { payloads: [json(original)] });
    // a payload encrypted with the older key still decodes
    const byOld = parseCodecKeys(
      `old:${keys.byId.get('old')!.toString('base64')},new:${keys.byId.get('new')!.toString('base64')}`,
      'test',
    );
    const [oldPayload] = await new EncryptionCodec(byOld).encode([original]);
    const decOld = await post('/decode', { payloads: [json(oldPayload)] });
    assert.deepEqual(await decOld.json(), { payloads: [json(original)] });
  });

  test('CORS preflight answers the Web UI origin, and only it', async () => {
    const pre = await fetch(`${url}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:8233',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /X-Namespace/i);
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    const other = await fetch(`${url}/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('a payload under an unknown key id is a 400 naming the id', async () => {
    const [foreign] = await new EncryptionCodec(newKeys(['gone-2025'])).encode([defaultPayloadConverter.toPayload(1)]);
    const res = await post('/decode', { payloads: [json(foreign)] });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: string };
    assert.match(body.error, /key "gone-2025".*not configured/);
    const bad = await post('/decode', { payloads: 'nope' });
    assert.equal(bad.status, 400);
    // protojson leaves an empty list out
    assert.deepEqual(await (await post('/encode', {})).json(), { payloads: [] });
  });
});

describe('codec keys and hashed retry ids', () => {
  const key = randomBytes(32);
  test('keys in base64 or hex, with or without an id; the first encrypts', () => {
    const keys = parseCodecKeys(`# comment\n2026:${key.toString('hex')}\n${key.toString('base64')}`, 'X');
    assert.equal(keys.current.id, '2026');
    assert.deepEqual([...keys.byId.keys()], ['2026', keyFingerprint(key)]);
    assert.ok(keys.byId.get(keyFingerprint(key))!.equals(key));
    assert.deepEqual(parseCodecKeys(`a:${key.toString('base64')}, b:${key.toString('hex')}`, 'X').current.id, 'a');
  });
  test('mistakes are one line naming the variable, never the key', () => {
    assert.throws(
      () => parseCodecKeys('short', 'PILLOWTOP_CODEC_KEY'),
      /PILLOWTOP_CODEC_KEY: entry 1: a key must be 32 bytes/,
    );
    assert.throws(() => parseCodecKeys(`a:${key.toString('hex')},a:${key.toString('hex')}`, 'X'), /"a" appears twice/);
    assert.throws(() => parseCodecKeys(`bad id:${key.toString('hex')}`, 'X'), /key id "bad id"/);
    assert.throws(() => parseCodecKeys(' \n# only a comment', 'X'), /holds no key/);
    assert.throws(
      () => codecKeysFromEnv({ PILLOWTOP_CODEC_KEY: key.toString('hex'), PILLOWTOP_CODEC_KEY_FILE: '/x' }),
      /not both/,
    );
    assert.equal(codecKeysFromEnv({ PILLOWTOP_CODEC_KEY: '' }), null);
    try {
      parseCodecKeys(`a:${key.toString('hex').slice(2)}`, 'X');
    } catch (err) {
      assert.ok(!(err as Error).message.includes(key.toString('hex').slice(2)));
    }
  });
  test('a keyed hash replaces the doc id; every id a running retry may have is a candidate', () => {
    const keys = parseCodecKeys(`new:${randomBytes(32).toString('hex')},old:${key.toString('hex')}`, 'X');
    const id = retryChangeId('cases', 'doc-1', keys);
    assert.match(id, /^pillow\/cases\/change\/h-[a-z2-7]{32}$/);
    assert.equal(retryChangeId('cases', 'doc-1', keys), id, 'stable');
    assert.notEqual(retryChangeId('cases', 'doc-2', keys), id);
    assert.notEqual(retryChangeId('other', 'doc-1', keys), id.replace('cases', 'other'));
    assert.equal(retryChangeId('cases', 'doc-1', null), 'pillow/cases/change/doc-1', 'without a key: as before');
    const old = parseCodecKeys(`old:${key.toString('hex')}`, 'X');
    assert.deepEqual(retryChangeIdCandidates('cases', 'doc-1', keys), [
      id,
      retryChangeId('cases', 'doc-1', old),
      'pillow/cases/change/doc-1',
    ]);
    assert.deepEqual(retryChangeIdCandidates('cases', 'doc-1', null), ['pillow/cases/change/doc-1']);
  });
});

describe('codec: retry workflows started before the key keep working', () => {
  let s: Suite;
  let connection: Connection;
  const keys = newKeys(['k2']);
  const name = 'rekeyed';

  before(async () => {
    s = await setupSuite('rekeyed');
    connection = await Connection.connect({ address: s.temporalAddress });
  });
  after(async () => {
    await connection?.close();
    await s?.cleanup();
  });

  test('a doc failing again joins its plain-id retry workflow; retry finds it by doc id', async () => {
    const db = await s.couchDb('rekeyed');
    const pillow: PillowDefinition = {
      name,
      source: { db },
      retry: { attempts: 1, initialIntervalSeconds: 1, backoffCoefficient: 1, maxIntervalSeconds: 1 },
      processors: [
        postgresTable({ table: 'rekeyed_index', columns: [{ name: 'age', type: 'integer', expression: 'age' }] }),
      ],
    };
    await s.startWorker([pillow], { codecKeys: keys });
    // what a worker without a key started earlier: the plain id, plain payloads
    const plainId = retryChangeId(name, 'old-doc', null);
    const before = { id: 'old-doc', seq: '0', error: 'an error from before the key' };
    await s.client.workflow.signalWithStart('retryChange', {
      workflowId: plainId,
      taskQueue: s.taskQueue,
      args: [{ pillow: name, docId: 'old-doc', seq: '0', error: before.error }],
      signal: changeFailedSignal,
      signalArgs: [before],
    });
    const codecClient = new Client({ connection, dataConverter: pillowtopDataConverter(keys) });
    await writeDocs(s.couchUrl, db, [{ _id: 'old-doc', age: 'forty-one-again' }]);
    await startPillow(codecClient, createRegistry([pillow], { COUCH_URL: s.couchUrl }).get(name), s.taskQueue);
    const st = await eventually('the old workflow told of the new failure', async () => {
      const r = await codecClient.workflow.getHandle(plainId).query(retryStatusQuery);
      return r.lastError?.includes('forty-one-again') ? r : null;
    });
    assert.equal(st!.docId, 'old-doc');
    await assert.rejects(codecClient.workflow.getHandle(retryChangeId(name, 'old-doc', keys)).describe(), {
      name: 'WorkflowNotFoundError',
    });
    assert.deepEqual(await retryNow(codecClient, name, ['old-doc'], keys), [plainId]);
  });
});
