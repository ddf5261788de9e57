import type { PillowDefinition } from '../config/pillow-definition';
import { searchIndex } from '../processors/search-index';
import type { Doc } from '../types';

/**
 * The demo pillow `pillowtop dev --search` adds: CommCareCase docs from CouchDB `cases` into the
 * search alias `cases_search` (one shard, no replica: a single dev node stays green).
 */
export function demoSearchPillow(url: string): PillowDefinition {
  return {
    name: 'cases_search',
    source: { db: 'cases' },
    filter: { docTypes: ['CommCareCase'] },
    batchSize: 1000,
    processors: [
      searchIndex({
        alias: 'cases_search',
        url,
        settings: { number_of_shards: 1, number_of_replicas: 0 },
        mappings: {
          dynamic: false,
          properties: {
            domain: { type: 'keyword' },
            case_type: { type: 'keyword' },
            owner_id: { type: 'keyword' },
            name: { type: 'text', fields: { exact: { type: 'keyword' } } },
            opened_on: { type: 'date' },
            modified_on: { type: 'date' },
            closed: { type: 'boolean' },
            age: { type: 'integer' },
            village: { type: 'keyword' },
          },
        },
        transform: (doc: Doc) => {
          const p = (doc.properties ?? {}) as Record<string, unknown>;
          return {
            domain: doc.domain,
            case_type: doc.type,
            owner_id: doc.owner_id,
            name: doc.name,
            opened_on: doc.opened_on,
            modified_on: doc.server_modified_on,
            closed: doc.closed,
            age: p.age,
            village: p.village,
          };
        },
      }),
    ],
  };
}
