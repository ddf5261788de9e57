import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Loaded by path (`failureConverterPath`) in clients, workers and the workflow bundle when a codec
 * key is configured: failure messages and stack traces go into an encoded attributes payload, so
 * the codec encrypts them too (they quote doc values and PostgreSQL messages). Sandbox-safe.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
