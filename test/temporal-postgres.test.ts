/**
 * pillowtop on Temporal as production runs it: the Temporal server (not the dev server) on
 * PostgreSQL with SQL visibility, set up and started by the same scripts and config file
 * docker-compose.yml uses (deploy/temporal/), as a cluster of two full nodes, with two
 * `pillowtop worker` processes connecting as pillowtop's own PostgreSQL role. One node is killed
 * mid-run: the pillow goes on. Needs Go to build the server once (src/dev/temporal-server-bin.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import nano from 'nano';
import { Client } from 'pg';
import { Connection } from '@temporalio/client';
import { ensureTemporalServerBinaries } from '../src/dev/temporal-server-bin';
import { findGo } from '../src/dev/build-cache';
import { spawnManaged, waitFor, type ManagedProcess } from '../src/dev/child-process';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import { eventually, testEnv } from './helpers/harness';
import { OPS_CONFIG, ROOT, runPillowtop, spawnPillowtop } from './helpers/pillowtop-cli';

const run = promisify(execFile);
const DEPLOY = path.join(ROOT, 'deploy', 'temporal');
const id = `${process.pid}_${Date.now().toString(36)}`;
const PREFIX = `tpg${process.pid}`;
const PILLOW = `${PREFIX}_cases`;
const MIRROR = `${PREFIX}_mirror`;
const NAMESPACE = 'pillowtop-pg';

const go = findGo();
if (!go)
  console.error(
    '\n*** test/temporal-postgres.test.ts SKIPPED: no Go toolchain, so the Temporal server on PostgreSQL cannot be built. Install Go to run it. ***\n',
  );

/** A base port below `below` such that base..base+span are all free on loopback. */
async function freeRange(span: number, avoid: number[] = [], below = 60000): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const base = 20000 + Math.floor(Math.random() * (below - span - 20000));
    if (avoid.some((a) => Math.abs(a - base) <= span)) continue;
    let ok = true;
    for (let p = base; p <= base + span && ok; p++) ok = await free(p);
    if (ok) return base;
  }
  throw new Error('no free port range on 127.0.0.1');
}

interface Node {
  name: string;
  address: string;
  historyAddress: string;
  proc: ManagedProcess;
}

describe(
  'on the Temporal server with PostgreSQL (two nodes, two workers)',
  { skip: go ? false : 'Go is missing' },
  () => {
    const dir = mkdtempSync(path.join(testEnv('PILLOWTOP_TEST_DIR'), 'temporal-pg-'));
    const adminUrl = testEnv('PILLOWTOP_TEST_DATABASE_URL');
    const couchUrl = testEnv('PILLOWTOP_TEST_COUCH_URL');
    const roles = { temporal: `temporal_${id}`, pillowtop: `pillowtop_${id}` };
    const dbs = { temporal: `temporal_${id}`, visibility: `temporal_vis_${id}`, pillowtop: `pillowtop_${id}` };
    const password = `pw${Math.random().toString(36).slice(2)}`;
    let env: NodeJS.ProcessEnv;
    let pillowtopUrl: string;
    let couchDb: string;
    const nodes: Node[] = [];
    const workers: ReturnType<typeof spawnPillowtop>[] = [];

    const admin = async <T>(fn: (c: Client) => Promise<T>, database?: string): Promise<T> => {
      const url = new URL(adminUrl);
      if (database) url.pathname = `/${database}`;
      const c = new Client({ connectionString: url.toString() });
      await c.connect();
      try {
        return await fn(c);
      } finally {
        await c.end();
      }
    };
    const script = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
      run('sh', [path.join(DEPLOY, 'setup-temporal.sh'), ...args], { env: { ...env, ...extra }, timeout: 240_000 });
    const workerEnv = (node: Node): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: node.address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      PILLOWTOP_TASK_QUEUE: `pg-${id}`,
      PILLOWTOP_CONFIG: OPS_CONFIG,
      PILLOWTOP_METRICS_PORT: '0',
      PILLOWTOP_LOG_LEVEL: 'info',
      COUCH_URL: couchUrl,
      DATABASE_URL: pillowtopUrl,
      OPS_PREFIX: PREFIX,
      OPS_COUCH_DB: couchDb,
    });
    const mirrorRows = async () => {
      const c = new Client({ connectionString: pillowtopUrl });
      await c.connect();
      try {
        return Number((await c.query(`SELECT count(*) AS n FROM ${MIRROR} WHERE NOT deleted`)).rows[0].n);
      } catch (err) {
        if ((err as { code?: string }).code === '42P01') return 0; // the processor has not created it yet
        throw err;
      } finally {
        await c.end();
      }
    };

    before(
      async () => {
        const bins = ensureTemporalServerBinaries();
        // the scripts call the binaries by the names the temporalio images give them
        const binDir = path.join(dir, 'bin');
        mkdirSync(binDir);
        symlinkSync(bins.server, path.join(binDir, 'temporal-server'));
        symlinkSync(bins.sqlTool, path.join(binDir, 'temporal-sql-tool'));
        symlinkSync(testEnv('PILLOWTOP_TEST_TEMPORAL_CLI'), path.join(binDir, 'temporal'));

        // the roles deploy/postgres/init-roles.sh makes: neither is a superuser
        await admin(async (c) => {
          await c.query(`CREATE ROLE "${roles.temporal}" LOGIN CREATEDB PASSWORD '${password}'`);
          await c.query(`CREATE ROLE "${roles.pillowtop}" LOGIN PASSWORD '${password}'`);
          await c.query(`CREATE DATABASE "${dbs.pillowtop}" OWNER "${roles.pillowtop}"`);
          await c.query(`REVOKE ALL ON DATABASE "${dbs.pillowtop}" FROM PUBLIC`);
        });
        const pg = new URL(adminUrl);
        pillowtopUrl = `postgres://${roles.pillowtop}:${password}@${pg.hostname}:${pg.port || 5432}/${dbs.pillowtop}`;
        env = {
          PATH: `${binDir}${path.delimiter}${process.env.PATH}`,
          HOME: process.env.HOME,
          TEMPORAL_DB_HOST: pg.hostname,
          TEMPORAL_DB_PORT: pg.port || '5432',
          TEMPORAL_DB_USER: roles.temporal,
          TEMPORAL_DB_PASSWORD: password,
          TEMPORAL_DB_NAME: dbs.temporal,
          TEMPORAL_VISIBILITY_DB_NAME: dbs.visibility,
          TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
          // two nodes and the other suites share one PostgreSQL server
          TEMPORAL_SQL_MAX_CONNS: '8',
        };
        await script(['schema']);

        // one node after the other: the first writes the cluster metadata, which two at once race for
        const used: number[] = [];
        for (const name of ['a', 'b']) {
          const base = await freeRange(10, used);
          used.push(base);
          // Temporal stores membership ports as a PostgreSQL smallint
          const mbase = await freeRange(6, used, 32000);
          used.push(mbase);
          const proc = spawnManaged(
            'sh',
            [path.join(DEPLOY, 'start-node.sh')],
            path.join(dir, `temporal-${name}.log`),
            {
              env: { ...env, TEMPORAL_PORT_BASE: String(base), TEMPORAL_MEMBERSHIP_PORT_BASE: String(mbase) },
            },
          );
          const node = { name, address: `127.0.0.1:${base}`, historyAddress: `127.0.0.1:${base + 1}`, proc };
          nodes.push(node);
          await waitFor(
            `Temporal node ${node.name} on ${node.address} (log: ${dir})`,
            async () => {
              const connection = await Connection.connect({ address: node.address, connectTimeout: 1000 });
              try {
                await connection.workflowService.getSystemInfo({});
                return true;
              } finally {
                await connection.close();
              }
            },
            120_000,
            node.proc.exited,
          );
        }

        await script(['namespace'], { TEMPORAL_ADDRESS: nodes[0].address, TEMPORAL_NAMESPACE: NAMESPACE });
        couchDb = `temporal_pg_${id}`;
        await nano(couchUrl).db.create(couchDb);
      },
      { timeout: 30 * 60_000 }, // a first run builds the server (minutes); later runs find it in the cache
    );

    after(async () => {
      await Promise.allSettled(workers.map(async (w) => (w.kill('SIGTERM'), await w.exit)));
      await Promise.allSettled(nodes.map((n) => n.proc.stop()));
      await nano(couchUrl)
        .db.destroy(couchDb)
        .catch(() => undefined);
      await admin(async (c) => {
        for (const db of Object.values(dbs)) await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
        for (const role of Object.values(roles)) await c.query(`DROP ROLE IF EXISTS "${role}"`);
      }).catch(() => undefined);
    });

    test('`pillowtop setup` registers the search attributes on the SQL-visibility namespace', async () => {
      const env = workerEnv(nodes[1]);
      const first = await runPillowtop(['setup'], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /registered search attributes on namespace "pillowtop-pg": PillowName, PillowStatus/);
      const again = await runPillowtop(['setup'], env);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /already registered/);
    });

    test('a pillow runs end to end with two worker processes, one on each node', async () => {
      for (const node of nodes) workers.push(spawnPillowtop(['worker'], workerEnv(node)));
      for (const w of workers)
        await eventually(
          'the worker polls',
          async () => /"worker started"/.test(w.err()) || w.exitCode !== null,
          120_000,
        );
      for (const w of workers) assert.equal(w.exitCode, null, `worker exited: ${w.err().slice(-2000)}`);
      await writeDocs(
        couchUrl,
        couchDb,
        Array.from({ length: 60 }, (_, i) => caseDoc(i)),
      );
      const started = await runPillowtop(['start', PILLOW], workerEnv(nodes[0]));
      assert.equal(started.code, 0, started.stderr);
      await eventually('60 docs in the mirror table', async () => (await mirrorRows()) === 60, 120_000);

      // pillowtop's tables belong to its own role
      const owners = await admin(
        (c) => c.query(`SELECT tableowner FROM pg_tables WHERE schemaname = 'public'`).then((r) => r.rows),
        dbs.pillowtop,
      );
      assert.ok(owners.length >= 2);
      for (const row of owners) assert.equal(row.tableowner, roles.pillowtop);

      // SQL visibility answers the search attribute query the operators' guide shows
      const { stdout } = await run(
        path.join(dir, 'bin', 'temporal'),
        [
          'workflow',
          'list',
          '--address',
          nodes[1].address,
          '--namespace',
          NAMESPACE,
          '--query',
          `PillowName="${PILLOW}"`,
        ],
        { timeout: 60_000 },
      );
      assert.match(stdout, new RegExp(`pillow/${PILLOW}`));
    });

    test('the pillow goes on when the node holding its history shard is killed', async () => {
      // which node owns the pillow's shard: its row in current_executions, and the shard's owner
      // (the history service's address, stored in the shard record)
      const owner = await admin(async (c) => {
        const { rows } = await c.query(
          `SELECT s.shard_id, position(convert_to($2, 'UTF8') in s.data) > 0 AS on_a,
                position(convert_to($3, 'UTF8') in s.data) > 0 AS on_b
           FROM current_executions e JOIN shards s USING (shard_id) WHERE e.workflow_id = $1`,
          [`pillow/${PILLOW}`, nodes[0].historyAddress, nodes[1].historyAddress],
        );
        assert.equal(rows.length, 1, 'the pillow has one current execution');
        assert.notEqual(rows[0].on_a, rows[0].on_b, 'exactly one node owns the shard');
        return rows[0].on_a ? nodes[0] : nodes[1];
      }, dbs.temporal);
      const survivor = nodes.find((n) => n !== owner)!;
      owner.proc.child.kill('SIGKILL');
      await owner.proc.exited;

      await writeDocs(
        couchUrl,
        couchDb,
        Array.from({ length: 40 }, (_, i) => caseDoc(60 + i)),
      );
      await eventually(
        '100 docs in the mirror table after the node loss',
        async () => (await mirrorRows()) === 100,
        180_000,
      );
      // the workflow hears of the committed pages through the surviving node: its checkpoint is the
      // stored one (a page whose report died with the node is not counted again in `processed`:
      // the next page finds the checkpoint moved and carries on from it)
      const stored = async () =>
        admin(
          async (c) =>
            (await c.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [PILLOW])).rows[0]?.seq,
          dbs.pillowtop,
        );
      await eventually(
        "the pillow's checkpoint, read through the surviving node, is the stored one",
        async () => {
          const status = await runPillowtop(['status', PILLOW, '--json'], workerEnv(survivor));
          assert.equal(status.code, 0, status.stderr);
          const [view] = (JSON.parse(status.stdout) as { pillows: { running: boolean; checkpoint: string | null }[] })
            .pillows;
          return view.running && view.checkpoint !== null && view.checkpoint === (await stored());
        },
        60_000,
      );
    });
  },
);
