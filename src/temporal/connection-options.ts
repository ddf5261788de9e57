import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { codecKeysFromEnv, type CodecKeys } from '../codec/codec-keys';
import { DEFAULT_TASK_QUEUE } from '../workflows/ids';

/**
 * How to reach Temporal, read the way the Temporal SDK's environment configuration reads it
 * (`@temporalio/envconfig`): a profile from the TOML config file (`TEMPORAL_CONFIG_FILE`, else
 * `~/.config/temporalio/temporal.toml`; profile `TEMPORAL_PROFILE`, else `default`), overridden
 * by `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY` (implies TLS), `TEMPORAL_TLS`,
 * `TEMPORAL_TLS_CLIENT_CERT_PATH` / `_DATA`, `TEMPORAL_TLS_CLIENT_KEY_PATH` / `_DATA` (mTLS),
 * `TEMPORAL_TLS_SERVER_CA_CERT_PATH` / `_DATA`, `TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_GRPC_META_*`.
 * Defaults: `localhost:7233`, namespace `default`, plaintext.
 */
export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  /** `true`: TLS with the system's roots; an object: TLS with these settings; `false`: plaintext. */
  tls?: TLSConfig | boolean;
  /** gRPC headers sent with every call (`TEMPORAL_GRPC_META_<NAME>`). */
  metadata?: Record<string, string>;
  /** Payload encryption keys (`PILLOWTOP_CODEC_KEY` / `_FILE`); absent: payloads stay plain. */
  codecKeys?: CodecKeys;
}

/** The variables the SDK's environment configuration reads (besides `TEMPORAL_GRPC_META_*`). */
export const TEMPORAL_ENV_VARS = [
  'TEMPORAL_CONFIG_FILE',
  'TEMPORAL_PROFILE',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
] as const;

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/**
 * `TEMPORAL_TLS`: 1, true, yes, on turn TLS on; 0, false, no, off turn it off (any case); unset or
 * empty leaves it to the other settings. Anything else is an error rather than a silent plaintext.
 */
export function parseTlsFlag(value: string | undefined): boolean | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new Error(`TEMPORAL_TLS must be one of 1, true, yes, on, 0, false, no, off; got "${value}"`);
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  // docker compose passes a variable that .env leaves blank as an empty string: that means unset
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || (key.startsWith('TEMPORAL_') && value === '')) continue;
    vars[key] = value;
  }
  const tls = parseTlsFlag(vars.TEMPORAL_TLS);
  // the SDK takes only "1" and "true" as on and anything else as off: hand it the parsed value
  if (tls === undefined) delete vars.TEMPORAL_TLS;
  else vars.TEMPORAL_TLS = tls ? 'true' : 'false';
  const hasCert = !!(vars.TEMPORAL_TLS_CLIENT_CERT_PATH || vars.TEMPORAL_TLS_CLIENT_CERT_DATA);
  const hasKey = !!(vars.TEMPORAL_TLS_CLIENT_KEY_PATH || vars.TEMPORAL_TLS_CLIENT_KEY_DATA);
  if (hasCert !== hasKey)
    throw new Error(
      'set both TEMPORAL_TLS_CLIENT_CERT_PATH (or _DATA) and TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA), or neither',
    );
  const { namespace, connectionOptions: c } = loadClientConnectConfig({ overrideEnvVars: vars });
  const metadata = c.metadata && Object.keys(c.metadata).length ? (c.metadata as Record<string, string>) : undefined;
  const codecKeys = codecKeysFromEnv(env);
  return {
    address: c.address || 'localhost:7233',
    namespace: namespace || 'default',
    ...(c.apiKey ? { apiKey: c.apiKey as string } : {}),
    ...(c.tls !== undefined && c.tls !== null ? { tls: stripUndefined(c.tls) } : {}),
    ...(metadata ? { metadata } : {}),
    ...(codecKeys ? { codecKeys } : {}),
  };
}

function stripUndefined(tls: TLSConfig | boolean): TLSConfig | boolean {
  if (typeof tls === 'boolean') return tls;
  // envconfig reads files into Uint8Arrays; the connection types take Buffers
  const buf = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b));
  return {
    ...(tls.serverNameOverride ? { serverNameOverride: tls.serverNameOverride } : {}),
    ...(tls.serverRootCACertificate ? { serverRootCACertificate: buf(tls.serverRootCACertificate) } : {}),
    ...(tls.clientCertPair
      ? { clientCertPair: { crt: buf(tls.clientCertPair.crt), key: buf(tls.clientCertPair.key) } }
      : {}),
  };
}

/** Options both the client `Connection` and the worker's `NativeConnection` accept. */
export function clientConnectionOptions(s: TemporalSettings): {
  address: string;
  apiKey?: string;
  tls?: TemporalSettings['tls'];
  metadata?: Record<string, string>;
} {
  return {
    address: s.address,
    ...(s.apiKey ? { apiKey: s.apiKey } : {}),
    ...(s.tls !== undefined ? { tls: s.tls } : {}),
    ...(s.metadata ? { metadata: s.metadata } : {}),
  };
}

/** The task queue pillows run on: `PILLOWTOP_TASK_QUEUE`, else DEFAULT_TASK_QUEUE. */
export function taskQueue(env: NodeJS.ProcessEnv = process.env): string {
  return env.PILLOWTOP_TASK_QUEUE || DEFAULT_TASK_QUEUE;
}
