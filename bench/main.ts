/**
 * The bench's entry point: `npm run bench -- [options]` (or `pillowtop bench` in a source checkout,
 * which hands over to this). A tool that measures the product, not part of it: the build and the
 * image leave it out.
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { CliError, oneLine } from '../src/cli/cli-error';
import { runBench } from './run-bench';
import { renderChart, renderMemoryChart } from './chart';
import { runMemoryBench } from './memory-run';

interface BenchCliOptions {
  docs?: string;
  rate?: string;
  slowRate?: string;
  followSeconds?: string;
  repeat?: string;
  quick?: boolean;
  json?: string;
  chart?: string;
  search?: boolean;
  cpuDocs?: string;
  cpuMs?: string;
  memory?: boolean;
}

export const BENCH_DESCRIPTION =
  'measure catch-up against a raw loop and the source limit, follow latency at two rates, worker memory and CPU, Temporal cost (history events, activity executions, actions), source requests and what partitions add to a CPU-bound pillow; the last line is one JSON object';

/** The bench's command line, named as it was called (`pillowtop bench`, `npm run bench --`). */
export function benchCommand(name: string): Command {
  return new Command(name)
    .description(BENCH_DESCRIPTION)
    .option('--docs <n>', 'case docs to load and catch up (default 50000; --memory: 500000; --quick: 2000)')
    .option(
      '--rate <n>',
      'docs per second written while measuring follow latency (default 500; --memory: 50; --quick: 100, with --memory 10)',
    )
    .option('--slow-rate <n>', 'docs per second of the slow following phase, before the one at --rate (default 5)')
    .option(
      '--follow-seconds <n>',
      'how long each following phase writes (default 60; --memory: 600; --quick: 4, with --memory 20)',
    )
    .option(
      '--repeat <n>',
      'rounds of source limit, raw loop and catch-up; each figure is the best (default 3; --quick: 1)',
    )
    .option(
      '--cpu-docs <n>',
      'docs of the CPU-bound partition phase (2 partitions on 1 worker, 2 and 4 on 2 workers) (default 12000; --quick: 400)',
    )
    .option('--cpu-ms <ms>', "CPU work per doc of that phase's processor, in ms (default 1)")
    .option('--quick', 'a small run that keeps the bench working (the test suite runs it)')
    .option(
      '--search',
      'also measure the search processor against a raw _bulk loop on OpenSearch (OPENSEARCH_URL, else a node of its own: needs Java 17+)',
    )
    .option(
      '--memory',
      'instead: the memory run, a fresh worker catches up --docs then follows at --rate for --follow-seconds, its RSS sampled throughout (the chart draws the curve)',
    )
    .option('--json <file>', 'also write the JSON figures to this file')
    .option('--chart <file>', 'also draw the figures as an SVG chart into this file')
    .addHelpText(
      'after',
      `
Starts its own Temporal dev server, pouchdb-server and a fresh PostgreSQL database, unless
TEMPORAL_ADDRESS, COUCH_URL and DATABASE_URL say where to find them; with --search, an OpenSearch
node unless OPENSEARCH_URL says where one is. Progress goes to stderr.`,
    )
    .action(async (opts: BenchCliOptions) => {
      const quick = opts.quick === true;
      if (opts.memory === true || process.env.npm_config_memory === 'true') {
        const memory = await runMemoryBench({
          docs: whole(opts.docs, quick ? 2000 : 500_000, '--docs', 1),
          rate: whole(opts.rate, quick ? 10 : 50, '--rate', 1),
          followSeconds: whole(opts.followSeconds, quick ? 20 : 600, '--follow-seconds', 1),
          quick,
          env: process.env,
          progress: (line) => process.stderr.write(`bench: ${line}\n`),
        });
        if (opts.json) writeFileSync(opts.json, JSON.stringify(memory, null, 2) + '\n');
        if (opts.chart) writeFileSync(opts.chart, renderMemoryChart(memory));
        process.stdout.write(JSON.stringify(memory) + '\n');
        return;
      }
      const docs = whole(opts.docs, quick ? 2000 : 50_000, '--docs', 1);
      const rate = whole(opts.rate, quick ? 100 : 500, '--rate', 1);
      const slowRate = whole(opts.slowRate, 5, '--slow-rate', 1);
      const followSeconds = whole(opts.followSeconds, quick ? 4 : 60, '--follow-seconds', 1);
      const repeat = whole(opts.repeat, quick ? 1 : 3, '--repeat', 1);
      const cpuDocs = whole(opts.cpuDocs, quick ? 400 : 12_000, '--cpu-docs', 1);
      const cpuMsPerDoc = opts.cpuMs === undefined ? 1 : Number(opts.cpuMs);
      if (!(cpuMsPerDoc > 0 && cpuMsPerDoc <= 100))
        throw new CliError('--cpu-ms must be a number of ms above 0, at most 100');
      const result = await runBench({
        docs,
        repeat,
        rate,
        slowRate,
        followSeconds,
        cpuDocs,
        cpuMsPerDoc,
        quick,
        // `npm run bench --search` (without `--`) reaches us as npm_config_search
        search: opts.search === true || process.env.npm_config_search === 'true',
        env: process.env,
        progress: (line) => process.stderr.write(`bench: ${line}\n`),
      });
      if (opts.json) writeFileSync(opts.json, JSON.stringify(result, null, 2) + '\n');
      if (opts.chart) writeFileSync(opts.chart, renderChart(result));
      process.stdout.write(JSON.stringify(result) + '\n');
    });
}

function whole(value: string | undefined, fallback: number, flag: string, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${flag} must be a whole number of at least ${min}`);
  return n;
}

if (require.main === module) {
  benchCommand('npm run bench --')
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(`bench: ${oneLine(err)}`);
      process.exitCode = err instanceof CliError ? err.exitCode : 1;
    });
}
