import { after, afterEach, before, describe, test } from 'node:test';
import nano from 'nano';
import { readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { setupSuite, eventually, cancelAndWait, testEnv, type Suite } from './helpers/harness';
import { assertSinkMatchesSource } from './helpers/faults-check';
import { reportTally, tally } from './helpers/faults-tally';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { partitionOf } from '../src/partition-hash';
import { resolvePillow, type PillowDefinition } from '../src/config/pillow-definition';
import { startPillow } from '../src/operations/start-pillow';
import { listCheckpoints } from '../src/checkpoint';
import { pillowWorkflowId } from '../src/workflows/ids';
import type { RunningWorker } from '../src/worker/start-worker';
import type { Doc, Processor } from '../src/types';
import type { PillowStatusView } from '../src/workflows/types';
import type { PillowStatusRow } from '../src/operations/pillow-status';
import { OPS_CONFIG, opsEnv, runPillowtop } from './helpers/pillowtop-cli';
import { loadConfig } from '../src/config/load-config';

/**
 * Rolling deploys and config changes: workers that do not know a pillow (or one of its partitions)
 * share a task queue with workers that do; the partition count changes between runs.
 */
describe('rolling deploys and partition count changes', () => {
  let s: Suite;
  const revs = new Map<string, string>();
  /** Writes docs (new ones, or new revisions of earlier ones) and remembers their revisions. */
  const write = async (db: string, docs: Doc[]) => {
    const rev = (d: Doc) => revs.get(`${db}/${d._id as string}`);
    const withRevs = docs.map((d) => (rev(d) ? { ...d, _rev: rev(d) } : d));
    for (const [id, r] of await writeDocs(s.couchUrl, db, withRevs)) revs.set(`${db}/${id}`, r);
  };
  const mirrorCount = async (table: string) =>
    Number((await s.pool.query(`SELECT count(*) n FROM ${table}`)).rows[0].n);
  const workflowStatus = async (id: string) => (await s.client.workflow.getHandle(id).describe()).status.name;
  /** The new code paths (patched) replay deterministically: the workflow's own history, replayed now. */
  const assertReplays = async (workflowId: string) => {
    const history = await s.client.workflow.getHandle(workflowId).fetchHistory();
    const code = readFileSync(testEnv('PILLOWTOP_TEST_WORKFLOW_BUNDLE'), 'utf8');
    await Worker.runReplayHistory({ workflowBundle: { code } }, history, workflowId);
  };
  const head = async (db: string) => String((await nano(s.couchUrl).db.get(db)).update_seq);
  // each test leaves no worker behind: one that lacks the next test's pillows would only slow it down
  const workers: RunningWorker[] = [];
  const startWorker = async (pillows: PillowDefinition[]) => {
    const w = await s.startWorker(pillows);
    workers.push(w);
    return w;
  };
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  before(async () => {
    s = await setupSuite('rolling');
  });
  after(async () => {
    await s.cleanup();
    reportTally(__filename);
  });

  /** The pillow `name` mirroring `db` into `<name>_mirror`, in the given number of partitions. */
  const mirrorPillow =
    (name: string, db: string, batchSize: number) =>
    (partitions: number): PillowDefinition => ({
      name,
      source: { db, url: s.couchUrl },
      batchSize,
      longPollSeconds: 1,
      partitions,
      processors: [postgresMirror({ table: `${name}_mirror` })],
    });

  test('a worker that does not know the pillow leaves it to one that does, and status says so meanwhile', async () => {
    const db = await s.couchDb('rd_known');
    const pillow: PillowDefinition = {
      name: 'rd_known',
      source: { db, url: s.couchUrl },
      batchSize: 20,
      longPollSeconds: 1,
      processors: [postgresMirror({ table: 'rd_known_mirror' })],
    };
    const other: PillowDefinition = { ...pillow, name: 'rd_other', processors: [] };
    await write(
      db,
      Array.from({ length: 50 }, (_, i) => caseDoc(i)),
    );
    // an old worker, deployed before the pillow existed, is the only one on the queue at first
    await startWorker([other]);
    tally.faults += 1;
    await s.startPillowCli('rd_known');
    const waiting = await s.eventuallyFor<PillowStatusView | null>(
      'pillow/rd_known',
      'failing while no worker knows it',
      async () => {
        const st = await s.status('rd_known');
        return st.status === 'failing' ? st : null;
      },
    );
    assert.match(
      String(waiting?.lastError),
      /^worker \S+ does not know pillow "rd_known" \(known: rd_other\); waiting for a worker that does$/,
    );
    assert.equal(await workflowStatus('pillow/rd_known'), 'RUNNING');

    // the new worker joins; the old one keeps polling the same queue
    await startWorker([pillow, other]);
    await eventually('all 50 docs mirrored', async () => (await mirrorCount('rd_known_mirror')) === 50, 60_000);
    await write(
      db,
      Array.from({ length: 30 }, (_, i) => caseDoc(100 + i)),
    );
    await assertSinkMatchesSource({
      pool: s.pool,
      couchUrl: s.couchUrl,
      db,
      table: 'rd_known_mirror',
      pillowKey: 'rd_known',
    });
    assert.equal(await workflowStatus('pillow/rd_known'), 'RUNNING', 'never failed for good');
    await cancelAndWait(s.client, 'pillow/rd_known');
    await assertReplays('pillow/rd_known');
  });

  test('a worker that has fewer partitions leaves the partition to one that has it', async () => {
    const db = await s.couchDb('rd_part');
    const def = mirrorPillow('rd_part', db, 20);
    const docs = Array.from({ length: 60 }, (_, i) => caseDoc(i));
    await write(db, docs);
    const old = await startWorker([def(2)]);
    // the plain Temporal CLI start names no partition count: the describing worker's config decides
    await s.temporalCli([
      'workflow',
      'start',
      '--type',
      'pillow',
      '--task-queue',
      s.taskQueue,
      '--workflow-id',
      'pillow/rd_part/p2',
      '--input',
      JSON.stringify({ name: 'rd_part', partition: 2 }),
    ]);
    const waiting = await eventually<PillowStatusView | null>(
      'partition 2 failing while no worker has it',
      async () => {
        const st = await s.status('rd_part', 2);
        return st.status === 'failing' ? st : null;
      },
    );
    assert.match(String(waiting?.lastError), /has pillow "rd_part" in 2 partition\(s\), so no partition 2; waiting/);
    await startWorker([def(3)]);
    const share = docs.filter((d) => partitionOf(d._id as string, 3) === 2).length;
    await eventually(
      'partition 2 of 3 writes its share',
      async () => (await mirrorCount('rd_part_mirror')) === share,
      60_000,
    );
    // the count arrives when the slice returns, a moment after its rows commit
    await eventually('partition 2 counted its share', async () => (await s.status('rd_part', 2)).processed >= share);
    const st = await s.status('rd_part', 2);
    assert.equal(st.partitions, 3);
    assert.equal(st.processed, share);
    await cancelAndWait(s.client, 'pillow/rd_part/p2');
    await old.stop();
  });

  test('partitions 1 → 2 → 3 → 1 with docs written between the changes: no doc is skipped', async () => {
    const db = await s.couchDb('rd_layout');
    const name = 'rd_layout';
    const table = 'rd_layout_mirror';
    const def = mirrorPillow(name, db, 25);
    const ids = (partitions: number) =>
      partitions > 1 ? [...Array(partitions).keys()].map((p) => pillowWorkflowId(name, p)) : [pillowWorkflowId(name)];
    let worker: RunningWorker | null = null;
    let round = 0;
    /** Deploys `partitions`, starts every workflow, and waits until the sink matches the source. */
    const deploy = async (partitions: number) => {
      tally.faults += 1;
      await worker?.stop();
      worker = await startWorker([def(partitions)]);
      await startPillow(s.client, resolvePillow(def(partitions)), s.taskQueue);
      for (const id of ids(partitions))
        await assertSinkMatchesSource({ pool: s.pool, couchUrl: s.couchUrl, db, table, pillowKey: id.slice(7) });
    };
    /** New docs and new revisions of old ones, written while one partition is stopped and falls behind. */
    const writeWhileOneIsBehind = async (partitions: number) => {
      round += 1;
      if (partitions > 1) await cancelAndWait(s.client, pillowWorkflowId(name, partitions - 1));
      await write(db, [
        ...Array.from({ length: 40 }, (_, i) => caseDoc(round * 1000 + i)),
        ...Array.from({ length: 40 }, (_, i) => caseDoc(i, round)),
      ]);
      // the running partitions move past these docs; the stopped one stays before them
      const at = await head(db);
      if (partitions > 1)
        await eventually('the running partitions caught up', async () => {
          for (let p = 0; p < partitions - 1; p++) if ((await s.status(name, p)).checkpoint !== at) return false;
          return true;
        });
      for (const id of ids(partitions)) await cancelAndWait(s.client, id);
    };

    await write(
      db,
      Array.from({ length: 40 }, (_, i) => caseDoc(i)),
    );
    await deploy(1);
    await writeWhileOneIsBehind(1);
    await deploy(2);
    await writeWhileOneIsBehind(2);
    await deploy(3);
    // the partitions that had a checkpoint of 2 read their share of 3 again from 0, and say so in history
    const history = await listCheckpoints(s.pool, `${name}/p0`);
    assert.ok(
      history.some((h) => h.reason === 'partition layout changed: now 3 partitions, reading from 0'),
      JSON.stringify(history),
    );
    await writeWhileOneIsBehind(3);
    await deploy(1);
    assert.equal(await mirrorCount(table), 40 * 4, 'every doc once');
    await write(
      db,
      Array.from({ length: 10 }, (_, i) => caseDoc(9000 + i)),
    );
    await assertSinkMatchesSource({ pool: s.pool, couchUrl: s.couchUrl, db, table, pillowKey: name });
    for (const id of ids(1)) await cancelAndWait(s.client, id);
  });

  test('a partition left running under the old count keeps its own share while the new ones start', async () => {
    const db = await s.couchDb('rd_mixed');
    const name = 'rd_mixed';
    const table = 'rd_mixed_mirror';
    const def = mirrorPillow(name, db, 25);
    await write(
      db,
      Array.from({ length: 60 }, (_, i) => caseDoc(i)),
    );
    const old = await startWorker([def(2)]);
    // continuing as new every few batches: the count must survive it
    await startPillow(s.client, resolvePillow(def(2)), s.taskQueue, { continueAsNewAfterBatches: 3 });
    await eventually('60 docs', async () => (await mirrorCount(table)) === 60);
    // the config goes to 3 and the workers are replaced; p0 and p1 keep running as they were
    await startWorker([def(3)]);
    await old.stop();
    const started = await startPillow(s.client, resolvePillow(def(3)), s.taskQueue);
    assert.deepEqual(
      started.map((r) => r.started),
      [false, false, true],
    );
    await write(db, [
      ...Array.from({ length: 60 }, (_, i) => caseDoc(500 + i)),
      ...Array.from({ length: 60 }, (_, i) => caseDoc(i, 1)),
    ]);
    for (let p = 0; p < 3; p++)
      await assertSinkMatchesSource({ pool: s.pool, couchUrl: s.couchUrl, db, table, pillowKey: `${name}/p${p}` });
    const p0 = await eventually<PillowStatusView | null>('p0 continued as new', async () => {
      const st = await s.status(name, 0);
      return st.runs > 1 ? st : null;
    });
    assert.equal(p0?.partitions, 2, 'p0 still runs under 2, across continue-as-new');
    assert.equal((await s.status(name, 2)).partitions, 3);
    for (let p = 0; p < 3; p++) await cancelAndWait(s.client, pillowWorkflowId(name, p));
    await assertReplays(pillowWorkflowId(name, 0));
  });

  test('a stop reaches a busy batch at once: `temporal workflow start` 3 s after a cancel finds it stopped', async () => {
    const db = await s.couchDb('rd_stop');
    const name = 'rd_stop';
    let busy = false;
    const slowOnce = new Set<string>();
    // holds its batch for 15 s (ignoring the abort) the first time it meets a doc marked slow
    const slow: Processor = {
      name: 'slowOnce',
      async processBatch(changes) {
        const first = changes.filter((c) => c.doc?.slow === true && !slowOnce.has(c.id));
        if (first.length === 0) return;
        first.forEach((c) => slowOnce.add(c.id));
        busy = true;
        await new Promise((r) => setTimeout(r, 15_000).unref());
      },
    };
    await startWorker([
      {
        name,
        source: { db, url: s.couchUrl },
        batchSize: 20,
        longPollSeconds: 20,
        // first, so that the abandoned transaction holds no row locks while it sleeps
        processors: [slow, postgresMirror({ table: 'rd_stop_mirror' })],
      },
    ]);
    /**
     * The operator's two commands, 3 s apart. A start while the old run is still stopping either fails
     * (already running) or, with the Temporal CLI 1.5, hands back that dying run: either way no new run.
     */
    const stopThenStart = async () => {
      tally.faults += 1;
      const handle = s.client.workflow.getHandle(`pillow/${name}`);
      const before = (await handle.describe()).runId;
      await s.temporalCli(['workflow', 'cancel', '--workflow-id', `pillow/${name}`]);
      await new Promise((r) => setTimeout(r, 3000)); // the operator's pause between the two commands
      await s.startPillowCli(name);
      const after = await handle.describe();
      assert.notEqual(after.runId, before, 'the start made a new run: the old one had stopped within 3 s');
      assert.equal(after.status.name, 'RUNNING');
      assert.equal((await s.client.workflow.getHandle(`pillow/${name}`, before).describe()).status.name, 'CANCELLED');
    };
    await write(db, [{ ...caseDoc(1), slow: true }]);
    await s.startPillowCli(name);
    await eventually('the batch is busy in the slow processor', async () => busy);

    await stopThenStart();

    await write(db, [caseDoc(2)]);
    await assertSinkMatchesSource({ pool: s.pool, couchUrl: s.couchUrl, db, table: 'rd_stop_mirror', pillowKey: name });
    assert.equal(await workflowStatus(`pillow/${name}`), 'RUNNING');

    // the same for a batch long-polling a quiet feed (20 s)
    await eventually('idle', async () => (await s.status(name)).status === 'idle');
    await stopThenStart();
    await write(db, [caseDoc(3)]);
    await assertSinkMatchesSource({ pool: s.pool, couchUrl: s.couchUrl, db, table: 'rd_stop_mirror', pillowKey: name });
    await cancelAndWait(s.client, `pillow/${name}`);
  });

  test('`pillowtop status` and `start` report workflows left running under an old layout', async () => {
    const db = await s.couchDb('rd_ops');
    const prefix = 'rdops';
    const forms = `${prefix}_forms`; // 2 partitions in the ops config
    const env = opsEnv({
      prefix,
      couchDb: db,
      couchUrl: s.couchUrl,
      databaseUrl: s.databaseUrl,
      taskQueue: s.taskQueue,
    });
    Object.assign(process.env, { OPS_PREFIX: prefix, OPS_COUCH_DB: db });
    await startWorker(loadConfig(OPS_CONFIG));
    const startRaw = (workflowId: string, input: object) =>
      s.client.workflow.start('pillow', { workflowId, taskQueue: s.taskQueue, args: [{ name: forms, ...input }] });
    // what an earlier config left running: the unpartitioned id, a third partition, and p0 split in 3
    await startRaw(`pillow/${forms}`, {});
    await startRaw(`pillow/${forms}/p2`, { partition: 2, partitions: 3 });
    await startRaw(`pillow/${forms}/p0`, { partition: 0, partitions: 3 });
    await eventually('p0 answers its status', async () => (await s.status(forms, 0)).partitions === 3);

    const stop = (id: string) => `stop it with \`temporal workflow cancel --workflow-id ${id}\``;
    const started = await eventually<string | null>(
      'start reports both leftovers (visibility catches up)',
      async () => {
        const r = await runPillowtop(['start', forms], env);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout.includes(`pillow/${forms}/p2:`) && r.stdout.includes(`pillow/${forms}:`) ? r.stdout : null;
      },
    );
    assert.ok(started);
    assert.match(started, new RegExp(`^pillow/${forms}/p0: already running`, 'm'));
    assert.match(started, new RegExp(`^pillow/${forms}/p1: (started|already running)`, 'm'));
    assert.ok(
      started.includes(
        `pillow/${forms}/p0: left running under an old layout (it runs under 3 partitions, the config has 2 partitions): ${stop(`pillow/${forms}/p0`)} and start it again with \`pillowtop start ${forms}\``,
      ),
      started,
    );
    assert.ok(
      started.includes(
        `pillow/${forms}/p2: left running under an old layout (the config has 2 partitions): ${stop(`pillow/${forms}/p2`)}`,
      ),
      started,
    );
    assert.ok(started.includes(`pillow/${forms}: left running under an old layout (the config has 2 partitions)`));

    const text = await runPillowtop(['status', forms], env);
    assert.equal(text.code, 0, text.stderr);
    for (const id of [`pillow/${forms}`, `pillow/${forms}/p0`, `pillow/${forms}/p2`])
      assert.match(text.stdout, new RegExp(`^${id}: left running under an old layout`, 'm'));
    assert.doesNotMatch(text.stdout, new RegExp(`^pillow/${forms}/p1: left running`, 'm'));

    const json = await runPillowtop(['status', forms, '--json'], env);
    const rows = (JSON.parse(json.stdout) as { pillows: PillowStatusRow[] }).pillows;
    const byId = new Map(rows.map((r) => [r.workflowId, r]));
    assert.deepEqual([...byId.keys()].sort(), [`pillow/${forms}`, ...[0, 1, 2].map((p) => `pillow/${forms}/p${p}`)]);
    assert.equal(byId.get(`pillow/${forms}/p1`)?.oldLayout, null);
    assert.match(String(byId.get(`pillow/${forms}/p2`)?.oldLayout), /^left running under an old layout/);
    assert.equal(byId.get(`pillow/${forms}/p2`)?.running, true);
    assert.match(String(byId.get(`pillow/${forms}`)?.oldLayout), /^left running under an old layout/);
    for (const id of byId.keys()) await cancelAndWait(s.client, id);
  });
});
