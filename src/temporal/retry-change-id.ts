import { createHash } from 'node:crypto';
import { retryChangeWorkflowId } from '../workflows/ids';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** The `retryChange` workflow id of a doc (ids.ts, with Node's SHA-1 for long doc ids). */
export function retryChangeId(pillow: string, docId: string): string {
  return retryChangeWorkflowId(pillow, docId, sha1);
}
