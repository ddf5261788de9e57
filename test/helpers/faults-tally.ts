/**
 * Figures of the fault and bad-input suites, printed as one line when a test file ends and added
 * to `$PILLOWTOP_TEST_DIR/faults-tally.jsonl`, which test/run-tests.ts sums into one line at the end.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';

export const tally = { faults: 0, badInputs: 0, docsChecked: 0, lost: 0, duplicates: 0 };

export function summaryLine(t: typeof tally, label: string): string {
  return `${label}: faults survived ${t.faults}, bad inputs tried ${t.badInputs}, docs checked ${t.docsChecked}, docs lost: ${t.lost}, duplicates: ${t.duplicates}`;
}

/** For an `after()` hook: prints this file's line and records it for the run's total. */
export function reportTally(file: string): void {
  const label = path.basename(file);
  process.stdout.write(summaryLine(tally, `fault suite (${label})`) + '\n');
  const dir = process.env.PILLOWTOP_TEST_DIR;
  if (dir) appendFileSync(path.join(dir, 'faults-tally.jsonl'), JSON.stringify({ file: label, ...tally }) + '\n');
}
