// Worker entry point: `pillowtop worker` or `npm run worker`. Stops cleanly on SIGINT / SIGTERM.
import { runWorkerFromEnv } from './worker/run-worker-from-env';

runWorkerFromEnv().catch((err) => {
  console.error(`pillowtop worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
