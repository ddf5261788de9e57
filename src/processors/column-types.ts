import { DocError } from './doc-error';

/** Column types a `postgresTable` mapping can declare, with how a doc value becomes a parameter. */
export const COLUMN_TYPES = [
  'text',
  'integer',
  'bigint',
  'numeric',
  'double precision',
  'boolean',
  'date',
  'timestamptz',
  'jsonb',
] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** The array type used to pass a whole column as one parameter through `unnest`. */
export function arrayCast(type: ColumnType): string {
  return `${type}[]`;
}

const INTEGER = /^-?\d+$/;
const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}/;
const LIMITS: Partial<Record<ColumnType, bigint>> = { integer: 2147483647n, bigint: 9223372036854775807n };

// a plain function, not a closure per call: conversions run for every column of every doc
function notA(value: unknown, column: string, what: string): never {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
  throw new DocError(`column "${column}": ${shown} is not ${what}`);
}

/** Converts a doc value for a column; throws DocError naming the column when it cannot. */
export function toColumnValue(value: unknown, type: ColumnType, column: string): string | number | boolean | null {
  if (value === undefined || value === null || value === '') return type === 'text' && value === '' ? '' : null;
  switch (type) {
    case 'text':
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
    case 'integer':
    case 'bigint': {
      const text =
        typeof value === 'number'
          ? Number.isInteger(value)
            ? String(value)
            : notA(value, column, 'an integer')
          : typeof value === 'string'
            ? value.trim()
            : notA(value, column, 'an integer');
      if (!INTEGER.test(text)) notA(value, column, 'an integer');
      const limit = LIMITS[type]!;
      const n = BigInt(text);
      if (n > limit || n < -limit - 1n) notA(value, column, `within the range of ${type}`);
      return text;
    }
    case 'numeric':
    case 'double precision': {
      if (typeof value === 'number') return Number.isFinite(value) ? value : notA(value, column, 'a finite number');
      if (typeof value === 'string' && NUMBER.test(value.trim())) return value.trim();
      return notA(value, column, 'a number');
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return notA(value, column, 'a boolean');
    case 'date':
      if (typeof value === 'string' && DATE.test(value) && !Number.isNaN(Date.parse(value.slice(0, 10))))
        return value.slice(0, 10);
      return notA(value, column, 'a date (YYYY-MM-DD)');
    case 'timestamptz':
      if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
      if (typeof value === 'number' && Number.isFinite(value)) return new Date(value).toISOString();
      return notA(value, column, 'a timestamp');
    case 'jsonb': {
      const text = JSON.stringify(value);
      if (text.includes('\\u0000')) notA(value, column, 'JSON without NUL characters');
      return text;
    }
  }
}
