import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { CodecKeys } from './codec-keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A payload that names a key this process does not have (the message names the id, never a key). */
export class UnknownCodecKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`payload is encrypted with key "${keyId}", which is not configured (PILLOWTOP_CODEC_KEY / _FILE)`);
    this.name = 'UnknownCodecKeyError';
  }
}

/**
 * AES-256-GCM over whole payloads, as in Temporal's `encryption` sample: the payload (metadata and
 * data) is serialized and encrypted with the current key; the result says `encoding:
 * binary/encrypted` and names its key in `encryption-key-id`, so after a rotation old payloads
 * decrypt with the key they name. Data is `iv (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`.
 * Payloads that are not encrypted pass through decode unchanged (histories from before the key).
 * Runs in clients and workers, outside the workflow sandbox: workflow code never imports it.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys.current;
    return payloads.map((payload) => ({
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: Buffer.from(id),
      },
      data: encrypt(Buffer.from(temporal.api.common.v1.Payload.encode(payload).finish()), key),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
      const idBytes = payload.metadata?.[KEY_ID_METADATA];
      if (!idBytes) throw new Error(`encrypted payload has no ${KEY_ID_METADATA} metadata`);
      const id = Buffer.from(idBytes).toString();
      const key = this.keys.byId.get(id);
      if (!key) throw new UnknownCodecKeyError(id);
      const plain = decrypt(Buffer.from(payload.data ?? new Uint8Array()), key, id);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

function encrypt(plain: Buffer, key: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function decrypt(data: Buffer, key: Buffer, keyId: string): Buffer {
  if (data.length < IV_BYTES + TAG_BYTES) throw new Error(`encrypted payload (key "${keyId}") is too short`);
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new Error(`encrypted payload does not decrypt with key "${keyId}" (a different key under the same id?)`);
  }
}
