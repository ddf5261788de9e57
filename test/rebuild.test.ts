import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import {
  differences,
  sourceWinners,
  startLiveWriter,
  startReaders,
  tableRows,
  tableWinners,
} from './helpers/rebuild-traffic';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { postgresTable, type ColumnMapping } from '../src/processors/postgres-table';
import { resolvePillow, type PillowDefinition } from '../src/config/pillow-definition';
import { rebuildNotes } from '../src/operations/rebuild-status';
import type { RunningWorker } from '../src/worker/start-worker';
import { rebuildWorkflowId } from '../src/workflows/rebuild-types';
import { runPillowtop, startOpsWorker } from './helpers/pillowtop-cli';
import { faultsWorkerEnv, spawnWorker, type FaultsWorkerEnv, type WorkerProcess } from './helpers/faults-worker';
import { createPrometheusMetrics } from '../src/metrics/prometheus';

const DOCS = 20_000;

describe('pillowtop rebuild of a postgresTable', () => {
  let s: Suite;
  let db: string;
  let worker: RunningWorker;
  const prometheus = createPrometheusMetrics();
  let revs: Map<string, string>;
  const name = 'rb';
  const processor = 'postgresTable:rb_index';
  const pillowWith = (age: ColumnMapping['type']): PillowDefinition => ({
    name,
    source: { db },
    batchSize: 500,
    longPollSeconds: 1,
    processors: [
      postgresMirror({ table: 'rb_mirror' }),
      postgresTable({
        table: 'rb_index',
        columns: [
          { name: 'owner_id', type: 'text' },
          { name: 'age', type: age, expression: 'properties.age' },
        ],
      }),
    ],
  });

  const startRebuild = (graceSeconds = 1) =>
    s.client.workflow.start('rebuild', {
      workflowId: rebuildWorkflowId(name, processor),
      taskQueue: s.taskQueue,
      args: [{ name, processor, graceSeconds }],
    });

  const generations = async () =>
    (
      await s.pool.query<{ live_generation: number; building_generation: number | null; state: string }>(
        `SELECT live_generation, building_generation, state FROM pillowtop_generations WHERE pillow = $1 AND processor = $2`,
        [name, processor],
      )
    ).rows[0];
  const tables = async () =>
    (
      await s.pool.query<{ t: string }>(
        `SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'rb_index%' ORDER BY 1`,
      )
    ).rows.map((r) => r.t);

  /** The table and the mirror equal the source's winning revisions once the live pillow has caught up. */
  const converged = () =>
    s.eventuallyFor(
      `pillow/${name}`,
      'rb_index equal to the source',
      async () => differences(await sourceWinners(s.couchUrl, db), await tableWinners(s.pool, 'rb_index')) === '',
      120_000,
    );

  before(async () => {
    s = await setupSuite('rebuild');
    db = await s.couchDb('rb');
    revs = await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: DOCS }, (_, i) => caseDoc(i)),
    );
    worker = await s.startWorker([pillowWith('integer')], { metrics: prometheus.metrics });
    await s.startPillowCli(name);
    await eventually(
      'the live pillow caught up',
      async () => (await tableRows(s.pool, 'rb_index')()) === DOCS,
      180_000,
    );
  });
  after(() => s.cleanup());

  test('readers never see fewer rows while a rebuild runs beside live writes; the end state is the source', async () => {
    const before = await tableRows(s.pool, 'rb_index')();
    assert.equal(before, DOCS);
    const readers = startReaders(tableRows(s.pool, 'rb_index'));
    const writer = startLiveWriter(s.couchUrl, db, revs, DOCS);
    const handle = await startRebuild();
    const result = await handle.result();
    const written = await writer.stop();
    const seen = await readers.stop();
    assert.equal(result.phase, 'done');
    assert.ok(result.done > DOCS / 2, `the backfill wrote ${result.done} docs`);
    // the dashboard's rebuild progress: what the backfill wrote, as the workflow counted it
    const counted = (await prometheus.registry.getSingleMetric('pillowtop_rebuild_docs_total')!.get()).values.find(
      (v) => v.labels.outcome === 'written' && v.labels.processor === 'postgresTable:rb_index',
    );
    assert.equal(counted?.value, result.done, 'pillowtop_rebuild_docs_total{outcome="written"}');
    assert.ok(written > 0);
    assert.deepEqual(seen.errors, [], 'no read failed across the swap');
    assert.ok(seen.reads > 0);
    assert.ok(seen.fewest >= DOCS, `a reader saw ${seen.fewest} rows, fewer than the ${DOCS} the source had`);
    await converged();
    const row = await generations();
    assert.equal(row.live_generation, 2);
    assert.equal(row.state, 'done');
    assert.deepEqual(await tables(), ['rb_index'], 'the old generation is dropped after the grace period');
    const indexes = await s.pool.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'rb_index' ORDER BY 1`);
    assert.deepEqual(
      indexes.rows.map((r) => r.indexname),
      ['rb_index_doc_id_hash', 'rb_index_pkey'],
      "the swapped-in table carries the plain name's index names",
    );
  });

  test('the mirror rebuilds alone, the same way', async () => {
    const liveMirror = async () => {
      const { rows } = await s.pool.query<{ id: string; rev: string }>(
        `SELECT id, rev FROM rb_mirror WHERE NOT deleted`,
      );
      return new Map(rows.map((r) => [r.id, r.rev]));
    };
    const readers = startReaders(async () => (await liveMirror()).size);
    const writer = startLiveWriter(s.couchUrl, db, revs, DOCS);
    const handle = await s.client.workflow.start('rebuild', {
      workflowId: rebuildWorkflowId(name, 'postgresMirror:rb_mirror'),
      taskQueue: s.taskQueue,
      args: [{ name, processor: 'postgresMirror:rb_mirror', graceSeconds: 1 }],
    });
    const result = await handle.result();
    await writer.stop();
    const seen = await readers.stop();
    assert.equal(result.phase, 'done');
    assert.deepEqual(seen.errors, []);
    assert.ok(seen.fewest >= DOCS, `a reader saw ${seen.fewest} rows, fewer than the ${DOCS} the source had`);
    await eventually(
      'rb_mirror equal to the source',
      async () => differences(await sourceWinners(s.couchUrl, db), await liveMirror()) === '',
      120_000,
    );
    const mirrors = await s.pool.query(`SELECT tablename FROM pg_tables WHERE tablename LIKE 'rb_mirror%'`);
    assert.deepEqual(
      mirrors.rows.map((r) => r.tablename),
      ['rb_mirror'],
    );
    assert.equal((await generations()).live_generation, 2, 'the table was not rebuilt by the mirror rebuild');
  });

  test('cancel drops the new generation; the live pillow goes on writing the live table only', async () => {
    // cancelled while the new generation is registered and backfilling (a cancel before registration
    // has nothing to drop: the live generation stays as it was, which the assertions below hold too)
    const handle = await startRebuild();
    await eventually(
      'the new generation registered',
      async () => {
        const row = await generations();
        return row.state === 'building' || row.live_generation !== 2;
      },
      60_000,
    );
    assert.equal((await generations()).state, 'building', 'the 20,000-doc backfill was still running');
    await handle.cancel();
    await assert.rejects(handle.result());
    await eventually('the new generation dropped', async () => (await tables()).join() === 'rb_index');
    const row = await generations();
    assert.equal(row.state, 'cancelled');
    assert.equal(row.live_generation, 2, 'the live generation is untouched');
    await writeDocs(s.couchUrl, db, [caseDoc(DOCS + 50_000)]);
    await converged();
  });

  test('a changed column type is refused by the live table and applied by rebuild', async () => {
    await worker.stop();
    worker = await s.startWorker([pillowWith('text')]);
    // the live table keeps its integer column: the pillow reports the needed rebuild instead of writing
    const changed = await writeDocs(s.couchUrl, db, [{ ...caseDoc(7, 99), _rev: revs.get(caseDoc(7)._id) }]);
    for (const [id, rev] of changed) revs.set(id, rev);
    await s.eventuallyFor(`pillow/${name}`, 'the pillow failing with "needs a rebuild"', async () =>
      /needs a rebuild \(column age integer → text\)/.test((await s.status(name)).lastError ?? ''),
    );
    const notes = await rebuildNotes(s.client, [resolvePillow(pillowWith('text'))], s.pool);
    assert.deepEqual(notes, ['rb: needs rebuild: rb_index (column age integer → text)']);
    const handle = await startRebuild();
    const result = await handle.result();
    assert.equal(result.phase, 'done');
    assert.deepEqual(await rebuildNotes(s.client, [resolvePillow(pillowWith('text'))], s.pool), []);
    const type = await s.pool.query<{ data_type: string }>(
      `SELECT data_type FROM information_schema.columns WHERE table_name = 'rb_index' AND column_name = 'age'`,
    );
    assert.equal(type.rows[0].data_type, 'text');
    await converged();
    await eventually('the pillow running again', async () => (await s.status(name)).status !== 'failing');
  });
});

describe('pillowtop rebuild with its worker killed (SIGKILL) half-way', () => {
  let s: Suite;
  let db: string;
  const name = 'rbkill';
  const table = 'rbkill_mirror';
  const index = `${table}_index`;
  const processor = `postgresTable:${index}`;
  const workers: WorkerProcess[] = [];
  let env: FaultsWorkerEnv;

  before(async () => {
    s = await setupSuite('rbkill');
    db = await s.couchDb('rbkill');
    env = faultsWorkerEnv(s, { name, db, table, batchSize: 500 });
  });
  after(async () => {
    await Promise.allSettled(workers.map((w) => w.kill('SIGKILL')));
    await s.client.workflow
      .getHandle(`pillow/${name}`)
      .terminate()
      .catch(() => undefined);
    await s.cleanup();
  });

  test('the rebuild resumes from its cursor on another worker; readers never see fewer rows; the end is the source', async () => {
    const revs = await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: DOCS }, (_, i) => caseDoc(i)),
    );
    const first = spawnWorker(env);
    workers.push(first);
    await first.ready();
    await s.startPillowCli(name);
    await eventually(
      'the live pillow caught up',
      async () => (await tableRows(s.pool, index)().catch(() => 0)) === DOCS,
      180_000,
    );
    const readers = startReaders(tableRows(s.pool, index));
    const writer = startLiveWriter(s.couchUrl, db, revs, DOCS);
    const handle = await s.client.workflow.start('rebuild', {
      workflowId: rebuildWorkflowId(name, processor),
      taskQueue: s.taskQueue,
      args: [{ name, processor, graceSeconds: 1 }],
    });
    // half-way by the committed cursor's count, then the worker dies without a word
    await s.eventuallyFor(handle.workflowId, 'the backfill half-way', async () => {
      const { rows } = await s.pool.query<{ done: string }>(
        `SELECT done FROM pillowtop_generations WHERE pillow = $1 AND state = 'building'`,
        [name],
      );
      return Number(rows[0]?.done ?? 0) >= DOCS / 4;
    });
    await first.kill('SIGKILL');
    const second = spawnWorker(env);
    workers.push(second);
    await second.ready();
    const result = await handle.result();
    const written = await writer.stop();
    const seen = await readers.stop();
    assert.equal(result.phase, 'done');
    assert.ok(written > 0);
    assert.deepEqual(seen.errors, [], 'no read failed across the swap');
    assert.ok(seen.fewest >= DOCS, `a reader saw ${seen.fewest} rows, fewer than the ${DOCS} the source had`);
    await s.eventuallyFor(
      `pillow/${name}`,
      `${index} equal to the source`,
      async () => differences(await sourceWinners(s.couchUrl, db), await tableWinners(s.pool, index)) === '',
      120_000,
    );
    const tables = await s.pool.query(`SELECT tablename FROM pg_tables WHERE tablename LIKE '${index}%'`);
    assert.deepEqual(
      tables.rows.map((r) => r.tablename),
      [index],
    );
  });
});

describe('the pillowtop rebuild command', () => {
  let s: Suite;
  let env: NodeJS.ProcessEnv;
  const prefix = 'rbc';
  const name = `${prefix}_cases`;

  before(async () => {
    s = await setupSuite('rebuild_cli');
    const couchDb = await s.couchDb('rbc');
    env = await startOpsWorker(s, { prefix, couchDb });
    await writeDocs(
      s.couchUrl,
      couchDb,
      Array.from({ length: 300 }, (_, i) => caseDoc(i)),
    );
    await s.startPillowCli(name);
    await eventually('caught up', async () => (await tableRows(s.pool, `${prefix}_index`)().catch(() => 0)) === 300);
  });
  after(() => s.cleanup());

  test('several rebuildable processors: one line naming them', async () => {
    const r = await runPillowtop(['rebuild', name], env);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /several rebuildable processors: name one with --processor \(postgresMirror:rbc_mirror, postgresTable:rbc_index\)/,
    );
    const wrong = await runPillowtop(['rebuild', name, '--processor', 'slowProbe'], env);
    assert.match(wrong.stderr, /no rebuildable processor "slowProbe" .*not rebuildable: slowProbe/);
  });

  test('rebuilds the chosen processor to the end and says so; --cancel of none running fails', async () => {
    const r = await runPillowtop(['rebuild', name, '--processor', `${prefix}_index`, '--grace', '0'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pillow\/rbc_cases\/rebuild\/postgresTable:rbc_index: rebuilt rbc_index: generation 2 live/);
    assert.equal(await tableRows(s.pool, `${prefix}_index`)(), 300);
    const cancel = await runPillowtop(['rebuild', name, '--processor', `${prefix}_index`, '--cancel'], env);
    assert.notEqual(cancel.code, 0);
    assert.match(cancel.stderr, /is not running/);
  });
});
