import { SinkUnavailableError } from './sink-unavailable';

/**
 * The few REST calls the search processor makes, over Node's built-in fetch (undici). Speaks only
 * what OpenSearch 2.x and Elasticsearch 7/8 share. Credentials in the URL become a Basic header
 * (fetch refuses URLs with credentials), and never appear in errors.
 */
export interface SearchClient {
  /** The URL without credentials, for messages. */
  origin: string;
  request<T = unknown>(method: string, path: string, body?: unknown, ndjson?: boolean): Promise<SearchResponse<T>>;
}

export interface SearchResponse<T> {
  status: number;
  body: T;
}

// statuses that mean the cluster, not the request, is at fault
const OUTAGE_STATUSES = new Set([429, 500, 502, 503, 504]);

export function searchClient(url: string, timeoutMs = 60_000): SearchClient {
  const parsed = new URL(url);
  // fetch asks for gzip by default: OpenSearch then spends CPU compressing every `_bulk` response
  // (one item per doc) that the worker spends CPU inflating; on a local network identity is cheaper
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (parsed.username || parsed.password) {
    const user = decodeURIComponent(parsed.username);
    const pass = decodeURIComponent(parsed.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
  }
  const origin = parsed.toString().replace(/\/$/, '');
  return {
    origin,
    async request<T>(method: string, path: string, body?: unknown, ndjson = false) {
      let res: Response;
      try {
        res = await fetch(`${origin}${path}`, {
          method,
          headers: {
            ...headers,
            ...(body === undefined ? {} : { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' }),
          },
          body: body === undefined ? undefined : ndjson ? String(body) : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new SinkUnavailableError(
          `search cluster ${origin} unreachable: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
          { cause: err },
        );
      }
      const text = await res.text();
      let parsedBody: unknown = text;
      try {
        parsedBody = text ? JSON.parse(text) : null;
      } catch {
        // a proxy's HTML error page: keep the text
      }
      if (OUTAGE_STATUSES.has(res.status)) {
        throw new SinkUnavailableError(
          `search cluster ${origin} answered ${res.status} to ${method} ${path.split('?')[0]}: ${errorReason(parsedBody)}`,
        );
      }
      return { status: res.status, body: parsedBody as T };
    },
  };
}

/** The short reason of an OpenSearch error body. */
export function errorReason(body: unknown): string {
  if (body && typeof body === 'object' && 'error' in body) {
    const error = (body as { error: unknown }).error;
    if (typeof error === 'string') return error;
    const e = error as { type?: string; reason?: string; root_cause?: { reason?: string }[] };
    return `${e.type ?? 'error'}: ${e.reason ?? e.root_cause?.[0]?.reason ?? ''}`.slice(0, 300);
  }
  return String(body).slice(0, 300);
}
