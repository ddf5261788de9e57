import type { SliceOutcome } from '../../workflows/types';
import type { Seq } from '../../types';

/**
 * A slice outcome that read and wrote nothing and ends at `lastSeq`. It counts as full so that the
 * pillow goes on at once from there instead of waiting as if caught up.
 */
export function emptyOutcome(since: Seq, lastSeq: Seq): SliceOutcome {
  return {
    since,
    lastSeq,
    read: 0,
    processed: 0,
    skipped: 0,
    failed: [],
    failedOmitted: 0,
    pending: null,
    idle: false,
    full: true,
    rewound: false,
    durationMs: 0,
  };
}
