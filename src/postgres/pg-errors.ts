/**
 * Whether a PostgreSQL or network error means the sink itself is unusable (retry the whole page later,
 * move nothing, park nothing) rather than that one doc cannot be written (isolate it and hand it to its
 * retry workflow). Decided by SQLSTATE, like graphile/worker does, never by how many docs fail alike:
 * 40 docs lacking one column in a bulk upload are 40 doc faults, while a read-only database fails a
 * page of one change as surely as a page of a thousand.
 */

// whole classes that are about the server, never the data
const OUTAGE_CLASSES = new Set([
  '08', // connection exception
  '28', // invalid authorization (the role or its password changed)
  '53', // insufficient resources: disk full (53100), out of memory, too many connections (53300)
  '58', // system error: I/O
  '3D', // the database does not exist
  '3F', // the schema does not exist
]);

const OUTAGE_SQLSTATES = new Set([
  '25006', // read_only_sql_transaction: a failover left us on a standby, or default_transaction_read_only
  '42501', // insufficient_privilege: a grant was revoked
  '42P01', // undefined_table: a sink table dropped under a running pillow
  '42703', // undefined_column: a column dropped or renamed
  '42804', // datatype_mismatch: a column's type changed under the pillow
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '57P04', // database_dropped
  '40001', // serialization_failure: retry the page
  '40P01', // deadlock_detected: retry the page
  '55P03', // lock_not_available
  '55006', // object_in_use
  'XX001', // data_corrupted
  'XX002', // index_corrupted
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

const CONNECTION_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down|in recovery mode)|terminating connection|Client was closed and is not queryable/i;

/** A network-level failure (of PostgreSQL or any other server a processor talks to), on the error or its cause. */
export function isNetworkError(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | null, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** True when the error says the PostgreSQL sink is unusable, whatever doc was being written. */
export function isPgOutage(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  if (isNetworkError(err)) return true;
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
    return OUTAGE_SQLSTATES.has(e.code) || OUTAGE_CLASSES.has(e.code.slice(0, 2));
  }
  return CONNECTION_MESSAGES.test(e.message ?? '');
}

/** An error whose connection is dead: the client goes back to the pool destroyed, not reused. */
export function isConnectionLost(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  if (isNetworkError(err)) return true;
  if (typeof e.code === 'string' && (e.code.startsWith('08') || e.code.startsWith('57P'))) return true;
  return CONNECTION_MESSAGES.test(e.message ?? '');
}
