/**
 * Records workflow histories for the replay test (test/replay.test.ts). Run it when workflow code
 * changes in a way worth pinning, and commit the new files:
 *   node --import tsx test/run-tests.ts test/record-histories.ts
 * Old fixtures stay: running pillows started by older code must keep replaying.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nano from 'nano';
import { setupSuite, eventually, cancelAndWait } from './helpers/harness';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { postgresTable } from '../src/processors/postgres-table';
import { pauseSignal, resumeSignal, rewindSignal, setCheckpointUpdate } from '../src/workflows/messages';
import { retryChangeId } from '../src/temporal/retry-change-id';

const OUT = path.join(__dirname, 'fixtures', 'histories');
// date and time: recording again never overwrites the histories older code left
const stamp = new Date().toISOString().slice(0, 16).replace(':', '');

test('record pillow and retryChange histories', { timeout: 240_000 }, async () => {
  const s = await setupSuite('record');
  try {
    const db = await s.couchDb('record');
    await s.startWorker([
      {
        name: 'rec',
        source: { db },
        batchSize: 10,
        longPollSeconds: 1,
        retry: { attempts: 1, initialIntervalSeconds: 1 },
        processors: [
          postgresMirror({ table: 'rec_mirror' }),
          postgresTable({
            table: 'rec_index',
            columns: [{ name: 'age', type: 'integer', expression: 'properties.age' }],
          }),
        ],
      },
    ]);
    const revs = await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 35 }, (_, i) => caseDoc(i)),
    );
    const bad = { ...caseDoc(3, 1), properties: { age: 'not a number' }, _rev: revs.get('case-00000003') };
    const badRev = (await nano(s.couchUrl).use(db).insert(bad)).rev;

    const handle = await s.client.workflow.start('pillow', {
      workflowId: 'pillow/rec',
      taskQueue: s.taskQueue,
      args: [{ name: 'rec', continueAsNewAfterBatches: 6 }],
    });
    await eventually('caught up', async () => (await s.status('rec')).status === 'idle', 60_000);
    const retryId = retryChangeId('rec', 'case-00000003');
    const retry = s.client.workflow.getHandle(retryId);
    await s.eventuallyFor(
      retryId,
      'parked',
      async () => (await retry.describe()).searchAttributes?.PillowStatus?.[0] === 'parked',
      60_000,
    );

    await handle.signal(pauseSignal);
    await eventually('paused', async () => (await s.status('rec')).status === 'paused');
    await handle.signal(resumeSignal);
    await handle.signal(rewindSignal, { to: 'bogus value with spaces' });
    await handle.signal(rewindSignal, { to: '0' });
    await eventually(
      'rewound and caught up',
      async () => {
        const st = await s.status('rec');
        return st.processed >= 68 && st.status === 'idle'; // 34 good changes, twice
      },
      60_000,
    );
    await handle.executeUpdate(setCheckpointUpdate, { args: [{ seq: '20' }] });
    // moves the source refuses (past its head): the update fails, the signal is ignored
    await assert.rejects(handle.executeUpdate(setCheckpointUpdate, { args: [{ seq: '999999' }] }));
    await handle.signal(rewindSignal, { to: '999999' });
    await eventually('the refused rewind shown', async () => (await s.status('rec')).lastRejectedMove?.to === '999999');
    await handle.signal(rewindSignal, { to: 'now' });
    await eventually('at the head', async () => {
      const info = (await (await fetch(`${s.couchUrl}/${db}`)).json()) as { update_seq: number };
      return (await s.status('rec')).checkpoint === String(info.update_seq);
    });
    // a newer, good revision resolves the parked change
    await nano(s.couchUrl)
      .use(db)
      .insert({ ...caseDoc(3, 2), _rev: badRev });
    await s.eventuallyFor(
      retryId,
      'retry resolved',
      async () => (await retry.describe()).status.name === 'COMPLETED',
      60_000,
    );
    await eventually('idle', async () => (await s.status('rec')).status === 'idle', 60_000);
    await cancelAndWait(s.client, 'pillow/rec');

    const runs: string[] = [];
    for await (const wf of s.client.workflow.list({ query: `WorkflowId = 'pillow/rec'` })) runs.push(wf.runId);
    assert.ok(runs.length >= 2, 'the pillow continued as new at least once');
    const write = (file: string, history: unknown) => {
      assert.ok(!existsSync(path.join(OUT, file)), `${file} exists already`);
      writeFileSync(path.join(OUT, file), JSON.stringify(history));
    };
    for (const [i, runId] of runs.entries()) {
      const history = await s.client.workflow.getHandle('pillow/rec', runId).fetchHistory();
      write(`pillow-${stamp}-run${i}.json`, history);
    }
    write(`retryChange-${stamp}.json`, await retry.fetchHistory());
  } finally {
    await s.cleanup();
  }
});
