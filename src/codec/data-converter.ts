import type { DataConverter } from '@temporalio/common';
import type { CodecKeys } from './codec-keys';
import { EncryptionCodec } from './encryption-codec';

/** The file the workflow bundle, workers and clients load the failure converter from when a key is configured. */
export const ENCODED_FAILURE_CONVERTER_PATH = require.resolve('./encoded-failure-converter');

/**
 * The data converter of every pillowtop client and worker: with keys, payloads are encrypted and
 * failure messages moved into (encrypted) payloads; without, the SDK's defaults (nothing changes).
 */
export function pillowtopDataConverter(keys: CodecKeys | null | undefined): DataConverter | undefined {
  if (!keys) return undefined;
  return { payloadCodecs: [new EncryptionCodec(keys)], failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH };
}
