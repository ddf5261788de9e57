import type { Command } from 'commander';
import { runWorkerFromEnv } from '../../worker/run-worker-from-env';
import { DEFAULT_TASK_QUEUE } from '../../workflows/ids';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker: polls the task queue and runs the configured pillows (stops on SIGINT/SIGTERM)')
    .addHelpText(
      'after',
      `
Environment:
  TEMPORAL_ADDRESS        Temporal frontend (default localhost:7233)
  TEMPORAL_NAMESPACE      namespace (default "default"); TEMPORAL_API_KEY / TEMPORAL_TLS_* for TLS
  TEMPORAL_TLS            1, true, yes or on: TLS on; TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE: a TOML profile
  PILLOWTOP_TASK_QUEUE    task queue (default "${DEFAULT_TASK_QUEUE}")
  PILLOWTOP_CONFIG        config file (default pillowtop.config.ts in the project)
  COUCH_URL               CouchDB server, credentials included
  DATABASE_URL            PostgreSQL: checkpoints and the PostgreSQL processors
  PILLOWTOP_METRICS_PORT  Prometheus /metrics port (default 9464; 0 picks a free port)
  PILLOWTOP_METRICS_HOST  address /metrics listens on (default 127.0.0.1; 0.0.0.0 for a remote Prometheus)
  PILLOWTOP_BUILD_ID      this worker's version; set: it gets work once \`pillowtop deploy set-current\` made
                          that version current (unset: an unversioned worker, sharing every task)
  PILLOWTOP_DEPLOYMENT_NAME  the Worker Deployment the build id belongs to (default "pillowtop")
  PILLOWTOP_HEAP_GROWING_PERCENT  how far the V8 heap grows past its live size between full collections
                          (default 30; 0: V8's own); NODE_OPTIONS=--max-semi-space-size=4 as the image sets it`,
    )
    .action(async () => {
      await runWorkerFromEnv();
    });
}
