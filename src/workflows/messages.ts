/**
 * Signals, updates and queries of pillowtop's workflows: one definition each, shared by the
 * workflows, the CLI and the tests. The names are part of the contract (DESIGN.md).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ChangeFailure } from '../types';
import type {
  PillowStatusView,
  RetryChangeStatus,
  RewindInput,
  SetCheckpointInput,
  SetCheckpointResult,
} from './types';

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** `{"to": "<seq>" | "0" | "now"}`; a malformed one is ignored with a logged reason. */
export const rewindSignal = defineSignal<[RewindInput]>('rewind');
export const setCheckpointUpdate = defineUpdate<SetCheckpointResult, [SetCheckpointInput]>('setCheckpoint');
export const statusQuery = defineQuery<PillowStatusView>('status');

/** Sent by a batch that failed the same doc again: joins the running retry workflow. */
export const changeFailedSignal = defineSignal<[ChangeFailure]>('changeFailed');
/** `pillowtop retry`: try a parked (or waiting) change now. */
export const retryNowSignal = defineSignal('retryNow');
/** A newer revision of the doc went through the pillow: nothing left to retry. */
export const changeResolvedSignal = defineSignal('changeResolved');
export const retryStatusQuery = defineQuery<RetryChangeStatus>('status');
