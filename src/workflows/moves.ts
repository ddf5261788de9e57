import * as wf from '@temporalio/workflow';
import { headSeq, saveCheckpoint } from './pillow-activities';
import { seqCheck } from './seq-check';
import type { PillowIdentity } from './identity';
import type { PillowState } from './pillow-state';
import type { Display } from './display';

/**
 * Applies the queued checkpoint moves (rewind signals, setCheckpoint updates) in order: each seq is
 * checked against the source first ("0" and "now" always pass), then stored with a history entry.
 */
export async function applyMoves(identity: PillowIdentity, state: PillowState, display: Display): Promise<void> {
  for (let move = state.nextMove(); move !== undefined; move = state.nextMove()) {
    const previous = state.checkpoint;
    // a seq the source would not accept is refused before it is stored
    if (move.to !== '0' && move.to !== 'now' && wf.patched('check-checkpoint-moves')) {
      const problem = await seqCheck(identity.name, move.to);
      if (problem) {
        state.rejectMove(move, problem, new Date());
        wf.log.warn('checkpoint move refused', { pillow: identity.key, to: move.to, reason: problem });
        display.publish();
        continue;
      }
    }
    const target = move.to === 'now' ? await headSeq({ name: identity.name }) : move.to;
    await saveCheckpoint({ key: identity.key, seq: target, reason: `${move.reason} from ${previous}` });
    state.applyMove(move, target);
    wf.log.info('checkpoint moved', { pillow: identity.key, previous, current: target, reason: move.reason });
  }
}
