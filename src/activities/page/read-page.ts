import { ApplicationFailure } from '@temporalio/common';
import { databaseInfo, type ChangesPage } from '../../couch/read-changes';
import type { CouchServer } from '../../couch/couch-client';
import { CouchSourceError } from '../../couch/couch-errors';
import { redactUrl } from '../../couch/redact-url';
import { errorText } from '../../processors/doc-error';
import type { Seq } from '../../types';
import { shortSeq } from '../../checkpoint/seq';
import { readAhead, takePrefetch } from '../prefetch';
import { throwIfCancelled } from './cancelled';
import type { PageContext } from './page-context';

export interface ReadPage {
  page: ChangesPage;
  /** The database was behind the checkpoint (re-created or restored) and was read again from 0. */
  dbBehind: boolean;
  /** The page was full: more is waiting (and its next page is being read ahead). */
  full: boolean;
}

/**
 * Reads the page at `since`: the one read ahead by the page before, else from the feed (long-polling
 * up to `waitMs` while nothing is new). An empty page is checked: a database behind the checkpoint is
 * read again from 0, a source stuck at the checkpoint is a failure. A full page has the pages after it
 * read ahead while it is written (prefetch.ts). A failed read is retried by Temporal; the position
 * metric still moves if the db info says how.
 */
export async function readPage(at: PageContext, since: Seq, waitMs: number): Promise<ReadPage> {
  const { pillow, server, ctx } = at;
  const db = pillow.source.db;
  let page: ChangesPage;
  let dbBehind = false;
  try {
    const direct = () => at.read(since, Math.round(Math.min(pillow.longPollSeconds * 1000, waitMs)));
    // a read ahead that failed (a blip, or the cancel of the slice that started it) is read again here
    page = await (takePrefetch(at.key, since)?.catch(direct) ?? direct());
    if (page.changes.length === 0 && (await behindCheckpoint(server, db, since, pillow.readTimeoutSeconds * 1000))) {
      at.deps.log.warn(
        'the database is behind the checkpoint (re-created or restored from a backup?): reading it again from 0',
        { pillow: at.key, since },
      );
      page = await at.read('0', 0);
      dbBehind = true;
    } else if (page.changes.length === 0 && page.lastSeq === since) {
      // integer-seq servers echo any `since` back: a checkpoint stored before checks existed would idle for ever
      if (server.kind === 'pouchdb-server' && !/^\d+$/.test(since))
        throw new CouchSourceError(
          `the checkpoint ${JSON.stringify(since.slice(0, 60))} is not a seq of "${db}" (this server's seqs are integers): move it with pillowtop rewind`,
        );
      const source = `CouchDB at ${redactUrl(server.url)}, database "${db}",`;
      page = await confirmQuiet(page, since, source, () => at.read(since, 0), at.sourceAhead);
    }
  } catch (err) {
    throwIfCancelled(ctx);
    // the position still moves on while the feed is unreadable, if the db info says how far
    const behind = await at.sourceAhead(since).catch(() => null);
    if (behind !== null && behind > 0) at.deps.metrics.position(at.key, behind);
    throw ApplicationFailure.retryable(errorText(err), (err as Error).name);
  }
  const full = page.changes.length >= pillow.batchSize;
  // read the next pages while this one is written
  if (full)
    readAhead(
      at.key,
      page.lastSeq,
      (next) => at.read(next, 0),
      (next) => next.changes.length >= pillow.batchSize,
    );
  return { page, dbBehind, full };
}

/**
 * An empty page at the checkpoint is a quiet feed only if the source has nothing past it. A source
 * that keeps answering an empty page at the same seq while its head is ahead (CouchDB's `pending`, or
 * the update_seq estimate: a health signal, never a processing decision) is stuck. An immediate
 * second read confirms it, so a change that arrived as a wait ended is not taken for a fault.
 */
export async function confirmQuiet(
  page: ChangesPage,
  since: string,
  source: string,
  readAgain: () => Promise<ChangesPage>,
  ahead: (at: string) => Promise<number | null>,
): Promise<ChangesPage> {
  const first = page.pending ?? (await ahead(since));
  if (first === null || first === 0) return page;
  const again = await readAgain();
  if (again.changes.length > 0 || again.lastSeq !== since) return again;
  const still = again.pending ?? (await ahead(since));
  if (still === null || still === 0) return again;
  throw new CouchSourceError(
    `${source} keeps answering an empty page at seq ${shortSeq(since, 40)} while ${still} change(s) are past it (stuck source)`,
  );
}

/**
 * Servers with integer seqs (pouchdb-server, CouchDB 1.x) answer a `since` past their head with an
 * empty page at that same `since`, so a database deleted and re-created under a running pillow would
 * be skipped silently. CouchDB 2+ instead replays a re-created database from its start (a feed rewind).
 * With integer seqs on both sides the comparison is exact, not an estimate; opaque seqs are left alone.
 */
async function behindCheckpoint(server: CouchServer, db: string, since: string, timeoutMs?: number): Promise<boolean> {
  if (!/^\d+$/.test(since) || since === '0') return false;
  const head = (await databaseInfo(server, db, timeoutMs)).updateSeq;
  return /^\d+$/.test(head) && Number(head) < Number(since);
}
