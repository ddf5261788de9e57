/**
 * A processor whose cost is CPU, not I/O, for the bench's partition figures: before the wrapped
 * processor writes a batch, each live doc costs a fixed amount of real CPU work (chained SHA-256
 * rounds over the doc id), as a UCR data source with many indicators would spend evaluating them.
 * The work is a number of rounds, calibrated once to `ms` per doc, so that every run does the same
 * work however loaded the machine is (a spin on the clock would do less work under contention).
 */
import { createHash } from 'node:crypto';
import type { Processor } from '../src/types';

/** Chained SHA-256 rounds over `seed`: real work the optimiser cannot drop (the result is returned). */
export function burn(seed: string, rounds: number): Buffer {
  let h: Buffer = Buffer.from(seed);
  for (let i = 0; i < rounds; i++) h = createHash('sha256').update(h).digest();
  return h;
}

/** Rounds of `burn` that take about `ms` of CPU on this machine: the fastest of a few timings, so the least disturbed. */
export function calibrateRounds(ms: number): number {
  const probe = 20_000;
  let best = Infinity;
  for (let i = 0; i < 7; i++) {
    const started = process.cpuUsage();
    burn(`calibrate-${i}`, probe);
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return Math.max(1, Math.round((probe / best) * ms));
}

/** The processor, with `rounds` of CPU work per live doc in each batch before it writes. */
export function withCpuCost(processor: Processor, rounds: number): Processor {
  return {
    ...processor,
    async processBatch(changes, ctx) {
      let sink = 0;
      for (const c of changes) if (!c.deleted) sink ^= burn(c.id, rounds)[0];
      // keeps the work observable; a doc never has this key
      if (sink === 256) throw new Error('unreachable');
      return processor.processBatch(changes, ctx);
    },
  };
}
