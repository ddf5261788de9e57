import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { setupSuite, eventually, testEnv, type Suite } from './helpers/harness';
import { OPS_CONFIG, ROOT, opsEnv, runPillowtop } from './helpers/pillowtop-cli';
import { loadConfig } from '../src/config/load-config';
import { caseDoc, writeDocs } from '../src/dev/demo-data';
import type { PillowStatusRow } from '../src/operations/pillow-status';

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
    env = opsEnv({
      prefix: PREFIX,
      couchDb: db,
      couchUrl: s.couchUrl,
      databaseUrl: s.databaseUrl,
      taskQueue: s.taskQueue,
    });
    Object.assign(process.env, { OPS_PREFIX: PREFIX, OPS_COUCH_DB: db });
    await s.startWorker(loadConfig(OPS_CONFIG));
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
