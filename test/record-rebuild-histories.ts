/**
 * Records `rebuild` workflow histories for the replay test (test/replay.test.ts): one that runs to
 * the end (backfill, swap, grace, drop) and one cancelled. Run it when the rebuild workflow changes
 * in a way worth pinning, and commit the new files:
 *   node --import tsx test/run-tests.ts test/record-rebuild-histories.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setupSuite, eventually } from './helpers/harness';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresTable } from '../src/processors/postgres-table';
import { rebuildWorkflowId } from '../src/workflows/rebuild-types';

const OUT = path.join(__dirname, 'fixtures', 'histories');
const stamp = new Date().toISOString().slice(0, 16).replace(':', '');

test('record rebuild histories', { timeout: 240_000 }, async () => {
  const s = await setupSuite('record_rebuild');
  try {
    const db = await s.couchDb('recrb');
    await s.startWorker([
      {
        name: 'recrb',
        source: { db },
        batchSize: 20,
        longPollSeconds: 1,
        processors: [postgresTable({ table: 'recrb_index', columns: [{ name: 'owner_id', type: 'text' }] })],
      },
    ]);
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 200 }, (_, i) => caseDoc(i)),
    );
    await s.startPillowCli('recrb');
    await eventually('caught up', async () => (await s.status('recrb')).status === 'idle', 60_000);
    const processor = 'postgresTable:recrb_index';
    const workflowId = rebuildWorkflowId('recrb', processor);
    const write = (file: string, history: unknown) => {
      assert.ok(!existsSync(path.join(OUT, file)), `${file} exists already`);
      writeFileSync(path.join(OUT, file), JSON.stringify(history));
    };
    const done = await s.client.workflow.start('rebuild', {
      workflowId,
      taskQueue: s.taskQueue,
      args: [{ name: 'recrb', processor, graceSeconds: 1 }],
    });
    assert.equal((await done.result()).phase, 'done');
    write(`rebuild-${stamp}-done.json`, await done.fetchHistory());
    const cancelled = await s.client.workflow.start('rebuild', {
      workflowId,
      taskQueue: s.taskQueue,
      args: [{ name: 'recrb', processor, graceSeconds: 1 }],
    });
    await cancelled.cancel();
    await assert.rejects(cancelled.result());
    write(`rebuild-${stamp}-cancelled.json`, await cancelled.fetchHistory());
  } finally {
    await s.cleanup();
  }
});
