import type { PillowDefinition } from './pillow-definition';

/** Thrown when `pillowtop.config.ts` declares something that cannot run; one line per problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const PILLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
// CouchDB's own rule for database names
const COUCH_DB_NAME = /^[a-z][a-z0-9_$()+/-]*$/;

function isPositiveInt(value: unknown, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max;
}

/** Every mistake in a config, each a line naming the pillow and the field. */
export function configProblems(config: unknown): string[] {
  if (!Array.isArray(config)) {
    return ['the config must export an array of pillows (export default definePillows([...]))'];
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  config.forEach((raw: unknown, index) => {
    if (typeof raw !== 'object' || raw === null) {
      problems.push(`pillows[${index}]: must be an object, got ${raw === null ? 'null' : typeof raw}`);
      return;
    }
    const def = raw as Partial<PillowDefinition>;
    const label = typeof def.name === 'string' ? `pillow "${def.name}"` : `pillows[${index}]`;
    const at = (field: string, message: string) => problems.push(`${label}: ${field}: ${message}`);

    if (typeof def.name !== 'string' || !PILLOW_NAME.test(def.name)) {
      at('name', 'must be 1-100 letters, digits, "_" or "-", starting with a letter or digit');
    } else if (seen.has(def.name)) {
      at('name', 'is declared twice');
    } else {
      seen.add(def.name);
    }

    if (typeof def.source !== 'object' || def.source === null) {
      at('source', 'is required: { db: "<couch database>" }');
    } else {
      if (typeof def.source.db !== 'string' || !COUCH_DB_NAME.test(def.source.db)) {
        at('source.db', `"${String(def.source.db)}" is not a valid CouchDB database name`);
      }
      if (def.source.url !== undefined) {
        try {
          const url = new URL(def.source.url);
          if (url.protocol !== 'http:' && url.protocol !== 'https:') at('source.url', 'must be http(s)');
        } catch {
          at('source.url', 'is not a valid URL');
        }
      }
    }

    if (def.batchSize !== undefined && !isPositiveInt(def.batchSize, 10_000)) {
      at('batchSize', 'must be a whole number from 1 to 10000');
    }
    if (def.longPollSeconds !== undefined && !isPositiveInt(def.longPollSeconds, 300)) {
      at('longPollSeconds', 'must be a whole number from 1 to 300');
    }
    if (def.readTimeoutSeconds !== undefined && !isPositiveInt(def.readTimeoutSeconds, 300)) {
      at('readTimeoutSeconds', 'must be a whole number from 1 to 300');
    }
    if (def.partitions !== undefined && !isPositiveInt(def.partitions, 64)) {
      at('partitions', 'must be a whole number from 1 to 64');
    }
    if (def.slowThresholdMs !== undefined && !isPositiveInt(def.slowThresholdMs, 3_600_000)) {
      at('slowThresholdMs', 'must be a whole number of milliseconds');
    }

    if (def.filter !== undefined) {
      const f = def.filter;
      if (typeof f !== 'object' || f === null) at('filter', 'must be an object');
      else {
        if (f.docTypes !== undefined && (!Array.isArray(f.docTypes) || f.docTypes.some((t) => typeof t !== 'string'))) {
          at('filter.docTypes', 'must be an array of strings');
        }
        if (f.predicate !== undefined && typeof f.predicate !== 'function')
          at('filter.predicate', 'must be a function');
        if (
          f.couchFilter !== undefined &&
          (typeof f.couchFilter !== 'string' || !/^[^/]+\/[^/]+$/.test(f.couchFilter))
        ) {
          at('filter.couchFilter', 'must be "ddoc/filtername"');
        }
      }
    }

    if (def.retry !== undefined) {
      const r = def.retry;
      if (r.attempts !== undefined && !(Number.isInteger(r.attempts) && r.attempts >= 0 && r.attempts <= 100)) {
        at('retry.attempts', 'must be a whole number from 0 to 100');
      }
      for (const key of ['initialIntervalSeconds', 'maxIntervalSeconds', 'backoffCoefficient'] as const) {
        const v = r[key];
        if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v)))
          at(`retry.${key}`, 'must be a positive number');
      }
    }

    if (!Array.isArray(def.processors) || def.processors.length === 0) {
      at('processors', 'must be a non-empty array (e.g. [postgresMirror({ table: "..." })])');
    } else {
      const names = new Set<string>();
      def.processors.forEach((p, i) => {
        if (typeof p !== 'object' || p === null) return at(`processors[${i}]`, 'must be a processor object');
        if (typeof p.name !== 'string' || p.name.length === 0) at(`processors[${i}].name`, 'is required');
        else if (names.has(p.name)) at(`processors[${i}].name`, `"${p.name}" is used twice in this pillow`);
        else names.add(p.name);
        if (typeof p.processBatch !== 'function') {
          at(
            `processors[${i}]`,
            'has no processBatch function (is it a processor? use postgresMirror(), postgresTable() or an object with processBatch)',
          );
        }
        for (const problem of p.validate?.() ?? []) at(`processors[${i}] (${p.name})`, problem);
      });
    }
  });
  return problems;
}

export function validateConfig(config: unknown): PillowDefinition[] {
  const problems = configProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config as PillowDefinition[];
}
