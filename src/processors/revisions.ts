/**
 * CouchDB revisions are `<generation>-<hash>`. The generation is kept in the mirror (`rev_num`) for
 * readers, never used to decide what to write: CouchDB's winner can be a lower generation than a
 * deleted conflicting branch, and a re-created database starts its generations again.
 */
export function revGeneration(rev: string | undefined): number {
  if (!rev) return 0;
  const match = /^(\d+)-/.exec(rev);
  return match ? Number(match[1]) : 0;
}
