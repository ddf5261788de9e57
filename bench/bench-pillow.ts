import type { PillowDefinition } from '../src/config/pillow-definition';
import { searchIndex } from '../src/processors/search-index';
import { postgresTable, type ColumnMapping } from '../src/processors/postgres-table';
import { withCpuCost } from './cpu-cost';

/** What a bench worker process needs to know to run the bench's pillows. */
export interface BenchPillowSpec {
  name: string;
  db: string;
  table: string;
  partitions: number;
  batchSize: number;
  /** Index into this OpenSearch alias with `searchIndex` instead of writing `table` (`--search`). */
  search?: { url: string; alias: string };
  /** CPU work per doc before the table is written (`burn` rounds, see cpu-cost.ts): a CPU-bound pillow. */
  cpuRoundsPerDoc?: number;
}

/**
 * The columns of the bench's typed table, a UCR-like index of the case docs. `written_ms` is the
 * generator's write time, so follow latency is measured per doc.
 */
export const BENCH_COLUMNS: ColumnMapping[] = [
  { name: 'domain', type: 'text' },
  { name: 'case_type', type: 'text', expression: 'type' },
  { name: 'owner_id', type: 'text' },
  { name: 'name', type: 'text' },
  { name: 'opened_on', type: 'timestamptz' },
  { name: 'closed', type: 'boolean' },
  { name: 'age', type: 'integer', expression: 'properties.age' },
  { name: 'village', type: 'text', expression: 'properties.village' },
  { name: 'written_ms', type: 'bigint', expression: 'bench_written_ms' },
];

/** The bench's pillow: every case doc of one database into one `postgresTable`. */
export function benchPillow(spec: BenchPillowSpec, couchUrl: string): PillowDefinition {
  return {
    name: spec.name,
    source: { db: spec.db, url: couchUrl },
    filter: { docTypes: ['CommCareCase'] },
    batchSize: spec.batchSize,
    longPollSeconds: 20,
    partitions: spec.partitions,
    processors: [
      spec.search
        ? searchIndex({ alias: spec.search.alias, url: spec.search.url })
        : spec.cpuRoundsPerDoc
          ? withCpuCost(postgresTable({ table: spec.table, columns: BENCH_COLUMNS }), spec.cpuRoundsPerDoc)
          : postgresTable({ table: spec.table, columns: BENCH_COLUMNS }),
    ],
  };
}
