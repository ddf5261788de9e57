import { redactUrl } from './redact-url';

/**
 * The errors of the CouchDB side, one class per way a source fails, and the helpers that turn a
 * nano/fetch error into one of them. Every one of them is an outage (see isOutage in
 * src/activities/outage.ts): the source is unusable, no doc is at fault.
 */

/** Thrown when the CouchDB server cannot be reached or refuses us (a whole-source outage). */
export class CouchUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CouchUnavailableError';
  }
}

/**
 * Thrown when the CouchDB server refuses a request with a 4xx (a malformed `since`, bad credentials,
 * no permission): a configuration or input error to fix, not an outage to wait out.
 */
export class CouchRejectedError extends Error {
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CouchRejectedError';
  }
}

/**
 * Thrown when the source answers something that is not CouchDB's protocol (an HTML error page,
 * invalid JSON, a body of the wrong shape), hangs, or is stuck: a source fault, never an empty page.
 */
export class CouchSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CouchSourceError';
  }
}

/** Thrown when the source database does not exist (never created, or deleted under a running pillow). */
export class CouchDatabaseMissingError extends Error {
  constructor(
    readonly db: string,
    url: string,
  ) {
    super(`CouchDB database "${db}" does not exist at ${redactUrl(url)}`);
    this.name = 'CouchDatabaseMissingError';
  }
}

/** Turns nano/fetch errors into errors that say which side failed. */
export function couchError(err: unknown, db: string, url: string): Error {
  const e = err as { statusCode?: number; error?: string; reason?: string; message?: string };
  if (e.statusCode === 404) return new CouchDatabaseMissingError(db, url);
  if (e.statusCode === 401 || e.statusCode === 403) {
    return new CouchRejectedError(
      `CouchDB at ${redactUrl(url)} refused access to "${db}" (${e.statusCode}): check the credentials in COUCH_URL (a configuration error)`,
      e.statusCode,
      { cause: err },
    );
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return new CouchRejectedError(
      `CouchDB at ${redactUrl(url)} rejected a request on "${db}" (${e.statusCode}${e.error ? ` ${e.error}` : ''}): ${e.reason ?? e.message} (a configuration or input error, not an outage)`,
      e.statusCode,
      { cause: err },
    );
  }
  if (e.statusCode) {
    return new CouchUnavailableError(
      `CouchDB at ${redactUrl(url)} answered ${e.statusCode} for "${db}": ${e.reason ?? e.message}`,
      { cause: err },
    );
  }
  return new CouchUnavailableError(`CouchDB at ${redactUrl(url)} is unreachable: ${e.message ?? String(err)}`, {
    cause: err,
  });
}

/** A short, single-line excerpt of an unexpected response, for errors (never a whole body). */
export function excerpt(body: unknown, max = 60): string {
  let text: string;
  try {
    text = typeof body === 'string' ? body : (JSON.stringify(body) ?? String(body));
  } catch {
    text = String(body);
  }
  text = text.replace(/\s+/g, ' ').trim();
  if (text === '') return '(an empty body or invalid JSON)';
  return JSON.stringify(text.length > max ? text.slice(0, max) + '…' : text);
}

const COUCH_ERRORS = new Set([
  'CouchUnavailableError',
  'CouchDatabaseMissingError',
  'CouchSourceError',
  'CouchRejectedError',
]);

/** Whether the error is one of the CouchDB errors above (by name, so it survives a Temporal failure round trip). */
export function isCouchError(err: unknown): boolean {
  return COUCH_ERRORS.has((err as Error | null)?.name ?? '');
}
