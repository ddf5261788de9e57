import type { BenchResult } from './bench-result';

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
