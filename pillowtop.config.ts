// The pillows this deployment runs. `PILLOWTOP_CONFIG` points elsewhere. See README "Configuration".
import { definePillows, postgresMirror, postgresTable } from './src';

export default definePillows([
  {
    // CommCareCase docs from CouchDB `cases` into a raw mirror and a typed, UCR-like index table
    name: 'cases',
    source: { db: 'cases' }, // at COUCH_URL
    filter: { docTypes: ['CommCareCase'] },
    batchSize: 1000,
    processors: [
      postgresMirror({ table: 'cases_mirror' }),
      postgresTable({
        table: 'case_index',
        columns: [
          { name: 'domain', type: 'text', required: true },
          { name: 'case_type', type: 'text', expression: 'type' },
          { name: 'owner_id', type: 'text' },
          { name: 'name', type: 'text' },
          { name: 'opened_on', type: 'timestamptz' },
          { name: 'modified_on', type: 'timestamptz', expression: 'server_modified_on' },
          { name: 'closed', type: 'boolean' },
          { name: 'age', type: 'integer', expression: 'properties.age' },
          { name: 'village', type: 'text', expression: 'properties.village' },
        ],
      }),
    ],
  },
]);
