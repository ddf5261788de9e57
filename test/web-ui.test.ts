import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { encodedFailureBundle, setupSuite, eventually, testEnv, type Suite } from './helpers/harness';
import { ROOT, runPillowtop, startOpsWorker } from './helpers/pillowtop-cli';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import type { PillowStatusRow } from '../src/operations/pillow-status';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { startTemporalDevServer, type TemporalDevServer } from '../src/dev/temporal-server';
import { freePort } from '../src/dev/ports';
import { parseCodecKeys } from '../src/codec/codec-keys';
import { pillowtopDataConverter } from '../src/codec/data-converter';
import { startCodecServer, type RunningCodecServer } from '../src/codec/codec-server';
import { startWorker, type RunningWorker } from '../src/worker/start-worker';
import { startPillow } from '../src/operations/start-pillow';
import { createRegistry } from '../src/config/pillow-registry';
import { postgresTable } from '../src/processors/postgres-table';
import { silentLogger } from '../src/logging';
import { statusQuery } from '../src/workflows/messages';
import type { PillowDefinition } from '../src/config/pillow-definition';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const PREFIX = `webui${process.pid}`;
const CASES = `${PREFIX}_cases`;

describe('the Temporal Web UI reads like a pillowtop dashboard', () => {
  let s: Suite;
  let env: NodeJS.ProcessEnv;
  let browser: Browser | undefined;
  let page: Page;

  before(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing: run \`bash scripts/bootstrap.sh\` (it installs Debian's chromium) — the browser test cannot run without it`,
      );
    s = await setupSuite('webui');
    const db = await s.couchDb('webui');
    env = await startOpsWorker(s, { prefix: PREFIX, couchDb: db });
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 25 }, (_, i) => caseDoc(i)),
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
  });
  after(async () => {
    await runPillowtop(['stop', CASES], env).catch(() => undefined);
    await browser?.close();
    await s?.cleanup();
  });

  /** The page's text, frames included. */
  async function pageText(): Promise<string> {
    const parts = await Promise.all(page.frames().map((f) => f.innerText('body').catch(() => '')));
    return parts.join('\n');
  }

  /** Saves what the browser shows, for a person to look at (and to see why a check failed). */
  async function artifact(name: string) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
    writeFileSync(path.join(ARTIFACTS, `${name}.txt`), await pageText());
  }

  test('finds pillow/<name> by its search attribute and shows its summary and current checkpoint', async () => {
    const ui = testEnv('PILLOWTOP_TEST_TEMPORAL_UI');
    assert.equal((await runPillowtop(['start', CASES], env)).code, 0);
    const status = (await eventually(
      '25 cases processed and caught up',
      async () => {
        const r = await runPillowtop(['status', CASES, '--json'], env);
        const row = (JSON.parse(r.stdout) as { pillows: PillowStatusRow[] }).pillows[0];
        return row.processed === 25 && row.pending === 0 ? row : null;
      },
      60_000,
    ))!;

    const query = encodeURIComponent(`PillowName="${CASES}"`);
    await page.goto(`${ui}/namespaces/default/workflows?query=${query}`);
    let text: string | null = null;
    const link = page.getByRole('link', { name: `pillow/${CASES}`, exact: true });
    try {
      await eventually(
        'the pillow in the workflow list',
        async () => {
          if (await link.count()) return true;
          await page.reload(); // visibility is eventually consistent
          await page.waitForTimeout(1000);
          return false;
        },
        60_000,
      );
      await artifact('web-ui-workflow-list');
      await link.first().click();
      await page.waitForURL(/\/workflows\/pillow%2F/);
      await page
        .getByRole('tab', { name: 'User Metadata' })
        .or(page.getByText('User Metadata', { exact: true }))
        .first()
        .click();
      // the UI renders summary, details and current details as markdown in sandboxed frames
      text = await eventually(
        'summary and current checkpoint on the page',
        async () => {
          const all = await pageText();
          return all.includes(`pillow ${CASES}: `) && new RegExp(`checkpoint:\\s*${status.checkpoint}\\b`).test(all)
            ? all
            : null;
        },
        30_000,
      );
      await artifact('web-ui-pillow');
    } catch (err) {
      await artifact('web-ui-failure').catch(() => undefined);
      throw err;
    }
    assert.ok(text);
    assert.match(text, new RegExp(`pillow ${CASES}: \\S+ → postgresMirror`));
    assert.match(text, /processed 25 · failed 0/);
  });
});

describe('the Web UI decrypts through pillowtop codec-server', () => {
  let s: Suite;
  let browser: Browser | undefined;
  let page: Page;
  let server: TemporalDevServer | undefined;
  let codec: RunningCodecServer | undefined;
  let worker: RunningWorker | undefined;
  let connection: Connection | undefined;
  const keys = parseCodecKeys(`ui:${randomBytes(32).toString('base64')}`, 'test');
  const name = 'sealed_ui';

  before(async () => {
    s = await setupSuite('webuicodec');
    const uiPort = await freePort();
    codec = await startCodecServer({
      keys,
      port: 0,
      host: '127.0.0.1',
      corsOrigins: [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`],
    });
    server = await startTemporalDevServer({ dir: testEnv('PILLOWTOP_TEST_DIR'), uiPort, uiCodecEndpoint: codec.url });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
  });
  after(async () => {
    await browser?.close();
    await worker?.stop();
    await connection?.close();
    await server?.stop();
    await codec?.close();
    await s?.cleanup();
  });

  test('current details and summary of a pillow run with a key show decoded in the UI', async () => {
    const db = await s.couchDb('webuicodec');
    const pillow: PillowDefinition = {
      name,
      source: { db },
      filter: { docTypes: ['CommCareCase'] },
      retry: { attempts: 1, initialIntervalSeconds: 1, backoffCoefficient: 1, maxIntervalSeconds: 1 },
      processors: [
        postgresTable({
          table: 'sealed_ui_index',
          columns: [{ name: 'age', type: 'integer', expression: 'properties.age' }],
        }),
      ],
    };
    worker = await startWorker({
      pillows: [pillow],
      temporal: { address: server!.address, namespace: 'default', codecKeys: keys },
      taskQueue: s.taskQueue,
      pool: s.pool,
      log: silentLogger,
      workflowBundle: await encodedFailureBundle(),
      env: { ...process.env, COUCH_URL: s.couchUrl },
    });
    const bad = caseDoc(7);
    await writeDocs(s.couchUrl, db, [
      caseDoc(1),
      { ...bad, properties: { ...(bad.properties as Record<string, unknown>), age: 'forty-two-secret' } },
    ]);
    connection = await Connection.connect({ address: server!.address });
    const client = new Client({ connection, dataConverter: pillowtopDataConverter(keys) });
    const [started] = await startPillow(
      client,
      createRegistry([pillow], { COUCH_URL: s.couchUrl }).get(name),
      s.taskQueue,
    );
    await eventually('the failure in the status', async () => {
      const st = await client.workflow.getHandle(started.workflowId).query(statusQuery);
      return st.lastError?.includes('forty-two-secret') && st.status !== 'failing';
    });

    const ui = server!.uiUrl!;
    await page.goto(
      `${ui}/namespaces/default/workflows/${encodeURIComponent(started.workflowId)}/${started.runId}/history`,
    );
    try {
      await page
        .getByRole('tab', { name: 'User Metadata' })
        .or(page.getByText('User Metadata', { exact: true }))
        .first()
        .click();
      const text = await eventually(
        'decoded summary and current details on the page',
        async () => {
          const parts = await Promise.all(page.frames().map((f) => f.innerText('body').catch(() => '')));
          const all = parts.join('\n');
          return all.includes(`pillow ${name}: `) && all.includes('forty-two-secret') ? all : null;
        },
        30_000,
      );
      await artifact(page, 'web-ui-codec-pillow');
      assert.match(text!, /last error: doc case-00000007: .*forty-two-secret/);
    } catch (err) {
      await artifact(page, 'web-ui-codec-failure').catch(() => undefined);
      throw err;
    }
  });
});

/** Saves what the browser shows, for a person to look at (and to see why a check failed). */
async function artifact(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const parts = await Promise.all(page.frames().map((f) => f.innerText('body').catch(() => '')));
  writeFileSync(path.join(ARTIFACTS, `${name}.txt`), parts.join('\n'));
}
