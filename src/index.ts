// The public API for `pillowtop.config.ts` and custom processors.
export { definePillows } from './config/pillow-definition';
export type { PillowDefinition, SourceOptions, FilterOptions, ChangeRetryOptions } from './config/pillow-definition';
export { postgresMirror } from './processors/postgres-mirror';
export type { PostgresMirrorOptions } from './processors/postgres-mirror';
export { postgresTable } from './processors/postgres-table';
export type { PostgresTableOptions, ColumnMapping } from './processors/postgres-table';
export type { ColumnType } from './processors/column-types';
export { searchIndex } from './processors/search-index';
export type { SearchIndexOptions } from './processors/search-index';
export { DocError } from './processors/doc-error';
export { SinkUnavailableError } from './processors/sink-unavailable';
export type { Change, Doc, Seq, Processor, ProcessorContext, BatchResult, ChangeFailure } from './types';
