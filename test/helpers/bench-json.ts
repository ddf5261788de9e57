/** Runs `pillowtop bench` as users run it, against the test servers, and reads the figures it prints. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { testEnv } from './harness';
import { ROOT } from './pillowtop-cli';
import type { BenchResult } from '../../bench/bench-result';

const run = promisify(execFile);

/**
 * `pillowtop bench <args>` with the test Temporal and CouchDB servers and `env` on top (DATABASE_URL
 * at least): its progress (stderr) and the JSON object on its last stdout line.
 */
export async function runBenchJson<T = BenchResult>(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ result: T; stderr: string }> {
  const out = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bench', ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: testEnv('PILLOWTOP_TEST_TEMPORAL_ADDRESS'),
      COUCH_URL: testEnv('PILLOWTOP_TEST_COUCH_URL'),
      ...env,
    },
    timeout: 600_000,
    maxBuffer: 10 * 1024 * 1024,
  });
  const lines = out.stdout.trim().split('\n');
  return { result: JSON.parse(lines[lines.length - 1]) as T, stderr: out.stderr };
}
