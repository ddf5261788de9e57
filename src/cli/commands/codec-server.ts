import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { codecKeysFromEnv, keyFingerprint } from '../../codec/codec-keys';
import { startCodecServer } from '../../codec/codec-server';
import { CliError } from '../cli-error';

const collect = (value: string, previous: string[]) => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number (0-65535)');
  return n;
}

export function registerCodecServer(program: Command): void {
  program
    .command('codec-server')
    .description('decrypt and encrypt payloads for the Temporal Web UI and CLI (remote codec endpoint)')
    .option('--port <port>', 'port to listen on', port, 8888)
    .option('--host <host>', 'address to listen on (who reaches it can read every payload)', '127.0.0.1')
    .option('--cors-origin <origin>', 'Web UI origin allowed to call it (repeat or comma-separate)', collect, [])
    .addHelpText(
      'after',
      `
Keys: PILLOWTOP_CODEC_KEY or PILLOWTOP_CODEC_KEY_FILE, as for the worker.
Web UI: temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8888 (or TEMPORAL_CODEC_ENDPOINT for the
        temporalio/ui image, or the UI's "Data Encoder" setting), with --cors-origin http://localhost:8233
Temporal CLI: temporal workflow show --workflow-id pillow/cases --codec-endpoint http://127.0.0.1:8888`,
    )
    .action(async (opts: { port: number; host: string; corsOrigin: string[] }) => {
      const keys = codecKeysFromEnv();
      if (!keys) throw new CliError('no codec key: set PILLOWTOP_CODEC_KEY or PILLOWTOP_CODEC_KEY_FILE');
      const corsOrigins = opts.corsOrigin.length ? opts.corsOrigin : ['http://localhost:8233', 'http://127.0.0.1:8233'];
      const server = await startCodecServer({ keys, port: opts.port, host: opts.host, corsOrigins }).catch(
        (err: Error) => {
          throw new CliError(`codec server cannot listen on ${opts.host}:${opts.port}: ${err.message}`);
        },
      );
      console.log(
        `codec server on ${server.url} (keys: ${[...keys.byId.keys()].join(', ')}; current: ${keys.current.id}; CORS: ${corsOrigins.join(', ')})`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    });

  program
    .command('codec-key')
    .description('print a new random 32-byte codec key (base64) with its id, for PILLOWTOP_CODEC_KEY')
    .option('--id <id>', 'name the key (default: its fingerprint)')
    .action((opts: { id?: string }) => {
      const key = randomBytes(32);
      console.log(`${opts.id ?? keyFingerprint(key)}:${key.toString('base64')}`);
    });
}
