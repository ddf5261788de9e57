import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { ResolvedPillow } from '../config/pillow-definition';
import { createPool } from '../postgres/pool';
import { rebuildStatusQuery } from '../workflows/rebuild';
import { rebuildLine, rebuildWorkflowId } from '../workflows/rebuild-types';

const QUERY_TIMEOUT_MS = 10_000;

/**
 * Lines for `pillowtop status` about rebuilds: each running rebuild's progress
 * (`rb: rebuilding case_index: 12,000 of ~20,000 (1,500/s)`) and each processor whose live target
 * cannot take its configured definition (`rb: needs rebuild: case_index (column age integer → text)`).
 * The second needs the sinks (DATABASE_URL, the search cluster); one that cannot be reached is left out.
 */
export async function rebuildNotes(client: Client, pillows: ResolvedPillow[], sinks?: Pool): Promise<string[]> {
  const notes: string[] = [];
  const pool = sinks ?? createPool(undefined, 1);
  try {
    for (const pillow of pillows) {
      for (const processor of pillow.processors) {
        if (!processor.rebuild) continue;
        const handle = client.workflow.getHandle(rebuildWorkflowId(pillow.name, processor.name));
        const running = await handle
          .describe()
          .then((d) => d.status.name === 'RUNNING')
          .catch(() => false);
        if (running) {
          const st = await client
            .withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(rebuildStatusQuery))
            .catch(() => null);
          notes.push(`${pillow.name}: ${st ? rebuildLine(st) : `rebuilding ${processor.rebuild.target}`}`);
          continue;
        }
        const why = await pool
          .connect()
          .then(async (db) => {
            try {
              return await processor.rebuild!.needsRebuild(db);
            } finally {
              db.release();
            }
          })
          .catch(() => null);
        if (why) notes.push(`${pillow.name}: needs rebuild: ${processor.rebuild.target} (${why})`);
      }
    }
  } finally {
    if (!sinks) await pool.end().catch(() => undefined);
  }
  return notes;
}
