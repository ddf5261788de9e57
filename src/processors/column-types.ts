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

/** Converts a doc value for a column; throws DocError naming the column when it cannot. */
export function toColumnValue(value: unknown, type: ColumnType, column: string): string | number | boolean | null {
  if (value === undefined || value === null || value === '') return type === 'text' && value === '' ? '' : null;
  const bad = (what: string): never => {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
    throw new DocError(`column "${column}": ${shown} is not ${what}`);
  };
  switch (type) {
    case 'text':
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
    case 'integer':
    case 'bigint': {
      const text =
        typeof value === 'number'
          ? Number.isInteger(value)
            ? String(value)
            : bad('an integer')
          : typeof value === 'string'
            ? value.trim()
            : bad('an integer');
      if (!INTEGER.test(text)) bad('an integer');
      const limit = LIMITS[type]!;
      const n = BigInt(text);
      if (n > limit || n < -limit - 1n) bad(`within the range of ${type}`);
      return text;
    }
    case 'numeric':
    case 'double precision': {
      if (typeof value === 'number') return Number.isFinite(value) ? value : bad('a finite number');
      if (typeof value === 'string' && NUMBER.test(value.trim())) return value.trim();
      return bad('a number');
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return bad('a boolean');
    case 'date':
      if (typeof value === 'string' && DATE.test(value) && !Number.isNaN(Date.parse(value.slice(0, 10))))
        return value.slice(0, 10);
      return bad('a date (YYYY-MM-DD)');
    case 'timestamptz':
      if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
      if (typeof value === 'number' && Number.isFinite(value)) return new Date(value).toISOString();
      return bad('a timestamp');
    case 'jsonb': {
      const text = JSON.stringify(value);
      if (text.includes('\\u0000')) bad('JSON without NUL characters');
      return text;
    }
  }
}
