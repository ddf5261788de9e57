import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import { runPillowtop, startOpsWorker } from './helpers/pillowtop-cli';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { statusQuery } from '../src/workflows/messages';

describe('pillowtop reindex', () => {
  let s: Suite;
  let env: NodeJS.ProcessEnv;
  let couch = '';
  const prefix = 'rx';
  const name = `${prefix}_cases`;

  before(async () => {
    s = await setupSuite('reindex');
    const couchDb = await s.couchDb('rx');
    couch = couchDb;
    env = await startOpsWorker(s, { prefix, couchDb, extra: { OPS_SLOW_MS: '100' } });
    await writeDocs(
      s.couchUrl,
      couchDb,
      Array.from({ length: 400 }, (_, i) => caseDoc(i)),
    );
  });
  after(() => s.cleanup());

  const rows = async () => Number((await s.pool.query(`SELECT count(*) n FROM ${prefix}_index`)).rows[0].n);

  test('backfills every doc with the live pillow stopped, then completes; a second run starts over', async () => {
    const first = await runPillowtop(['reindex', name], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /pillow\/rx_cases\/reindex: done: 400 processed, 0 failed/);
    assert.equal(await rows(), 400);
    const second = await runPillowtop(['reindex', name], env);
    assert.match(second.stdout, /done: 400 processed/, 'a finished reindex is not resumed: it starts from zero');
  });

  test('a reindex stopped half-way resumes where it was', async () => {
    // docs marked slow take the fixture's slowProbe 2 × 100 ms a batch, so that the cancel (seen by
    // the activity at its next heartbeat) lands while the reindex is still half-way
    await writeDocs(
      s.couchUrl,
      couch,
      Array.from({ length: 2600 }, (_, i) => ({ ...caseDoc(400 + i), slow: true })),
    );
    const started = await runPillowtop(['reindex', name, '--detach'], env);
    assert.equal(started.code, 0, started.stderr);
    const handle = s.client.workflow.getHandle(`pillow/${name}/reindex`);
    await eventually('some batches done', async () => (await handle.query(statusQuery)).processed >= 50);
    await handle.cancel();
    await handle.result().catch(() => undefined);
    const resumed = await runPillowtop(['reindex', name], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    const processed = Number(/done: (\d+) processed/.exec(resumed.stdout)?.[1]);
    assert.ok(processed < 3000 && processed > 0, `resumed from the stored checkpoint (processed ${processed} of 3000)`);
    assert.equal(await rows(), 3000);
  });

  test('unknown pillow: one line naming the known ones', async () => {
    const r = await runPillowtop(['reindex', 'nope'], env);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown pillow "nope"; known pillows: rx_cases/);
  });
});
