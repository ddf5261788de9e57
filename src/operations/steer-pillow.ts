import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { ResolvedPillow } from '../config/pillow-definition';
import { pauseSignal, resumeSignal, setCheckpointUpdate, statusQuery } from '../workflows/messages';
import type { PillowStatusView, SetCheckpointResult } from '../workflows/types';
import { runningHandles } from './pillow-handles';
import { couchServer } from '../couch/couch-client';
import { databaseInfo } from '../couch/read-changes';

/** Where `pillowtop rewind` moves a pillow: a seq, the start of the feed (`0`), or its head (`now`). */
export type RewindTo = { seq: string } | { zero: true } | { now: true };

export interface CheckpointMoved extends SetCheckpointResult {
  workflowId: string;
}

/**
 * Moves every partition's checkpoint with the `setCheckpoint` update, the same call as
 * `temporal workflow update execute --name setCheckpoint --input '{"seq": "…"}'`; it returns once
 * the checkpoint is stored, with the previous and the new one. For `now` the head is read here,
 * from the source database in the config (COUCH_URL), and set like any seq.
 */
export async function rewindPillow(client: Client, pillow: ResolvedPillow, to: RewindTo): Promise<CheckpointMoved[]> {
  const handles = await runningHandles(client, pillow);
  const seq = 'seq' in to ? to.seq : 'zero' in to ? '0' : await feedHead(pillow);
  const moved: CheckpointMoved[] = [];
  for (const handle of handles) {
    let result: SetCheckpointResult;
    try {
      result = await handle.executeUpdate(setCheckpointUpdate, { args: [{ seq }] });
    } catch (err) {
      // the pillow refused the seq (the validator, or the source would not accept it): say why
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof Error)
        throw new Error(`${handle.workflowId}: checkpoint not moved: ${err.cause.message}`);
      throw err;
    }
    moved.push({ workflowId: handle.workflowId, ...result });
  }
  return moved;
}

/**
 * The feed's head, as the worker's `headSeq` activity reads it (`update_seq` of the source
 * database), so that `--to-now` can go through `setCheckpoint` and report old and new checkpoint.
 */
async function feedHead(pillow: ResolvedPillow): Promise<string> {
  try {
    return (await databaseInfo(await couchServer(pillow.source.url), pillow.source.db)).updateSeq;
  } catch (err) {
    throw new Error(
      `--to-now reads the head of CouchDB "${pillow.source.db}" from here and could not: ${(err as Error).message.split('\n')[0]} (without CouchDB access: temporal workflow signal --workflow-id pillow/${pillow.name} --name rewind --input '{"to":"now"}')`,
    );
  }
}

/**
 * Sends `pause` or `resume` (as `temporal workflow signal --name pause` would) to every partition,
 * then waits until the status query shows it, so the command reports what happened, not what was asked.
 * A pause waits for the slice in flight to be cancelled (it never commits after that).
 */
export async function setPaused(client: Client, pillow: ResolvedPillow, paused: boolean): Promise<PillowStatusView[]> {
  const handles = await runningHandles(client, pillow);
  await Promise.all(handles.map((h) => h.signal(paused ? pauseSignal : resumeSignal)));
  return Promise.all(
    handles.map(async (h) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const view = await h.query(statusQuery);
        // `paused` flips as soon as the signal is handled; the state becomes `paused` only once the
        // slice in flight has been cancelled, so after `pause` returns nothing more is committed
        const done = paused ? view.status === 'paused' : !view.paused;
        if (done) return view;
        if (Date.now() > deadline)
          throw new Error(
            `${h.workflowId} took the ${paused ? 'pause' : 'resume'} signal but has not ${paused ? 'paused' : 'resumed'} after 30s (is a worker up?)`,
          );
        await new Promise((r) => setTimeout(r, 200));
      }
    }),
  );
}
