import nano, { type ServerScope } from 'nano';
import { CouchRejectedError, CouchSourceError, CouchUnavailableError, excerpt } from './couch-errors';
import { redactUrl } from './redact-url';
import { MemoByKey } from '../memo-by-key';

/** Which CouchDB-protocol server is on the other end; they differ in `_changes` features. */
export type CouchKind = 'couchdb' | 'pouchdb-server' | 'unknown';

export interface CouchServer {
  url: string;
  nano: ServerScope;
  kind: CouchKind;
  version: string;
}

/** Tells CouchDB from pouchdb-server by the welcome JSON at `/`. */
export function couchKindOf(welcome: Record<string, unknown>): CouchKind {
  if ('couchdb' in welcome) return 'couchdb';
  if ('express-pouchdb' in welcome) return 'pouchdb-server';
  return 'unknown';
}

// a failed lookup is not kept: the server may come back
const servers = new MemoByKey<string, CouchServer>();

/** One nano client per server URL per process, with the server kind looked up once. */
export function couchServer(url: string): Promise<CouchServer> {
  return servers.get(url, () => connect(url));
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
