import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One AES-256 key and the id payloads name it by (`encryption-key-id`). */
export interface CodecKey {
  id: string;
  key: Buffer;
}

/** The configured keys: payloads are encrypted with `current` and decrypted with whichever key they name. */
export interface CodecKeys {
  current: CodecKey;
  /** Every key by id, `current` included. */
  byId: Map<string, Buffer>;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The keys from the environment, or null when none is configured (payloads then stay plain):
 * `PILLOWTOP_CODEC_KEY` holds the keys themselves, `PILLOWTOP_CODEC_KEY_FILE` names a file holding
 * them (not both). Either holds one or more entries separated by commas or newlines, each
 * `[id:]key`: a 32-byte key in base64 or hex, with an optional id; the first entry is the current
 * key (new payloads are encrypted with it), the others only decrypt. A key without an id is named
 * by its fingerprint (`k` + 12 hex digits of its SHA-256), so the same key always gets the same id.
 * Lines starting with `#` in the file are comments.
 */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv = process.env): CodecKeys | null {
  const inline = env.PILLOWTOP_CODEC_KEY?.trim();
  const file = env.PILLOWTOP_CODEC_KEY_FILE?.trim();
  if (inline && file) throw new Error('set PILLOWTOP_CODEC_KEY or PILLOWTOP_CODEC_KEY_FILE, not both');
  if (inline) return parseCodecKeys(inline, 'PILLOWTOP_CODEC_KEY');
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`PILLOWTOP_CODEC_KEY_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
    return parseCodecKeys(text, `PILLOWTOP_CODEC_KEY_FILE (${file})`);
  }
  return null;
}

/** Parses the `[id:]key, …` list (see codecKeysFromEnv); `source` names it in errors, which never quote a key. */
export function parseCodecKeys(text: string, source: string): CodecKeys {
  const entries = text
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith('#'))
    .join(',')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new Error(`${source} holds no key`);
  const keys: CodecKey[] = entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    const id = colon >= 0 ? entry.slice(0, colon).trim() : null;
    const key = decodeKey(colon >= 0 ? entry.slice(colon + 1).trim() : entry, `${source}: entry ${i + 1}`);
    if (id !== null && !KEY_ID.test(id))
      throw new Error(`${source}: entry ${i + 1}: key id "${id}" must be 1-64 letters, digits, ".", "_" or "-"`);
    return { id: id ?? keyFingerprint(key), key };
  });
  const byId = new Map<string, Buffer>();
  for (const k of keys) {
    if (byId.has(k.id)) throw new Error(`${source}: key id "${k.id}" appears twice`);
    byId.set(k.id, k.key);
  }
  return { current: keys[0], byId };
}

function decodeKey(text: string, where: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(text)
      ? Buffer.from(text, 'base64')
      : null;
  if (!key || key.length !== 32)
    throw new Error(
      `${where}: a key must be 32 bytes in base64 (44 characters) or hex (64 digits), e.g. from \`openssl rand -base64 32\``,
    );
  return key;
}

/** `k` + 12 hex digits of the key's SHA-256: the id of a key given without one. */
export function keyFingerprint(key: Buffer): string {
  return 'k' + createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** A key of its own for hashing doc ids into workflow ids, derived from a codec key (never the key itself). */
export function idHashKey(key: Buffer): Buffer {
  return createHmac('sha256', key).update('pillowtop retryChange workflow id').digest();
}
