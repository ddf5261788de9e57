import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PillowMetrics } from './pillow-metrics';

/** pillowtop_* metrics on a prom-client registry. */
export function createPrometheusMetrics(registry: Registry = new Registry()): {
  registry: Registry;
  metrics: PillowMetrics;
} {
  const registers = [registry];
  const processed = new Counter({
    name: 'pillowtop_changes_processed_total',
    help: 'Changes written by a processor',
    labelNames: ['pillow', 'processor'],
    registers,
  });
  const failed = new Counter({
    name: 'pillowtop_changes_failed_total',
    help: 'Changes a processor could not write',
    labelNames: ['pillow', 'processor'],
    registers,
  });
  const batch = new Histogram({
    name: 'pillowtop_batch_duration_seconds',
    help: 'One page: read (long poll included), filter, write its batch and the checkpoint, hand off failures',
    labelNames: ['pillow'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const processor = new Histogram({
    name: 'pillowtop_processor_duration_seconds',
    help: 'One processor over one batch',
    labelNames: ['pillow', 'processor'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const pending = new Gauge({
    name: 'pillowtop_pending_changes',
    help: 'Changes after the checkpoint (CouchDB pending, or estimated from update_seq)',
    labelNames: ['pillow'],
    registers,
  });
  // lag: 0 while caught up; otherwise the time since the pillow last was (set when scraped)
  const caughtUpAt = new Map<string, number>();
  const behindSince = new Map<string, number>();
  new Gauge({
    name: 'pillowtop_lag_seconds',
    help: 'Seconds since the pillow was last caught up (0 when caught up)',
    labelNames: ['pillow'],
    registers,
    collect() {
      const now = Date.now();
      for (const [pillow, since] of behindSince) this.set({ pillow }, (now - since) / 1000);
      for (const pillow of caughtUpAt.keys()) if (!behindSince.has(pillow)) this.set({ pillow }, 0);
    },
  });
  const rewinds = new Counter({
    name: 'pillowtop_feed_rewinds_total',
    help: 'Times the feed handed out seqs from before the checkpoint',
    labelNames: ['pillow'],
    registers,
  });
  const parked = new Gauge({
    name: 'pillowtop_parked_changes',
    help: 'Docs with a retryChange workflow (retrying or parked)',
    labelNames: ['pillow'],
    registers,
  });

  const rebuilt = new Counter({
    name: 'pillowtop_rebuild_docs_total',
    help: "Docs a rebuild's backfill handled for a processor's new generation, by outcome (written, failed)",
    labelNames: ['pillow', 'processor', 'outcome'],
    registers,
  });

  const metrics: PillowMetrics = {
    batch: (p, seconds) => batch.observe({ pillow: p }, seconds),
    processor(p, name, seconds, ok, bad) {
      processor.observe({ pillow: p, processor: name }, seconds);
      processed.inc({ pillow: p, processor: name }, ok);
      if (bad > 0) failed.inc({ pillow: p, processor: name }, bad);
    },
    position(p, pendingCount) {
      // unknown is not behind: keep the last known position rather than start a lag clock
      if (pendingCount === null) return;
      pending.set({ pillow: p }, pendingCount);
      if (pendingCount === 0) {
        caughtUpAt.set(p, Date.now());
        behindSince.delete(p);
      } else if (!behindSince.has(p)) {
        behindSince.set(p, caughtUpAt.get(p) ?? Date.now());
      }
    },
    failing(p) {
      if (!behindSince.has(p)) behindSince.set(p, caughtUpAt.get(p) ?? Date.now());
    },
    rewind: (p) => rewinds.inc({ pillow: p }),
    parked: (p, count) => parked.set({ pillow: p }, count),
    rebuilt(p, name, written, bad) {
      rebuilt.inc({ pillow: p, processor: name, outcome: 'written' }, written);
      if (bad > 0) rebuilt.inc({ pillow: p, processor: name, outcome: 'failed' }, bad);
    },
  };
  return { registry, metrics };
}
