import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { setupSuite, eventually, cancelAndWait, testEnv, type Suite } from './helpers/harness';
import { assertSinkMatchesSource } from './helpers/faults-check';
import { ROOT, runPillowtop, spawnNode, spawnPillowtop, type CollectedChild } from './helpers/pillowtop-cli';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { loadConfig } from '../src/config/load-config';
import { resolvePillow } from '../src/config/pillow-definition';
import { startPillow } from '../src/operations/start-pillow';
import { retryChangeId } from '../src/temporal/retry-change-id';
import { retryStatusQuery } from '../src/workflows/messages';
import { pillowWorkflowId } from '../src/workflows/ids';
import type { DeploymentView } from '../src/operations/worker-deployment';
import type { Doc } from '../src/types';

const VERSIONS_CONFIG = path.join(ROOT, 'test', 'fixtures', 'versions.config.ts');
const NEXT_WORKER = path.join(ROOT, 'test', 'fixtures', 'next-release', 'worker.ts');
const OLD = 'release-1';
const NEW = 'release-2';
const { VersioningBehavior } = temporal.api.enums.v1;

/** The next release's worker: `pillowtop worker` with another workflow bundle (test/fixtures/next-release). */
function spawnNextWorker(env: NodeJS.ProcessEnv): CollectedChild {
  return spawnNode(['--import', 'tsx', NEXT_WORKER], env);
}

/** Waits for a worker child's "worker started" log line (it bundles or loads the workflow code first). */
async function started(child: CollectedChild, what: string): Promise<void> {
  let exited = false;
  void child.exit.then(() => (exited = true));
  await eventually(
    `${what} started`,
    async () => {
      if (exited) throw new Error(`${what} exited: ${child.err().slice(-1500)}`);
      return child.err().includes('"msg":"worker started"');
    },
    180_000,
  );
}

/**
 * A release without stopping pillows (Worker Deployment versioning): pillows run on the workers of
 * release 1; the workers of release 2, whose workflow code has a change behind `patched()`, start
 * polling and get nothing until release 2 is made current; then every pillow moves to them at its
 * next workflow task, release 1's worker is retired with SIGTERM, and nothing stops or is lost.
 */
describe('worker versioning: releasing a new version while pillows run', () => {
  let s: Suite;
  const children: CollectedChild[] = [];
  const prefix = `ver${process.pid}`;
  const cases = `${prefix}_cases`;
  const forms = `${prefix}_forms`;
  const notes = `${prefix}_notes`;
  const dbs: Record<'cases' | 'forms' | 'notes', string> = { cases: '', forms: '', notes: '' };
  const revs = new Map<string, string>();
  const write = async (db: string, docs: Doc[]) => {
    const key = (d: Doc) => `${db}/${d._id as string}`;
    const withRevs = docs.map((d) => (revs.get(key(d)) ? { ...d, _rev: revs.get(key(d)) } : d));
    for (const [id, r] of await writeDocs(s.couchUrl, db, withRevs)) revs.set(`${db}/${id}`, r);
  };
  let env: NodeJS.ProcessEnv;

  before(async () => {
    s = await setupSuite('versions');
    dbs.cases = await s.couchDb('ver_cases');
    dbs.forms = await s.couchDb('ver_forms');
    dbs.notes = await s.couchDb('ver_notes');
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: s.temporalAddress,
      PILLOWTOP_TASK_QUEUE: s.taskQueue,
      PILLOWTOP_CONFIG: VERSIONS_CONFIG,
      // a deployment of its own: suites sharing the dev server never move each other's current version
      PILLOWTOP_DEPLOYMENT_NAME: `pt-${prefix}-${Date.now().toString(36)}`,
      PILLOWTOP_METRICS_PORT: '0',
      PILLOWTOP_LOG_LEVEL: 'info',
      COUCH_URL: s.couchUrl,
      DATABASE_URL: s.databaseUrl,
      VERSIONS_PREFIX: prefix,
      VERSIONS_CASES_DB: dbs.cases,
      VERSIONS_FORMS_DB: dbs.forms,
      VERSIONS_NOTES_DB: dbs.notes,
    };
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await s.cleanup();
  });

  test('pillows move to the new version when it becomes current; the old one retires; nothing is lost', async () => {
    const pillowIds = [pillowWorkflowId(cases), pillowWorkflowId(forms, 0), pillowWorkflowId(forms, 1)];
    const notesId = pillowWorkflowId(notes);
    const allIds = [...pillowIds, notesId];
    const describeWf = (id: string) => s.client.workflow.getHandle(id).describe();
    const buildOf = (d: WorkflowExecutionDescription) =>
      d.raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId ?? null;
    const deployStatus = async () => {
      const r = await runPillowtop(['deploy', 'status', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as DeploymentView;
    };
    /** The forms (both partitions) and notes sinks equal their sources (cases also waits on its bad doc). */
    const formsAndNotesMatchSources = async () => {
      for (let p = 0; p < 2; p++)
        await assertSinkMatchesSource({
          pool: s.pool,
          couchUrl: s.couchUrl,
          db: dbs.forms,
          table: `${prefix}_forms_mirror`,
          pillowKey: `${forms}/p${p}`,
        });
      await assertSinkMatchesSource({
        pool: s.pool,
        couchUrl: s.couchUrl,
        db: dbs.notes,
        table: `${prefix}_notes_mirror`,
        pillowKey: notes,
      });
    };
    /** Every workflow task of a history: the build id and behaviour its worker reported. */
    const tasksOf = async (workflowId: string, runId?: string) => {
      const history = await s.client.workflow.getHandle(workflowId, runId).fetchHistory();
      return (history.events ?? [])
        .map((e) => e.workflowTaskCompletedEventAttributes)
        .filter((a): a is NonNullable<typeof a> => !!a)
        .map((a) => ({ buildId: a.deploymentVersion?.buildId ?? null, behavior: a.versioningBehavior ?? null }));
    };

    // the next release's workflow code, bundled once: its worker runs it, and histories are replayed on it
    const nextBundle = path.join(testEnv('PILLOWTOP_TEST_DIR'), `next-release-${process.pid}.js`);
    const bundling = bundleWorkflowCode({
      workflowsPath: require.resolve('../src/workflows'),
      workflowInterceptorModules: [require.resolve('./fixtures/next-release/interceptors')],
    }).then((b) => writeFileSync(nextBundle, b.code));

    // release 1: its worker polls, and is made current (a versioned worker gets nothing before)
    const oldWorker = spawnPillowtop(['worker'], { ...env, PILLOWTOP_BUILD_ID: OLD });
    children.push(oldWorker);
    await started(oldWorker, `worker ${OLD}`);
    const first = await runPillowtop(['deploy', 'set-current', '--build-id', OLD, '--wait', '60'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`: current version \\(unversioned workers\\) -> ${OLD}$`, 'm'));

    const bad = { ...caseDoc(5, 1), properties: { age: 'forty' } };
    await write(dbs.cases, [...Array.from({ length: 40 }, (_, i) => caseDoc(i)).filter((d) => d._id !== bad._id), bad]);
    await write(
      dbs.forms,
      Array.from({ length: 40 }, (_, i) => caseDoc(i)),
    );
    await write(
      dbs.notes,
      Array.from({ length: 30 }, (_, i) => caseDoc(i)),
    );
    // notes continues as new every 3 batches (a long-lived pillow's runs, shortened), the rest as configured
    Object.assign(process.env, { VERSIONS_PREFIX: prefix, VERSIONS_NOTES_DB: dbs.notes });
    const notesDef = loadConfig(VERSIONS_CONFIG).find((p) => p.name === notes)!;
    const [notesFirst] = await startPillow(s.client, resolvePillow(notesDef, { COUCH_URL: s.couchUrl }), s.taskQueue, {
      continueAsNewAfterBatches: 3,
    });
    const start = await runPillowtop(['start', '--all'], env);
    assert.equal(start.code, 0, start.stderr);

    const retryId = retryChangeId(cases, bad._id as string);
    await eventually('the bad doc parked in its retryChange workflow', async () => {
      const st = await s.client.workflow.getHandle(retryId).query(retryStatusQuery);
      return st.state === 'parked';
    });

    // release 2's worker polls the same task queue; release 1 stays current
    await bundling;
    const newWorker = spawnNextWorker({ ...env, PILLOWTOP_BUILD_ID: NEW, NEXT_RELEASE_BUNDLE: nextBundle });
    children.push(newWorker);
    await started(newWorker, `worker ${NEW}`);
    await eventually('release 2 known to the deployment, not current', async () => {
      const view = await deployStatus();
      return view.current === OLD && view.versions.some((v) => v.buildId === NEW && v.status === 'inactive');
    });
    await write(
      dbs.forms,
      Array.from({ length: 20 }, (_, i) => caseDoc(100 + i)),
    );
    await write(
      dbs.notes,
      Array.from({ length: 20 }, (_, i) => caseDoc(100 + i)),
    );
    await formsAndNotesMatchSources();
    // everything so far ran on release 1: the new worker got no task before it was made current
    assert.doesNotMatch(newWorker.err(), /"msg":"batch"/, 'release 2 wrote no batch');
    for (const id of allIds)
      assert.equal((await describeWf(id)).memo?.release, undefined, `${id}: the new workflow code has not run`);
    // (notes' current run may be a moment old and have no task yet: its history says what ran it)
    for (const id of allIds)
      for (const t of await tasksOf(id))
        assert.deepEqual(t, { buildId: OLD, behavior: VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE }, id);

    // the release: release 2 becomes current
    const notesRunsBefore = (await s.status(notes)).runs;
    const switched = await runPillowtop(['deploy', 'set-current', '--build-id', NEW], env);
    assert.equal(switched.code, 0, switched.stderr);
    assert.match(switched.stdout, new RegExp(`: current version ${OLD} -> ${NEW}$`, 'm'));

    // every running pillow takes its next workflow task on release 2, and runs its new code
    await eventually(
      'every pillow on release 2, running the new workflow code',
      async () => {
        for (const id of allIds) {
          const d = await describeWf(id);
          if (d.status.name !== 'RUNNING' || buildOf(d) !== NEW || d.memo?.release !== 'next') return false;
        }
        return true;
      },
      60_000,
    );
    // release 1 keeps no pinned workflow: its workers may go
    const draining = await eventually<DeploymentView | null>('release 1 has no pinned workflow left', async () => {
      const view = await deployStatus();
      const old = view.versions.find((v) => v.buildId === OLD);
      return view.current === NEW && old?.pinned === 0 && old.status !== 'current' ? view : null;
    });
    assert.ok(['draining', 'drained'].includes(draining!.versions.find((v) => v.buildId === OLD)!.status));
    const text = await runPillowtop(['deploy', 'status'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`current version ${NEW}`));

    // retire release 1
    oldWorker.kill('SIGTERM');
    assert.equal(await oldWorker.exit, 0, `release 1's worker stopped cleanly: ${oldWorker.err().slice(-1000)}`);

    // the pillows go on: new docs, new revisions, and the bad doc fixed; every sink ends equal to its source
    const more = (from: number) => Array.from({ length: 25 }, (_, i) => caseDoc(from + i));
    const revised = Array.from({ length: 10 }, (_, i) => caseDoc(i * 3 + 1, 2));
    await write(dbs.cases, [...more(200), ...revised, caseDoc(5, 2)]);
    await write(dbs.forms, [...more(200), ...revised]);
    await write(dbs.notes, [...more(200), ...revised]);
    await assertSinkMatchesSource({
      pool: s.pool,
      couchUrl: s.couchUrl,
      db: dbs.cases,
      table: `${prefix}_cases_mirror`,
      indexTable: `${prefix}_cases_index`,
      pillowKey: cases,
    });
    await formsAndNotesMatchSources();
    // the change parked on release 1 was resolved on release 2 (AUTO_UPGRADE: not stranded)
    const resolved = await s.client.workflow.getHandle(retryId).result();
    assert.equal(resolved.state, 'resolved');
    // an operator's runDocs runs on the current version (release 1 has no worker any more)
    const runDocs = await runPillowtop(['run-docs', cases, caseDoc(7)._id as string], env);
    assert.equal(runDocs.code, 0, runDocs.stderr + runDocs.stdout);
    assert.match(newWorker.err(), /"msg":"batch"/, 'release 2 writes the batches now');
    for (const id of allIds) assert.equal((await describeWf(id)).status.name, 'RUNNING', `${id} never stopped`);
    assert.ok((await s.status(notes)).runs > notesRunsBefore, 'notes continued as new on release 2');

    // histories begun on release 1 replay on release 2's code (its patched() change included)
    const histories: { workflowId: string; history: temporal.api.history.v1.IHistory }[] = [];
    for (const id of [...pillowIds, retryId]) {
      const tasks = await tasksOf(id);
      assert.equal(tasks[0].buildId, OLD, `${id} began on ${OLD}`);
      assert.equal(tasks.at(-1)?.buildId, NEW, `${id} went on on ${NEW}`);
      histories.push({ workflowId: id, history: await s.client.workflow.getHandle(id).fetchHistory() });
    }
    const notesRun1 = await s.client.workflow.getHandle(notesId, notesFirst.runId).fetchHistory();
    histories.push({ workflowId: `${notesId} (first run)`, history: notesRun1 });
    histories.push({
      workflowId: `${notesId} (now)`,
      history: await s.client.workflow.getHandle(notesId).fetchHistory(),
    });
    let replayed = 0;
    for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: nextBundle } }, histories)) {
      assert.equal(r.error, undefined, `${r.workflowId} replays on ${NEW}: ${r.error?.message}`);
      replayed++;
    }
    assert.equal(replayed, histories.length);

    for (const id of allIds) await cancelAndWait(s.client, id);
    newWorker.kill('SIGTERM');
    assert.equal(await newWorker.exit, 0);
  });
});
