import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { ResolvedPillow } from '../config/pillow-definition';
import { pillowStatusRows, type PillowStatusRow } from '../operations/pillow-status';

/** One pillow's part of the summary line: its workflows' `status` query, added up. */
export function pillowSummary(pillow: string, rows: PillowStatusRow[]): string {
  const running = rows.filter((r) => r.running && r.processed !== null);
  if (running.length === 0) return `pillow/${pillow}: ${rows[0]?.state ?? 'not started'}`;
  const sum = (f: (r: PillowStatusRow) => number | null) => running.reduce((n, r) => n + (f(r) ?? 0), 0);
  const pending = running.some((r) => r.pending === null) ? '?' : String(sum((r) => r.pending));
  const lags = running.map((r) => r.lagSeconds);
  const lag = lags.some((l) => l === null) ? '?' : `${Math.max(...(lags as number[]))}s`;
  return `pillow/${pillow}: ${sum((r) => r.processed)} processed, ${sum((r) => r.rate).toFixed(1)}/s, ${pending} pending, lag ${lag}`;
}

/**
 * `pillowtop dev`'s progress: every `intervalMs` one line with each pillow's processed count, rate,
 * pending changes and lag, from the pillows' own `status` queries (what `pillowtop status` shows),
 * instead of a log line per batch.
 */
export function startProgressSummary(opts: {
  client: Client;
  pillows: ResolvedPillow[];
  intervalMs?: number;
  write?: (line: string) => void;
}): { stop(): Promise<void> } {
  const write = opts.write ?? ((line: string) => console.error(line));
  const abort = new AbortController();
  const loop = (async () => {
    for (;;) {
      await sleep(opts.intervalMs ?? 10_000, undefined, { signal: abort.signal });
      const parts = await Promise.all(
        opts.pillows.map(async (p) => pillowSummary(p.name, await pillowStatusRows(opts.client, p).catch(() => []))),
      );
      if (abort.signal.aborted) return;
      write(`pillowtop dev: ${parts.join(' | ')}`);
    }
  })().catch(() => undefined); // aborted: stopping
  return {
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
