/**
 * The checkpoint, in one place: the seq up to which a pillow has written everything, stored in
 * PostgreSQL table `pillowtop_checkpoints` (created by postgres/state-schema.ts) with the sinks' rows.
 *
 * - seq.ts      what a seq is (opaque text), its checks and estimates (pure: workflows import it directly)
 * - layout.ts   where a pillow (partition) resumes: the stored checkpoint, if written under its partition count
 * - read.ts     the stored checkpoint
 * - advance.ts  a batch's compare-and-set move, in the batch's transaction
 * - write.ts    an operator's move (start with a checkpoint, rewind, setCheckpoint, fix-rewind), with history
 * - history.ts  recent checkpoints worth going back to (`pillowtop fix-rewind`)
 *
 * Node only (pg): workflow code imports `./seq` and nothing else from here.
 */
export * from './seq';
export { resumeCheckpoint, LAYOUT_REASON } from './layout';
export { readCheckpoint } from './read';
export { advanceCheckpoint } from './advance';
export { writeCheckpoint } from './write';
export {
  recordCheckpoint,
  lastCheckpointWithReason,
  listCheckpoints,
  REWIND_REASON,
  type CheckpointRecord,
} from './history';
