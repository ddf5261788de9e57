import { createHash, createHmac } from 'node:crypto';
import { retryChangeWorkflowId } from '../workflows/ids';
import { idHashKey, type CodecKeys } from '../codec/codec-keys';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/**
 * The `retryChange` workflow id of a doc: `pillow/<name>/change/<doc id>` (ids.ts, with Node's
 * SHA-1 for long doc ids). Workflow ids cannot be encrypted, so when a codec key is configured the
 * doc id is replaced by a keyed hash, `pillow/<name>/change/h-<32 base32 characters>` (HMAC-SHA256
 * under a key derived from the current codec key, 160 bits kept); the real id stays in the
 * workflow's encrypted input and status.
 */
export function retryChangeId(pillow: string, docId: string, keys?: CodecKeys | null): string {
  return keys ? hashedRetryChangeId(pillow, docId, keys.current.key) : retryChangeWorkflowId(pillow, docId, sha1);
}

/**
 * Every id a doc's running `retryChange` workflow may have, the one new workflows get first: with
 * keys, the hash under the current key, then under each older key (started before a rotation),
 * then the plain id (started before a key was configured).
 */
export function retryChangeIdCandidates(pillow: string, docId: string, keys?: CodecKeys | null): string[] {
  const plain = retryChangeWorkflowId(pillow, docId, sha1);
  if (!keys) return [plain];
  const ids = [retryChangeId(pillow, docId, keys)];
  for (const [id, key] of keys.byId) if (id !== keys.current.id) ids.push(hashedRetryChangeId(pillow, docId, key));
  ids.push(plain);
  return [...new Set(ids)];
}

/** Whether a retry workflow id hides its doc id (`…/change/h-…`): the doc id is then read from its input or status. */
export function isHashedRetryChangeId(workflowId: string): boolean {
  return /\/change\/h-[a-z2-7]{32}$/.test(workflowId);
}

function hashedRetryChangeId(pillow: string, docId: string, codecKey: Buffer): string {
  const mac = createHmac('sha256', idHashKey(codecKey)).update(`${pillow}\0${docId}`).digest();
  return `pillow/${pillow}/change/h-${base32(mac.subarray(0, 20))}`;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32, lower case, no padding (20 bytes give 32 characters). */
function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
