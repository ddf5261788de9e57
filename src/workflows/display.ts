import * as wf from '@temporalio/workflow';
import { PILLOW_NAME, PILLOW_STATUS } from './search-attributes';
import type { PillowState } from './pillow-state';
import type { PillowDescription, PillowStatusValue } from './types';

/**
 * What operators see of a pillow besides the status query: the PillowName / PillowStatus search
 * attributes (upserts are commands in history: they happen on a status change only) and the Web UI's
 * current details (metadata, not history).
 */
export class Display {
  constructor(
    private readonly state: PillowState,
    private readonly desc: PillowDescription,
    private readonly name: string,
  ) {}

  /** The search attributes from the start: name, and running or paused. */
  announce(): void {
    if (!this.desc.searchAttributes) return;
    wf.upsertSearchAttributes([
      { key: PILLOW_NAME, value: this.name },
      { key: PILLOW_STATUS, value: this.state.paused ? 'paused' : 'running' },
    ]);
  }

  status(status: PillowStatusValue): void {
    if (this.state.setStatus(status) && this.desc.searchAttributes)
      wf.upsertSearchAttributes([{ key: PILLOW_STATUS, value: status }]);
  }

  publish(): void {
    wf.setCurrentDetails(this.state.details(this.desc.key, this.desc.source, this.desc.processors));
  }
}
