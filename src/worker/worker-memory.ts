import v8 from 'node:v8';

/**
 * How the worker keeps its memory flat (issue #13; measured by `npm run bench -- --memory`, see
 * BENCHMARKS.md). A catch-up parses a page of 1,000 docs every few tens of milliseconds and drops it
 * soon after: the live heap stays near 50 MB, but left to its defaults V8 lets the heap grow to about
 * four times the live size before its next full collection (its growth factor on a machine with more
 * than 2 GB of heap limit), and keeps young generations of 16 MB semi-spaces in each isolate. The
 * worker's RSS then rose from ~185 MB to 310–340 MB during a catch-up of 50,000 docs and only came
 * down when V8's memory reducer ran, a minute or more into following.
 */

/**
 * Node options the worker process starts with: a young generation of 4 MB semi-spaces instead of up
 * to 16 MB (about 25 MB less RSS, no change in catch-up speed measured). V8 reads this when the main
 * isolate is created, so it has to be on the command line: the Docker image sets it in NODE_OPTIONS
 * and the bench's worker starts with it; set it the same way where `pillowtop worker` runs elsewhere.
 */
export const WORKER_NODE_OPTIONS = ['--max-semi-space-size=4'];

/**
 * The heap grows by this percentage of its live size between full collections (V8's own factor is up
 * to 300 %): collections come more often, each of a heap that stays small. A soft setting, unlike a
 * heap limit: a worker that really needs more memory (many pillows, big docs) grows as before.
 * @default 30
 */
export const DEFAULT_HEAP_GROWING_PERCENT = 30;

/** `PILLOWTOP_HEAP_GROWING_PERCENT`: a whole number of 0 (V8's own heuristics) or more. */
export function heapGrowingPercent(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PILLOWTOP_HEAP_GROWING_PERCENT?.trim();
  if (!raw) return DEFAULT_HEAP_GROWING_PERCENT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 1000)
    throw new Error(`PILLOWTOP_HEAP_GROWING_PERCENT must be a whole number from 0 to 1000, not "${raw}"`);
  return n;
}

/**
 * Applies the worker's heap settings to this process, before the Temporal worker is created. Both are
 * V8 flags set at run time: the growing percentage is read at every full collection (of every
 * isolate), and the semi-space size when an isolate is created, so it reaches the thread the SDK
 * starts for workflow code (the main isolate's comes from WORKER_NODE_OPTIONS).
 */
export function applyWorkerHeapSettings(env: NodeJS.ProcessEnv = process.env): void {
  const percent = heapGrowingPercent(env);
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  for (const flag of WORKER_NODE_OPTIONS) v8.setFlagsFromString(flag);
}
