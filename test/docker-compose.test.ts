import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '..');
interface Service {
  image?: string;
  build?: string;
  environment?: Record<string, string>;
  volumes?: string[];
}

test('docker-compose.yml declares the deployment the README describes', () => {
  const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, Service>;
  };
  const s = compose.services;
  for (const name of ['temporal', 'temporal-ui', 'postgresql', 'couchdb', 'worker', 'prometheus', 'grafana'])
    assert.ok(s[name], `service ${name}`);
  assert.match(s.couchdb.image!, /^couchdb:3/);
  assert.equal(s.worker.build, '.');
  for (const key of ['TEMPORAL_ADDRESS', 'COUCH_URL', 'DATABASE_URL', 'PILLOWTOP_METRICS_PORT'])
    assert.ok(s.worker.environment?.[key], `worker env ${key}`);
  // every file mounted from the repo exists
  for (const service of Object.values(s)) {
    for (const volume of service.volumes ?? []) {
      const source = volume.split(':')[0];
      if (source.startsWith('./')) assert.ok(existsSync(path.join(root, source)), `${source} exists`);
    }
  }
  assert.ok(existsSync(path.join(root, 'Dockerfile')));
});

// `docker compose config` validates against the compose schema; it needs the compose plugin,
// which this machine's docker client may lack: then the check is reported as skipped, not passed.
const compose = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
test(
  'docker compose config parses the file',
  { skip: compose.status !== 0 ? 'docker compose is not installed here' : false },
  () => {
    execFileSync('docker', ['compose', '-f', path.join(root, 'docker-compose.yml'), 'config', '--quiet'], {
      stdio: 'pipe',
    });
  },
);
