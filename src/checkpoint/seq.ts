/**
 * An opaque CouchDB sequence: stored as text and sent back verbatim. Never parse, compare or do
 * arithmetic on it (`seqEstimate` below is for estimates only). Pure: workflow code imports this.
 */
export type Seq = string;

/**
 * Sequences are opaque. CouchDB 2+/3 seqs look like `"12345-g1AAAA..."`, 1.x and pouchdb-server give
 * integers. The numeric prefix is an *estimate* of position, good for lag and rewind detection only:
 * never decide what to process from it.
 */
export function seqEstimate(seq: Seq | number | null | undefined): number | null {
  if (seq === null || seq === undefined) return null;
  if (typeof seq === 'number') return Number.isFinite(seq) ? seq : null;
  const match = /^(\d+)/.exec(seq);
  return match ? Number(match[1]) : null;
}

/** Seqs arrive as JSON numbers from some servers and strings from others; we keep text. */
export function seqToText(seq: unknown): Seq | null {
  if (typeof seq === 'string') return seq;
  if (typeof seq === 'number' && Number.isFinite(seq)) return String(seq);
  if (Array.isArray(seq)) return JSON.stringify(seq); // CouchDB 1.6 BigCouch-style arrays
  return null;
}

const MAX_SEQ_LENGTH = 4096;

/** Checks that a value can be a seq to send to CouchDB; returns the reason it cannot, or null. */
export function seqProblem(value: unknown): string | null {
  if (typeof value !== 'string') return `a seq must be a string, got ${value === null ? 'null' : typeof value}`;
  if (value.length === 0) return 'a seq must not be empty';
  if (value.length > MAX_SEQ_LENGTH) return `a seq must be at most ${MAX_SEQ_LENGTH} characters`;
  if (/[\s\u0000-\u001f]/.test(value)) return 'a seq must not contain whitespace or control characters';
  return null;
}

/** A seq cut to fit a log line or an activity summary. */
export function shortSeq(seq: string, max = 24): string {
  return seq.length > max ? seq.slice(0, max) + '…' : seq;
}
