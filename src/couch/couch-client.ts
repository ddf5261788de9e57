import nano, { type ServerScope } from 'nano';

/** Which CouchDB-protocol server is on the other end; they differ in `_changes` features. */
export type CouchKind = 'couchdb' | 'pouchdb-server' | 'unknown';

export interface CouchServer {
  url: string;
  nano: ServerScope;
  kind: CouchKind;
  version: string;
}

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

/** The URL without credentials, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<invalid url>';
  }
}

/** Tells CouchDB from pouchdb-server by the welcome JSON at `/`. */
export function couchKindOf(welcome: Record<string, unknown>): CouchKind {
  if ('couchdb' in welcome) return 'couchdb';
  if ('express-pouchdb' in welcome) return 'pouchdb-server';
  return 'unknown';
}

const servers = new Map<string, Promise<CouchServer>>();

/** One nano client per server URL per process, with the server kind looked up once. */
export function couchServer(url: string): Promise<CouchServer> {
  let found = servers.get(url);
  if (!found) {
    found = connect(url);
    servers.set(url, found);
    // a failed lookup is not cached: the server may come back
    found.catch(() => servers.delete(url));
  }
  return found;
}

async function connect(url: string): Promise<CouchServer> {
  const client = nano({ url });
  let welcome: Record<string, unknown>;
  try {
    welcome = (await client.request({ path: '' })) as Record<string, unknown>;
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 401 || status === 403) {
      throw new CouchRejectedError(
        `CouchDB at ${redactUrl(url)} refused access (${status}): check the credentials in COUCH_URL (a configuration error)`,
        status,
        { cause: err },
      );
    }
    throw new CouchUnavailableError(`CouchDB at ${redactUrl(url)} is unreachable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof welcome !== 'object' || welcome === null || Array.isArray(welcome)) {
    throw new CouchSourceError(`${redactUrl(url)} did not answer as CouchDB at /: ${excerpt(welcome)}`);
  }
  return {
    url,
    nano: client,
    kind: couchKindOf(welcome),
    version: String(welcome.version ?? ''),
  };
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
