import type { ChangeFailure } from '../../types';
import { handOffFailures, handOffUnfinished, signalResolved } from '../hand-off-failures';
import type { WriteResult } from '../write-changes';
import type { PageContext } from './page-context';

/**
 * After the batch committed: hands its failing changes (and any an earlier hand-off left) to their
 * `retryChange` workflows, and tells the retries of docs that went through now that they are resolved.
 * Returns the failures and how many changes the processors took.
 */
export async function settleFailures(
  at: PageContext,
  written: WriteResult,
): Promise<{ failures: ChangeFailure[]; processed: number }> {
  const { deps, pillow } = at;
  const failures = written.failures;
  if (failures.length > 0 || handOffUnfinished(pillow.name))
    await handOffFailures(deps, pillow.name, at.ctx.info.taskQueue);
  await signalResolved(deps, pillow.name, written.resolved);
  const failedIds = new Set(failures.map((f) => f.id));
  const processed = written.loaded.kept.filter((c) => !failedIds.has(c.id) && !written.loaded.filteredOut.has(c.id));
  return { failures, processed: processed.length };
}
