import type { BenchResult } from './bench-result';
import { MEMORY_TARGET_MB, type MemoryBenchResult } from './memory-run';

interface Bar {
  label: string;
  value: number;
  color: string;
}

const WIDTH = 860;
const PANEL_HEIGHT = 250;
const LEFT = 210;
const RIGHT = 110;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One horizontal bar panel with an optional target line; `top` is its y offset. */
function panel(title: string, unit: string, bars: Bar[], top: number, target?: { value: number; label: string }[]) {
  const max = Math.max(...bars.map((b) => b.value), ...(target ?? []).map((t) => t.value), 1) * 1.1;
  const plot = WIDTH - LEFT - RIGHT;
  const rowHeight = (PANEL_HEIGHT - 60) / bars.length;
  const x = (v: number) => LEFT + (Math.max(0, v) / max) * plot;
  const parts = [`<text x="20" y="${top + 24}" font-size="16" font-weight="bold">${escape(title)}</text>`];
  bars.forEach((b, i) => {
    const y = top + 40 + i * rowHeight;
    const h = rowHeight * 0.7;
    parts.push(
      `<text x="${LEFT - 8}" y="${y + h / 2 + 5}" font-size="13" text-anchor="end">${escape(b.label)}</text>`,
      `<rect x="${LEFT}" y="${y}" width="${(x(b.value) - LEFT).toFixed(1)}" height="${h.toFixed(1)}" fill="${b.color}"/>`,
      `<text x="${(x(b.value) + 6).toFixed(1)}" y="${y + h / 2 + 5}" font-size="13">${Math.round(b.value).toLocaleString('en-US')} ${unit}</text>`,
    );
  });
  for (const t of target ?? []) {
    const tx = x(t.value).toFixed(1);
    parts.push(
      `<line x1="${tx}" x2="${tx}" y1="${top + 34}" y2="${top + PANEL_HEIGHT - 14}" stroke="#c0392b" stroke-dasharray="5,4"/>`,
      `<text x="${tx}" y="${top + PANEL_HEIGHT - 2}" font-size="11" fill="#c0392b" text-anchor="middle">${escape(t.label)}</text>`,
    );
  }
  return parts.join('\n');
}

/** The bench's figures as an SVG: catch-up throughput next to its baselines, and follow latency. */
export function renderChart(r: BenchResult): string {
  const throughput: Bar[] = [
    { label: 'source limit (read only)', value: r.source_limit_docs_per_s, color: '#95a5a6' },
    { label: 'raw loop (read + upsert)', value: r.raw_loop_docs_per_s, color: '#7f8c8d' },
    { label: 'pillow catch-up', value: r.catchup_docs_per_s, color: '#2980b9' },
    { label: `${r.partitions} partitions, 1 worker`, value: r.catchup_1_worker_docs_per_s, color: '#5dade2' },
    { label: `${r.partitions} partitions, 2 workers`, value: r.catchup_2_workers_docs_per_s, color: '#85c1e9' },
  ];
  const latency: Bar[] = [
    { label: 'p50', value: r.follow_p50_ms, color: '#27ae60' },
    { label: 'p95', value: r.follow_p95_ms, color: '#52be80' },
    { label: 'p99', value: r.follow_p99_ms, color: '#7dcea0' },
  ];
  const height = PANEL_HEIGHT * 2 + 90;
  const footer = [
    `${r.docs.toLocaleString('en-US')} docs, batches of ${r.batch_size}; catch-up ${r.catchup_vs_raw}× raw loop, ${r.catchup_vs_source}× source limit`,
    `worker peak RSS ${r.worker_peak_rss_mb ?? '?'} MB · ${r.history_events_per_10k} history events per 10,000 changes · ${r.machine.cpus} × ${r.machine.cpu_model}, node ${r.machine.node}`,
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel('Catch-up throughput (docs/s, higher is better)', 'docs/s', throughput, 0, [
      { value: r.raw_loop_docs_per_s, label: 'raw loop' },
    ]),
    panel(
      `Follow latency at ${r.follow_rate_actual} docs/s (ms, write → row visible)`,
      'ms',
      latency,
      PANEL_HEIGHT + 10,
      [
        { value: 200, label: 'p50 target' },
        { value: 1000, label: 'p99 target' },
      ],
    ),
    ...footer.map(
      (line, i) =>
        `<text x="20" y="${PANEL_HEIGHT * 2 + 45 + i * 20}" font-size="12" fill="#444">${escape(line)}</text>`,
    ),
    '</svg>',
    '',
  ].join('\n');
}

/**
 * The memory run (`--memory`) as an SVG: the worker's RSS, and its main thread's V8 heap in use,
 * over the whole run, with the end of the catch-up and the 250 MB target marked.
 */
export function renderMemoryChart(r: MemoryBenchResult): string {
  const height = 420;
  const top = 50;
  const bottom = height - 90;
  const left = 70;
  const right = WIDTH - 30;
  const samples = r.memory_samples;
  const maxS = Math.max(1, ...samples.map((x) => x.s));
  const maxMb = Math.max(MEMORY_TARGET_MB, ...samples.map((x) => x.rss)) * 1.1;
  const x = (s: number) => left + (s / maxS) * (right - left);
  const y = (mb: number) => bottom - (mb / maxMb) * (bottom - top);
  const line = (values: [number, number | null][], color: string) => {
    const points = values.filter((v): v is [number, number] => v[1] !== null);
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map(([s, mb]) => `${x(s).toFixed(1)},${y(mb).toFixed(1)}`).join(' ')}"/>`;
  };
  const parts: string[] = [
    `<text x="20" y="28" font-size="16" font-weight="bold">${escape(`Worker memory: catch up ${r.memory_catchup_docs.toLocaleString('en-US')} docs, then follow ${r.memory_follow_rate} docs/s for ${Math.round(r.memory_follow_seconds / 60)} min (MB)`)}</text>`,
    `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#888"/>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#888"/>`,
  ];
  for (let mb = 0; mb <= maxMb; mb += 50)
    parts.push(
      `<text x="${left - 8}" y="${y(mb) + 4}" font-size="11" text-anchor="end">${mb}</text>`,
      `<line x1="${left}" x2="${right}" y1="${y(mb)}" y2="${y(mb)}" stroke="#eee"/>`,
    );
  const minuteStep = maxS > 1200 ? 5 : 1;
  for (let m = 0; m * 60 <= maxS; m += minuteStep)
    parts.push(`<text x="${x(m * 60)}" y="${bottom + 16}" font-size="11" text-anchor="middle">${m} min</text>`);
  const followStart = samples.find((s) => s.phase === 'follow')?.s;
  if (followStart !== undefined)
    parts.push(
      `<line x1="${x(followStart)}" x2="${x(followStart)}" y1="${top}" y2="${bottom}" stroke="#555" stroke-dasharray="3,3"/>`,
      `<text x="${x(followStart) + 4}" y="${top + 12}" font-size="11" fill="#555">caught up: following</text>`,
    );
  parts.push(
    `<line x1="${left}" x2="${right}" y1="${y(MEMORY_TARGET_MB)}" y2="${y(MEMORY_TARGET_MB)}" stroke="#c0392b" stroke-dasharray="5,4"/>`,
    `<text x="${right}" y="${y(MEMORY_TARGET_MB) - 4}" font-size="11" fill="#c0392b" text-anchor="end">target ${MEMORY_TARGET_MB} MB</text>`,
    line(
      samples.map((s) => [s.s, s.rss]),
      '#2980b9',
    ),
    line(
      samples.map((s) => [s.s, s.heapUsed]),
      '#27ae60',
    ),
    line(
      samples.map((s) => [s.s, s.external]),
      '#e67e22',
    ),
  );
  const legend: [string, string][] = [
    ['#2980b9', 'RSS'],
    ['#27ae60', 'V8 heap used (main thread)'],
    ['#e67e22', 'external (Buffers, native)'],
  ];
  legend.forEach(([color, label], i) =>
    parts.push(
      `<rect x="${left + i * 230}" y="${bottom + 30}" width="14" height="4" fill="${color}"/>`,
      `<text x="${left + i * 230 + 20}" y="${bottom + 36}" font-size="12">${escape(label)}</text>`,
    ),
  );
  const footer = `peak RSS ${r.memory_catchup_peak_rss_mb ?? '?'} MB catching up (${r.memory_catchup_docs_per_s.toLocaleString('en-US')} docs/s), ${r.memory_follow_peak_rss_mb ?? '?'} MB following; growth after the first minute ${r.memory_follow_rss_growth_mb ?? '?'} MB · ${r.machine.cpus} × ${r.machine.cpu_model}, node ${r.machine.node}`;
  parts.push(`<text x="20" y="${height - 16}" font-size="12" fill="#444">${escape(footer)}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
