import type { Client } from '@temporalio/client';
import type { ResolvedPillow } from '../config/pillow-definition';
import { liveStatus } from './live-status';
import { pillowWorkflows } from './pillow-context';
import { describeWorkflow, stateOf, workflowState } from './pillow-handles';

export interface StoppedPillow {
  workflowId: string;
  /** False when it was not running (stopping is idempotent, like starting). */
  stopped: boolean;
  state: string;
  /** The checkpoint it stopped at, as the status query last saw it. */
  checkpoint: string | null;
}

const STOP_WAIT_MS = 60_000;

/**
 * A graceful stop: `temporal workflow cancel`. The running slice is cancelled before it commits,
 * the checkpoint stays stored with the sinks' rows, and the next start resumes there. Waits until
 * Temporal reports the workflow closed.
 */
export async function stopPillow(client: Client, pillow: ResolvedPillow): Promise<StoppedPillow[]> {
  return Promise.all(
    pillowWorkflows(pillow).map(async ({ workflowId }) => {
      const description = await describeWorkflow(client, workflowId);
      const state = stateOf(description);
      if (state !== 'RUNNING' || !description) return { workflowId, stopped: false, state, checkpoint: null };
      const handle = client.workflow.getHandle(workflowId);
      // with the running slice's progress: a follow slice reports to the workflow once a minute
      const checkpoint = await liveStatus(client, workflowId, description)
        .then((v) => v.checkpoint)
        .catch(() => null);
      await handle.cancel();
      const deadline = Date.now() + STOP_WAIT_MS;
      let now = 'RUNNING';
      while (now === 'RUNNING' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        now = await workflowState(client, workflowId);
      }
      if (now === 'RUNNING')
        throw new Error(
          `${workflowId} was asked to stop but is still running after ${STOP_WAIT_MS / 1000}s (is a worker up?)`,
        );
      return { workflowId, stopped: true, state: now, checkpoint };
    }),
  );
}
