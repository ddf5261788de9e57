/**
 * CouchDB revisions are `<generation>-<hash>`. Unlike seqs they are meant to be compared:
 * the generation orders them, the hash breaks ties the way CouchDB picks a winner.
 * Sinks store both and only ever replace a row with the same or a newer revision.
 */
export function revGeneration(rev: string | undefined): number {
  if (!rev) return 0;
  const match = /^(\d+)-/.exec(rev);
  return match ? Number(match[1]) : 0;
}

/** The SQL guard: the row in the table (alias `cur`) is not newer than the incoming one. */
export const REV_GUARD = (cur: string) =>
  `(${cur}.rev_num, ${cur}.rev COLLATE "C") <= (excluded.rev_num, excluded.rev COLLATE "C")`;
