/**
 * Figures of the fault and bad-input suites, printed as one line when a test file ends and added
 * to `$PILLOWTOP_TEST_DIR/faults-tally.jsonl`, which test/run-tests.ts sums into one line at the end.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';

/** Lost, stale and extra docs are checked against the source's winners; replays are deliveries a custom processor saw again. */
export const tally = { faults: 0, badInputs: 0, docsChecked: 0, lost: 0, stale: 0, extra: 0, replayed: 0 };

export function summaryLine(t: typeof tally, label: string): string {
  return `${label}: faults survived ${t.faults}, bad inputs tried ${t.badInputs}, docs checked ${t.docsChecked}, docs lost: ${t.lost}, stale: ${t.stale}, extra: ${t.extra}, changes replayed to custom processors: ${t.replayed}`;
}

/** For an `after()` hook: prints this file's line and records it for the run's total. */
export function reportTally(file: string): void {
  const label = path.basename(file);
  process.stdout.write(summaryLine(tally, `fault suite (${label})`) + '\n');
  const dir = process.env.PILLOWTOP_TEST_DIR;
  if (dir) appendFileSync(path.join(dir, 'faults-tally.jsonl'), JSON.stringify({ file: label, ...tally }) + '\n');
}
