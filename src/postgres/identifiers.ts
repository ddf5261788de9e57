/**
 * Table and column names come from config, so they are checked against a strict pattern and
 * always quoted; values never go into SQL text, only as parameters.
 */
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
// leaves room for suffixes (`_id_hash`, a rebuild's generation) within PostgreSQL's 63-byte limit
const MAX_LENGTH = 56;

export function identifierProblem(name: unknown, what: string): string | null {
  if (typeof name !== 'string') return `${what} must be a string`;
  if (!IDENTIFIER.test(name))
    return `${what} "${name}" must be lowercase letters, digits and "_", not starting with a digit`;
  if (name.length > MAX_LENGTH) return `${what} "${name}" is longer than ${MAX_LENGTH} characters`;
  return null;
}

/** Quotes a name already checked by `identifierProblem`; throws on anything else as a last guard. */
export function quoteIdent(name: string): string {
  if (!IDENTIFIER.test(name) || name.length > 63) throw new Error(`refusing unsafe SQL identifier "${name}"`);
  return `"${name}"`;
}
