import * as wf from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import { seqProblem } from '../checkpoint/seq';
import { pauseSignal, resumeSignal, rewindSignal, setCheckpointUpdate, statusQuery } from './messages';
import type { PillowState } from './pillow-state';
import type { PillowStatusView, RewindInput, SetCheckpointInput } from './types';

/**
 * Queries, signals and the update: each changes the state and, where the loop must notice at once
 * (pause, a move), interrupts the running slice; what they queue, the loop applies.
 */
export function registerHandlers(
  key: string,
  state: PillowState,
  interrupt: () => void,
  view: () => PillowStatusView,
): void {
  wf.setHandler(statusQuery, view);
  wf.setHandler(pauseSignal, () => {
    state.pause();
    interrupt();
  });
  wf.setHandler(resumeSignal, () => state.resume());
  wf.setHandler(rewindSignal, (rewind: RewindInput) => {
    const problem = rewindProblem(rewind);
    if (problem) {
      wf.log.warn('rewind signal ignored', { pillow: key, reason: problem });
      return state.ignoreRewind((rewind as RewindInput)?.to, problem, new Date());
    }
    state.queueMove(rewind.to, 'rewind signal');
    interrupt();
  });
  wf.setHandler(
    setCheckpointUpdate,
    async (update: SetCheckpointInput) => {
      const id = state.queueMove(update.seq, 'setCheckpoint update');
      interrupt();
      await wf.condition(() => state.moveSettled(id));
      const result = state.takeMoveResult(id)!;
      if ('rejected' in result) throw ApplicationFailure.nonRetryable(result.rejected, 'BadCheckpoint');
      return result.applied;
    },
    { validator: setCheckpointValidator },
  );
}

function rewindProblem(rewind: unknown): string | null {
  if (typeof rewind !== 'object' || rewind === null || !('to' in rewind))
    return 'expected {"to": "<seq>" | "0" | "now"}';
  const to = (rewind as RewindInput).to;
  if (to === 'now' || to === '0') return null;
  const problem = seqProblem(to);
  return problem ? `"to": ${problem}` : null;
}

function setCheckpointValidator(update: SetCheckpointInput): void {
  if (typeof update !== 'object' || update === null) throw new Error('expected {"seq": "<seq>"}');
  const problem = seqProblem(update.seq);
  if (problem) throw new Error(`"seq": ${problem}`);
  if (update.seq === 'now') throw new Error('"now" is not a seq; use the rewind signal with {"to": "now"}');
}
