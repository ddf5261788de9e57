/**
 * docker-compose.yml, checked without a Docker engine: it parses, every start-up chain ends, every
 * image is pinned, every healthcheck and entrypoint calls a binary its image ships
 * (deploy/image-binaries.json), credentials come only from .env, only browser ports are published
 * and only on 127.0.0.1, and the workers' environment is what pillowtop reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { TEMPORAL_ENV_VARS } from '../src/temporal/connection-options';

const root = path.resolve(__dirname, '..');
type Env = Record<string, string>;
interface Service {
  image?: string;
  build?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Env;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
}
const text = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
// merge: compose reads YAML merge keys (<<: *anchor), which the file uses for the two Temporal nodes
const compose = parse(text, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const shipped = (
  JSON.parse(readFileSync(path.join(root, 'deploy', 'image-binaries.json'), 'utf8')) as {
    images: Record<string, { binaries: string[]; source: string }>;
  }
).images;
const imageOf = (s: Service) => s.image ?? `build:${s.build}`;

test('docker-compose.yml declares the deployment the README describes', () => {
  for (const name of [
    'postgresql',
    'temporal-schema',
    'temporal-1',
    'temporal-2',
    'temporal-namespace',
    'pillowtop-setup',
    'temporal-ui',
    'couchdb',
    'worker',
    'prometheus',
    'grafana',
  ])
    assert.ok(services[name], `service ${name}`);
  assert.equal(services.worker.build, '.');
  assert.match(
    services['temporal-1'].image!,
    /^temporalio\/server:/,
    'temporalio/server, not the deprecated auto-setup',
  );
  assert.ok(!/auto-setup|tctl\s/.test(JSON.stringify(services)), 'no auto-setup image, no tctl call');
  // every file mounted from the repo exists
  for (const service of Object.values(services)) {
    for (const volume of service.volumes ?? []) {
      const source = volume.split(':')[0];
      if (source.startsWith('./')) assert.ok(existsSync(path.join(root, source)), `${source} exists`);
    }
  }
  assert.ok(existsSync(path.join(root, 'Dockerfile')));
});

test('every depends_on chain ends, and each condition can be met', () => {
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string, chain: string[]) => {
    assert.ok(services[name], `${chain.join(' -> ')} depends on an unknown service ${name}`);
    assert.ok(!visiting.has(name), `depends_on cycle: ${[...chain, name].join(' -> ')}`);
    if (done.has(name)) return;
    visiting.add(name);
    for (const [dep, { condition }] of Object.entries(services[name].depends_on ?? {})) {
      if (condition === 'service_healthy')
        assert.ok(services[dep]?.healthcheck, `${name} waits for ${dep} healthy: ${dep} has a healthcheck`);
      else if (condition === 'service_completed_successfully')
        assert.equal(
          services[dep]?.restart,
          'no',
          `${name} waits for ${dep} to complete: ${dep} is one-shot (restart: "no")`,
        );
      else assert.equal(condition, 'service_started', `${name} -> ${dep}: known condition`);
      visit(dep, [...chain, name]);
    }
    visiting.delete(name);
    done.add(name);
  };
  for (const name of Object.keys(services)) visit(name, []);
  // the order the config file's cluster needs: schema before any node, one node before the other
  assert.equal(services['temporal-1'].depends_on?.['temporal-schema']?.condition, 'service_completed_successfully');
  assert.equal(services['temporal-2'].depends_on?.['temporal-1']?.condition, 'service_healthy');
  assert.equal(services.worker.depends_on?.['pillowtop-setup']?.condition, 'service_completed_successfully');
});

test('every image is pinned to a release, here and in the Dockerfile', () => {
  const pinned = (image: string) => /:v?\d+\.\d+(\.\d+)?([-.][\w.-]+)?$/.test(image) && !/:latest$/.test(image);
  for (const [name, s] of Object.entries(services)) if (s.image) assert.ok(pinned(s.image), `${name}: ${s.image}`);
  const froms = [...readFileSync(path.join(root, 'Dockerfile'), 'utf8').matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  assert.ok(froms.length > 0);
  for (const image of froms) assert.ok(/:\d+\.\d+\.\d+-/.test(image), `Dockerfile FROM ${image}`);
});

test('healthchecks and entrypoints call only binaries their image ships (deploy/image-binaries.json)', () => {
  for (const [image, entry] of Object.entries(shipped))
    assert.ok(entry.source.length > 20, `${image} says how we know`);
  for (const [name, s] of Object.entries(services)) {
    const known = shipped[imageOf(s)];
    assert.ok(known, `${name}: ${imageOf(s)} is listed in deploy/image-binaries.json`);
    const calls: string[] = [];
    if (s.healthcheck) {
      const [kind, ...argv] = s.healthcheck.test;
      if (kind === 'CMD') calls.push(argv[0]);
      else if (kind === 'CMD-SHELL') calls.push(argv.join(' ').trim().split(/\s+/)[0]);
      else assert.fail(`${name}: healthcheck kind ${kind}`);
    }
    if (s.entrypoint) calls.push(s.entrypoint[0]);
    for (const bin of calls) assert.ok(known.binaries.includes(bin), `${name} calls ${bin}, which ${imageOf(s)} ships`);
    // a script run with `sh <path>` is one of ours, mounted from the repo
    if (s.entrypoint?.[0] === 'sh') {
      const target = s.entrypoint[1];
      const mount = (s.volumes ?? []).map((v) => v.split(':')).find(([, inside]) => target.startsWith(`${inside}/`));
      assert.ok(mount, `${name}: ${target} is mounted from the repo`);
      assert.ok(existsSync(path.join(root, mount![0], target.slice(mount![1].length))), `${name}: ${target} exists`);
    }
  }
  // the binaries deploy/temporal's scripts call, in the images that run them
  const scripts = (file: string) => readFileSync(path.join(root, 'deploy', 'temporal', file), 'utf8');
  for (const bin of ['temporal-sql-tool', 'temporal'])
    assert.match(scripts('setup-temporal.sh'), new RegExp(`^\\s*(if |until )?${bin} `, 'm'));
  for (const bin of ['temporal-sql-tool', 'temporal'])
    assert.ok(shipped[services['temporal-schema'].image!].binaries.includes(bin));
  for (const bin of ['getent', 'awk', 'hostname', 'temporal-server'])
    assert.ok(shipped[services['temporal-1'].image!].binaries.includes(bin), `start-node.sh calls ${bin}`);
});

test('credentials come from .env only: no defaults in the YAML, every variable in .env.example', () => {
  const used = new Set([...text.matchAll(/\$\{([A-Z0-9_]+)([^}]*)\}/g)].map((m) => m[1]));
  for (const m of text.matchAll(/\$\{([A-Z0-9_]+)([^}]*)\}/g))
    assert.match(m[2], /^:\?/, `\${${m[1]}${m[2]}} must be required (:?), with no default`);
  const example = readFileSync(path.join(root, '.env.example'), 'utf8');
  const declared = new Set([...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]));
  assert.deepEqual(
    [...used].sort(),
    [...declared].sort(),
    '.env.example declares exactly what docker-compose.yml uses',
  );
  for (const m of example.matchAll(/^([A-Z0-9_]*(?:PASSWORD|_KEY)[A-Z0-9_]*)=(.*)$/gm))
    assert.equal(m[2], '', `.env.example leaves ${m[1]} for the user to set`);
  // any value that holds a secret is interpolated, never written here
  for (const [name, s] of Object.entries(services))
    for (const [key, value] of Object.entries(s.environment ?? {})) {
      if (/PASSWORD|SECRET|_PWD|API_KEY|CODEC_KEY/.test(key)) assert.match(String(value), /^\$\{/, `${name}.${key}`);
      if (/:\/\/[^/]*@/.test(String(value)))
        assert.match(String(value), /:\/\/[^/@]*\$\{[^/@]*@/, `${name}.${key}: URL credentials from .env`);
    }
  assert.ok(readFileSync(path.join(root, '.gitignore'), 'utf8').split('\n').includes('.env'), '.env is not committed');
  assert.ok(
    readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').includes('.env'),
    '.env is not in the image',
  );
});

test('closed by default: only browser ports, on 127.0.0.1; Grafana without anonymous access', () => {
  const published: Record<string, string[]> = {};
  for (const [name, s] of Object.entries(services)) {
    for (const port of s.ports ?? []) {
      assert.match(port, /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${port} on 127.0.0.1 only`);
      (published[name] ??= []).push(port);
    }
  }
  assert.deepEqual(Object.keys(published).sort(), ['codec-server', 'couchdb', 'grafana', 'prometheus', 'temporal-ui']);
  assert.equal(services.grafana.environment?.GF_AUTH_ANONYMOUS_ENABLED, 'false');
  assert.ok(services.grafana.environment?.GF_SECURITY_ADMIN_PASSWORD);
  // pillowtop connects as its own role, not as the server's superuser or Temporal's
  const url = new URL(services.worker.environment!.DATABASE_URL.replace(/\$\{[^}]*\}/g, 'x'));
  assert.equal(url.username, 'pillowtop');
  assert.notEqual(url.username, services.postgresql.environment?.POSTGRES_USER);
  const roles = readFileSync(path.join(root, 'deploy', 'postgres', 'init-roles.sh'), 'utf8');
  assert.match(roles, /CREATE ROLE pillowtop LOGIN PASSWORD/);
  assert.match(roles, /CREATE DATABASE pillowtop OWNER pillowtop/);
  assert.doesNotMatch(roles, /SUPERUSER/);
});

test("the workers' environment is what pillowtop reads", () => {
  const read = new Set<string>(TEMPORAL_ENV_VARS);
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = path.join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
    });
  for (const file of walk(path.join(root, 'src')))
    for (const m of readFileSync(file, 'utf8').matchAll(/\benv(?:\.|\[')([A-Z][A-Z0-9_]+)/g)) read.add(m[1]);
  for (const name of ['worker', 'pillowtop-setup', 'codec-server']) {
    const env = services[name].environment ?? {};
    for (const key of Object.keys(env)) assert.ok(read.has(key), `${name}: pillowtop reads ${key}`);
  }
  const worker = services.worker.environment!;
  for (const key of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'COUCH_URL', 'DATABASE_URL', 'PILLOWTOP_METRICS_HOST'])
    assert.ok(worker[key], `worker env ${key}`);
  // Prometheus scrapes the port the workers serve /metrics on, on an address it can reach
  assert.equal(worker.PILLOWTOP_METRICS_HOST, '0.0.0.0');
  const prometheus = readFileSync(path.join(root, 'deploy', 'prometheus.yml'), 'utf8');
  assert.match(prometheus, new RegExp(`port: ${worker.PILLOWTOP_METRICS_PORT}\\b`));
  // the Temporal nodes get what deploy/temporal/pillowtop.yaml reads
  const config = readFileSync(path.join(root, 'deploy', 'temporal', 'pillowtop.yaml'), 'utf8');
  for (const key of Object.keys(services['temporal-1'].environment ?? {}))
    assert.match(config, new RegExp(`env "${key}"`), `pillowtop.yaml reads ${key}`);
  for (const key of ['TEMPORAL_DB_HOST', 'TEMPORAL_DB_USER', 'TEMPORAL_DB_PASSWORD'])
    assert.ok(services['temporal-1'].environment?.[key], `temporal-1 env ${key}`);
});

// `docker compose config` validates against the compose schema; it needs the compose plugin,
// which this machine's docker client may lack: then the check is reported as skipped, not passed.
const dockerCompose = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
test(
  'docker compose config parses the file',
  { skip: dockerCompose.status !== 0 ? 'docker compose is not installed here' : false },
  () => {
    execFileSync('docker', ['compose', '-f', path.join(root, 'docker-compose.yml'), 'config', '--quiet'], {
      stdio: 'pipe',
      env: { ...process.env, ...Object.fromEntries([...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => [m[1], 'x'])) },
    });
  },
);
