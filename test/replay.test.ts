import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { testEnv } from './helpers/harness';

const DIR = path.join(__dirname, 'fixtures', 'histories');

// Histories recorded from real runs (test/record-histories.ts). The current workflow code must
// replay every one of them: a pillow started by older code is still running somewhere.
test('committed workflow histories replay with the current workflow code', async () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
  assert.ok(
    files.some((f) => f.startsWith('pillow-')) && files.some((f) => f.startsWith('retryChange-')),
    'fixtures for both workflow types exist',
  );
  const histories = files.map((f) => ({
    workflowId: f,
    // written with JSON.stringify of the fetched history (protobufjs's JSON form: longs and enums as strings)
    history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(DIR, f), 'utf8'))),
  }));
  const results = Worker.runReplayHistories(
    { workflowBundle: { code: readFileSync(testEnv('PILLOWTOP_TEST_WORKFLOW_BUNDLE'), 'utf8') } },
    histories,
  );
  let replayed = 0;
  for await (const result of results) {
    assert.equal(result.error, undefined, `${result.workflowId} replays: ${result.error?.message}`);
    replayed++;
  }
  assert.equal(replayed, files.length);
});
