import { readFileSync } from 'node:fs';

/**
 * How to reach Temporal, from the usual environment:
 * `TEMPORAL_ADDRESS` (default `localhost:7233`), `TEMPORAL_NAMESPACE` (`default`),
 * `TEMPORAL_API_KEY` (Temporal Cloud; implies TLS), `TEMPORAL_TLS=true`,
 * `TEMPORAL_TLS_CLIENT_CERT_PATH` / `TEMPORAL_TLS_CLIENT_KEY_PATH` (mTLS),
 * `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_SERVER_NAME`.
 */
export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: {
    clientCertPair?: { crt: Buffer; key: Buffer };
    serverRootCACertificate?: Buffer;
    serverNameOverride?: string;
  };
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const certPath = env.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const keyPath = env.TEMPORAL_TLS_CLIENT_KEY_PATH;
  if (!!certPath !== !!keyPath)
    throw new Error('set both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or neither');
  const wantsTls =
    env.TEMPORAL_TLS === 'true' || !!certPath || !!env.TEMPORAL_API_KEY || !!env.TEMPORAL_TLS_SERVER_CA_CERT_PATH;
  return {
    address: env.TEMPORAL_ADDRESS || 'localhost:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}),
    ...(wantsTls
      ? {
          tls: {
            ...(certPath && keyPath
              ? { clientCertPair: { crt: readFileSync(certPath), key: readFileSync(keyPath) } }
              : {}),
            ...(env.TEMPORAL_TLS_SERVER_CA_CERT_PATH
              ? { serverRootCACertificate: readFileSync(env.TEMPORAL_TLS_SERVER_CA_CERT_PATH) }
              : {}),
            ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
          },
        }
      : {}),
  };
}

/** Options both the client `Connection` and the worker's `NativeConnection` accept. */
export function clientConnectionOptions(s: TemporalSettings): {
  address: string;
  apiKey?: string;
  tls?: TemporalSettings['tls'];
} {
  return {
    address: s.address,
    ...(s.apiKey ? { apiKey: s.apiKey } : {}),
    ...(s.tls ? { tls: s.tls } : {}),
  };
}

export function taskQueue(env: NodeJS.ProcessEnv = process.env): string {
  return env.PILLOWTOP_TASK_QUEUE || 'pillowtop';
}
