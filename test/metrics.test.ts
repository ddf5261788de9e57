import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setupSuite, eventually, type Suite } from './helpers/harness';
import { ROOT, opsEnv, runPillowtop, spawnPillowtop } from './helpers/pillowtop-cli';
import { parsePrometheus, valueOf, type Sample } from './helpers/prometheus-text';
import { freePort } from '../src/dev/ports';
import { caseDoc, writeDocs } from '../src/dev/demo-data';

const PREFIX = `metr${process.pid}`;
const CASES = `${PREFIX}_cases`;
const MIRROR = `postgresMirror:${PREFIX}_mirror`;
const TABLE = `postgresTable:${PREFIX}_index`;
const SLOW_MS = 1000;

describe('/metrics of a `pillowtop worker` during a run', () => {
  let s: Suite;
  let env: NodeJS.ProcessEnv;
  let db: string;
  let worker: ReturnType<typeof spawnPillowtop>;
  let url: string;

  const scrape = async (): Promise<Sample[]> => {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    return parsePrometheus(await res.text());
  };
  const metric = async (name: string, labels: Record<string, string>) => valueOf(await scrape(), name, labels);

  before(async () => {
    s = await setupSuite('metrics');
    db = await s.couchDb('metr');
    const port = await freePort();
    url = `http://127.0.0.1:${port}/metrics`;
    env = {
      ...opsEnv({
        prefix: PREFIX,
        couchDb: db,
        couchUrl: s.couchUrl,
        databaseUrl: s.databaseUrl,
        taskQueue: s.taskQueue,
      }),
      OPS_SLOW_MS: String(SLOW_MS),
      PILLOWTOP_METRICS_PORT: String(port),
      PILLOWTOP_METRICS_HOST: '127.0.0.1',
      PILLOWTOP_LOG_LEVEL: 'info',
    };
    worker = spawnPillowtop(['worker'], env);
    await eventually('the worker serves /metrics', async () => (await fetch(url)).ok, 120_000);
    await eventually('the worker polls', async () => /"worker started"/.test(worker.err()), 120_000);
  });
  after(async () => {
    await runPillowtop(['stop', CASES], env).catch(() => undefined);
    worker?.kill('SIGTERM');
    await worker?.exit;
    await s.cleanup();
  });

  test('serves the Temporal SDK metrics and pillowtop_* together', async () => {
    const text = await (await fetch(url)).text();
    assert.match(text, /^# HELP pillowtop_changes_processed_total /m);
    assert.match(text, /^# TYPE pillowtop_lag_seconds gauge/m);
    assert.match(text, /^temporal_\w+/m, 'SDK core metrics are merged in');
    assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);
  });

  test('processed counters rise by the changes written; pending rises, then falls to zero; lag is zero when caught up', async () => {
    // written before the pillow starts, in slow batches of 50: pending is above zero for a while
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 120 }, (_, i) => ({ ...caseDoc(i), slow: true })),
    );
    const started = await runPillowtop(['start', CASES], env);
    assert.equal(started.code, 0, started.stderr);
    const behind = await eventually(
      'pending above zero while catching up',
      async () => {
        const p = await metric('pillowtop_pending_changes', { pillow: CASES });
        return p !== null && p > 0 ? p : null;
      },
      60_000,
    );
    assert.ok(behind! <= 70, `pending after the first batch of 50 is at most 70, got ${behind}`);
    await eventually(
      'caught up',
      async () => (await metric('pillowtop_pending_changes', { pillow: CASES })) === 0,
      60_000,
    );
    const samples = await scrape();
    for (const processor of [MIRROR, TABLE, 'slowProbe'])
      assert.equal(valueOf(samples, 'pillowtop_changes_processed_total', { pillow: CASES, processor }), 120, processor);
    assert.equal(valueOf(samples, 'pillowtop_lag_seconds', { pillow: CASES }), 0);
    assert.ok(valueOf(samples, 'pillowtop_batch_duration_seconds_count', { pillow: CASES })! >= 3);
    assert.ok(
      valueOf(samples, 'pillowtop_processor_duration_seconds_count', { pillow: CASES, processor: TABLE })! >= 3,
    );
    assert.equal(valueOf(samples, 'pillowtop_changes_failed_total', { pillow: CASES, processor: TABLE }), null);

    // a quiet database stays at zero lag: long polls time out with nothing new
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(await metric('pillowtop_lag_seconds', { pillow: CASES }), 0);
    assert.equal(await metric('pillowtop_pending_changes', { pillow: CASES }), 0);

    // 30 more while running: the counters rise by exactly that
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 30 }, (_, i) => caseDoc(1000 + i)),
    );
    await eventually(
      '30 more processed',
      async () => (await metric('pillowtop_changes_processed_total', { pillow: CASES, processor: MIRROR })) === 150,
    );
    assert.equal(await metric('pillowtop_changes_processed_total', { pillow: CASES, processor: TABLE }), 150);
  });

  test('a slow processor is logged with pillow, processor and doc ids', () => {
    const lines = worker
      .err()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const slow = lines.find((l) => l.msg === 'slow processor' && l.pillow === CASES);
    assert.ok(slow, 'a "slow processor" log line');
    assert.equal(slow.processor, 'slowProbe');
    assert.ok((slow.ms as number) >= SLOW_MS);
    assert.ok(Array.isArray(slow.docIds) && (slow.docIds as string[]).includes('case-00000000'), JSON.stringify(slow));
    assert.ok(!lines.some((l) => JSON.stringify(l).includes('Routine follow-up')), 'no doc bodies in the logs');
  });

  test('a failing change moves the failed counter and the parked gauge', async () => {
    const bad = caseDoc(2000) as Record<string, unknown>;
    delete bad.domain;
    await writeDocs(s.couchUrl, db, [bad as never]);
    await eventually('the failure is counted', async () => {
      const samples = await scrape();
      return (
        (valueOf(samples, 'pillowtop_changes_failed_total', { pillow: CASES, processor: TABLE }) ?? 0) >= 1 &&
        valueOf(samples, 'pillowtop_parked_changes', { pillow: CASES }) === 1
      );
    });
    const samples = await scrape();
    // the mirror took the doc, the table refused it
    assert.equal(valueOf(samples, 'pillowtop_changes_processed_total', { pillow: CASES, processor: MIRROR }), 151);
    assert.equal(valueOf(samples, 'pillowtop_changes_processed_total', { pillow: CASES, processor: TABLE }), 150);
    assert.equal(valueOf(samples, 'pillowtop_changes_failed_total', { pillow: CASES, processor: MIRROR }), null);
  });

  test('every metric the Grafana dashboard queries is served by the worker', async () => {
    const text = await (await fetch(url)).text();
    mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
    writeFileSync(path.join(ROOT, 'test-artifacts', 'metrics.txt'), text);
    const served = new Set(parsePrometheus(text).map((s) => s.name));
    // labelled series that exist only once something happened: declared with # TYPE, or by the SDK on first use
    for (const m of text.matchAll(/^# TYPE (\w+) counter$/gm)) served.add(`${m[1]}`);
    served.add('temporal_activity_execution_failed_total'); // the SDK core creates it on the first failed attempt
    const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/dashboards/pillowtop.json'), 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const queried = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).flatMap((t) =>
        [...t.expr.matchAll(/\b(?:pillowtop|temporal)_[a-z_]+/g)].map((m) => [p.title, m[0]]),
      ),
    );
    assert.ok(queried.length >= 10);
    const missing = queried.filter(([, name]) => !served.has(name));
    assert.deepEqual(missing, [], 'metrics the dashboard queries but the worker does not serve');
  });
});
