import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase } from '../src/dev/postgres-server';
import { testEnv } from './helpers/harness';
import { runBenchJson } from './helpers/bench-json';
import type { BenchResult } from '../bench/bench-result';
import type { MemoryBenchResult } from '../bench/memory-run';

// `pillowtop bench --quick` as users run it, against the test servers: it must keep working and
// report every figure. No timing thresholds here: speed is what the full bench is for.
describe('pillowtop bench --quick', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let result: BenchResult;
  let stderr: string;

  before(async () => {
    database = await createDatabase(testEnv('PILLOWTOP_TEST_DATABASE_URL'), 'pt_bench');
    ({ result, stderr } = await runBenchJson(['--quick'], { DATABASE_URL: database.url }));
  });
  after(() => database?.drop());

  test('prints progress, then every figure as one JSON object on its last line', () => {
    assert.match(stderr, /bench: source limit/);
    assert.match(stderr, /bench: pillow catch-up/);
    for (const key of [
      'source_limit_docs_per_s',
      'raw_loop_docs_per_s',
      'catchup_docs_per_s',
      'catchup_seconds',
      'catchup_vs_raw',
      'catchup_vs_source',
      'follow_p50_ms',
      'follow_p95_ms',
      'follow_p99_ms',
      'history_events_per_10k',
      'catchup_1_worker_docs_per_s',
      'catchup_2_workers_docs_per_s',
      // what a pillow costs (issue #13's baseline)
      'follow_slow_p50_ms',
      'follow_slow_p99_ms',
      'catchup_actions_per_10k',
      'catchup_source_requests_per_change_1_partition',
      'catchup_source_requests_per_change_2_partitions',
      'catchup_source_requests_per_change_4_partitions',
      // partitions that add throughput: a CPU-bound pillow on 1 and 2 workers
      'cpu_bound_ms_per_doc',
      'cpu_bound_rounds_per_doc',
      'cpu_bound_2_partitions_1_worker_docs_per_s',
      'cpu_bound_2_partitions_2_workers_docs_per_s',
      'cpu_bound_4_partitions_2_workers_docs_per_s',
      'cpu_bound_2_workers_vs_1_worker_2_partitions',
      'cpu_bound_2_workers_vs_1_worker_4_partitions',
    ] as const) {
      const value = result[key];
      assert.ok(
        typeof value === 'number' && Number.isFinite(value) && value > 0,
        `${key} is a positive number: ${value}`,
      );
    }
    // a follow slice reports back once a minute: the quick bench's few seconds of following may see
    // no slice end, and so no history at all (the full bench follows for 60 s per rate)
    for (const key of [
      'follow_slow_history_events_per_pillow_hour',
      'follow_slow_activity_executions_per_pillow_hour',
      'follow_slow_actions_per_pillow_hour',
      'follow_history_events_per_pillow_hour',
      'follow_activity_executions_per_pillow_hour',
      'follow_actions_per_pillow_hour',
      'follow_slow_heartbeats_per_pillow_hour_estimated',
      'follow_heartbeats_per_pillow_hour_estimated',
      'follow_slow_cancel_checks_per_pillow_hour_estimated',
      'follow_cancel_checks_per_pillow_hour_estimated',
    ] as const) {
      const value = result[key];
      assert.ok(typeof value === 'number' && Number.isFinite(value) && value >= 0, `${key} is a number ≥ 0: ${value}`);
    }
    assert.equal(result.quick, true);
    assert.equal(result.docs, 2000);
    assert.ok(typeof result.targets === 'object' && 'catchup_vs_raw_ge_1' in result.targets);
    assert.equal(result.catchup_vs_source_per_round.length, 1, 'one ratio per round');
    assert.ok(result.catchup_vs_source_per_round[0] > 0 && result.catchup_vs_raw_per_round[0] > 0);
  });

  test('the figures are consistent with each other', () => {
    assert.ok(result.follow_p50_ms <= result.follow_p95_ms && result.follow_p95_ms <= result.follow_p99_ms);
    assert.ok(result.follow_p99_ms <= result.follow_max_ms);
    assert.equal(result.follow_missing, 0, 'every doc written while following showed up');
    assert.ok(result.follow_docs > 0);
    const ratio = result.catchup_docs_per_s / result.raw_loop_docs_per_s;
    assert.ok(Math.abs(ratio - result.catchup_vs_raw) < 0.01, 'catchup_vs_raw is catch-up over raw loop');
    assert.ok(result.history_events > 0);
    assert.equal(result.follow_slow_missing, 0, 'every doc written while following slowly showed up');
    assert.ok(result.follow_slow_docs > 0);
    // every activity is an action, and each comes with several history events
    assert.ok(result.follow_actions_per_pillow_hour >= result.follow_activity_executions_per_pillow_hour);
    assert.ok(result.follow_history_events_per_pillow_hour >= result.follow_actions_per_pillow_hour);
    assert.ok(result.catchup_actions >= result.catchup_activity_executions && result.catchup_activity_executions > 0);
    // the pillow reads its pages with `_changes` requests, and the proxy saw them
    assert.ok(result.catchup_source_requests_by_kind['1']?._changes > 0, 'the proxy counted `_changes` requests');
    assert.equal(
      result.partition_processed.reduce((a, b) => a + b, 0),
      result.docs + result.follow_slow_docs + result.follow_docs,
      'the partitions processed each doc exactly once',
    );
    // from pouchdb-server (the bench's source) partitions read the bodies with the feed, which holds
    // them at no extra cost there; from CouchDB they fetch their own in bulk (test/partitions.test.ts)
    assert.equal(
      result.catchup_source_requests_by_kind['2']?._all_docs,
      undefined,
      'no bulk reads from pouchdb-server',
    );
    assert.equal(result.catchup_source_requests_by_kind['1']?._all_docs, undefined, 'one partition reads with docs');
    assert.equal(
      result.cpu_bound_partition_processed.reduce((a, b) => a + b, 0),
      result.cpu_bound_docs,
      'the CPU-bound partitions processed each doc exactly once',
    );
    assert.deepEqual(Object.keys(result.cpu_bound_samples).sort(), ['2p1w', '2p2w', '4p2w']);
    const ratio2 =
      result.cpu_bound_2_partitions_2_workers_docs_per_s / result.cpu_bound_2_partitions_1_worker_docs_per_s;
    assert.ok(Math.abs(ratio2 - result.cpu_bound_2_workers_vs_1_worker_2_partitions) < 0.01);
    if (process.platform === 'linux') assert.ok((result.worker_peak_rss_mb ?? 0) > 50, 'worker RSS was sampled');
  });
});

// `pillowtop bench --memory --quick`: the memory run keeps working and reports its figures and curve
describe('pillowtop bench --memory --quick', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let result: MemoryBenchResult;

  before(async () => {
    database = await createDatabase(testEnv('PILLOWTOP_TEST_DATABASE_URL'), 'pt_bench_memory');
    ({ result } = await runBenchJson<MemoryBenchResult>(['--memory', '--quick', '--follow-seconds', '6'], {
      DATABASE_URL: database.url,
    }));
  });
  after(() => database?.drop());

  test('catches up, follows, and reports the worker memory of both phases on its last line', () => {
    assert.equal(result.memory_run, true);
    assert.equal(result.memory_catchup_docs, 2000);
    assert.ok(result.memory_catchup_docs_per_s > 0);
    assert.ok(result.memory_follow_docs > 0);
    assert.equal(result.memory_follow_missing, 0, 'every doc written while following showed up');
    assert.ok(result.memory_samples.some((s) => s.phase === 'catch-up'));
    assert.ok(result.memory_samples.some((s) => s.phase === 'follow'));
    assert.ok(typeof result.targets.memory_rss_under_250mb === 'boolean');
    if (process.platform === 'linux') {
      assert.ok((result.memory_catchup_peak_rss_mb ?? 0) > 50, 'worker RSS was sampled while catching up');
      assert.ok((result.memory_follow_peak_rss_mb ?? 0) > 50, 'and while following');
      assert.ok(result.memory_follow_rss_growth_mb !== null);
      assert.ok(
        result.memory_samples.some((s) => s.heapUsed !== null),
        'the worker reported its heap',
      );
    }
  });
});
