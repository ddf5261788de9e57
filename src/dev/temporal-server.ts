import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureTemporalCli } from './temporal-cli';
import { spawnManaged, waitFor } from './child-process';
import { freePort } from './ports';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

export interface TemporalDevServer {
  address: string;
  uiUrl: string | null;
  /** The Temporal CLI binary that runs it (also what `temporal workflow …` commands need). */
  cli: string;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  /** Folder for the log (and the database file when `persistent`). */
  dir: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  /** Keep workflows in `<dir>/temporal.db` across restarts. */
  dbFile?: string;
  /** The Web UI decodes payloads through this remote codec endpoint (`pillowtop codec-server`). */
  uiCodecEndpoint?: string;
  env?: NodeJS.ProcessEnv;
  /** In a process group of its own (see `spawnManaged`). */
  detached?: boolean;
}

/** Starts `temporal server start-dev` with pillowtop's search attributes, and waits until it answers. */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const cli = ensureTemporalCli(opts.env);
  const port = opts.port ?? (await freePort());
  const uiPort = opts.headless ? null : (opts.uiPort ?? (await freePort()));
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  args.push('--http-port', String(await freePort()), '--metrics-port', String(await freePort()));
  if (uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  // more history per run before continue-as-new is suggested is fine; keep server defaults otherwise
  const proc = spawnManaged(cli, args, path.join(opts.dir, `temporal-${port}.log`), {
    detached: opts.detached === true,
  });
  const address = `127.0.0.1:${port}`;
  await waitFor(
    `Temporal dev server on ${address} (log: ${path.join(opts.dir, `temporal-${port}.log`)})`,
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        return !!customAttributes && 'PillowName' in customAttributes;
      } finally {
        await connection.close();
      }
    },
    90_000,
    proc.exited,
  );
  return { address, uiUrl: uiPort === null ? null : `http://127.0.0.1:${uiPort}`, cli, stop: () => proc.stop() };
}
