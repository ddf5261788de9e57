/**
 * How pillowtop reads its Temporal connection from the environment (the SDK's envconfig
 * conventions, TEMPORAL_TLS spelled any usual way) and where the metrics endpoint listens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseTlsFlag, temporalSettings } from '../src/temporal/connection-options';
import { startMetricsServer } from '../src/metrics/metrics-server';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pillowtop-conn-'));
// no profile file unless a test writes one: a developer's ~/.config/temporalio/temporal.toml stays out
const base = { TEMPORAL_CONFIG_FILE: path.join(dir, 'absent.toml') };
const settings = (env: NodeJS.ProcessEnv) => temporalSettings({ ...base, ...env });

test('defaults: localhost:7233, namespace default, plaintext', () => {
  assert.deepEqual(settings({}), { address: 'localhost:7233', namespace: 'default' });
  // docker compose hands a blank .env entry over as an empty string: the same as unset
  assert.deepEqual(settings({ TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '', TEMPORAL_TLS: '' }), {
    address: 'localhost:7233',
    namespace: 'default',
  });
});

test('TEMPORAL_TLS=1, true, yes, on (any case) turn TLS on; 0, false, no, off turn it off', () => {
  for (const on of ['1', 'true', 'yes', 'on', 'TRUE', 'Yes', ' 1 ']) {
    assert.equal(parseTlsFlag(on), true, on);
    assert.ok(settings({ TEMPORAL_TLS: on }).tls, `TEMPORAL_TLS=${on} gives TLS`);
  }
  for (const off of ['0', 'false', 'no', 'off', 'FALSE']) {
    assert.equal(parseTlsFlag(off), false, off);
    assert.ok(!settings({ TEMPORAL_TLS: off }).tls, `TEMPORAL_TLS=${off} gives plaintext`);
  }
  assert.equal(parseTlsFlag(undefined), undefined);
  assert.throws(() => settings({ TEMPORAL_TLS: 'maybe' }), /TEMPORAL_TLS must be one of 1, true, yes/);
});

test('an API key or a TLS file turns TLS on; TEMPORAL_TLS=false turns it off even then', () => {
  const cloud = settings({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k' });
  assert.equal(cloud.apiKey, 'k');
  assert.equal(cloud.tls, true);
  assert.equal(settings({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).tls, false);
  const ca = path.join(dir, 'ca.pem');
  writeFileSync(ca, 'CA');
  const withCa = settings({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
  assert.deepEqual(withCa.tls, { serverRootCACertificate: Buffer.from('CA'), serverNameOverride: 'temporal.internal' });
  const crt = path.join(dir, 'client.pem');
  const key = path.join(dir, 'client.key');
  writeFileSync(crt, 'CRT');
  writeFileSync(key, 'KEY');
  const mtls = settings({ TEMPORAL_TLS_CLIENT_CERT_PATH: crt, TEMPORAL_TLS_CLIENT_KEY_PATH: key });
  assert.deepEqual(mtls.tls, { clientCertPair: { crt: Buffer.from('CRT'), key: Buffer.from('KEY') } });
  assert.throws(() => settings({ TEMPORAL_TLS_CLIENT_CERT_PATH: crt }), /set both TEMPORAL_TLS_CLIENT_CERT_PATH/);
});

test('a profile from the TOML config file (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE), overridden by TEMPORAL_*', () => {
  const file = path.join(dir, 'temporal.toml');
  writeFileSync(
    file,
    [
      '[profile.default]',
      'address = "localhost:7233"',
      '[profile.prod]',
      'address = "temporal.prod:7233"',
      'namespace = "pillows"',
      '[profile.prod.tls]',
      'server_name = "temporal.prod"',
      '',
    ].join('\n'),
  );
  const prod = temporalSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
  assert.equal(prod.address, 'temporal.prod:7233');
  assert.equal(prod.namespace, 'pillows');
  assert.deepEqual(prod.tls, { serverNameOverride: 'temporal.prod' });
  const overridden = temporalSettings({
    TEMPORAL_CONFIG_FILE: file,
    TEMPORAL_PROFILE: 'prod',
    TEMPORAL_NAMESPACE: 'x',
  });
  assert.equal(overridden.namespace, 'x');
  assert.throws(() => temporalSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' }), /nope/);
  assert.deepEqual(settings({ TEMPORAL_GRPC_META_X_TENANT: 't1' }).metadata, { 'x-tenant': 't1' });
});

test('the metrics endpoint listens on 127.0.0.1 unless PILLOWTOP_METRICS_HOST says otherwise', async () => {
  // (test/metrics.test.ts sets the host explicitly)
  const server = await startMetricsServer({ PILLOWTOP_METRICS_PORT: '0' });
  try {
    assert.equal(server.address, '127.0.0.1');
    assert.equal((await fetch(server.url)).status, 200);
  } finally {
    await server.close();
  }
});
