// Workflow entry points, bundled by the worker. Deterministic code only: no Node modules here.
import { setWorkflowOptions } from '@temporalio/workflow';
import { pillow } from './pillow';
import { retryChange } from './retry-change';
import { runDocs } from './run-docs';

// How each workflow type moves between worker versions when workers run with a build id
// (PILLOWTOP_BUILD_ID, docs/operations.md "Upgrades"); ignored by unversioned workers.
// - pillow: AUTO_UPGRADE. A pillow runs for ever and a run ends only when Temporal suggests a
//   continue-as-new (thousands of batches); PINNED would keep it on the old version until then, so
//   the old workers could never be retired. Temporal server 1.29 has no upgrade-at-continue-as-new
//   (`initialVersioningBehavior` needs a newer server), so each run moves to the current version
//   at its next workflow task, and the new code replays the run's history: workflow changes go
//   behind `patched()`, checked by test/replay.test.ts.
// - retryChange: AUTO_UPGRADE too: a parked change waits for an operator or a newer revision for as
//   long as it takes; pinned, it would be stranded (signals unanswered) once its version retired.
// - runDocs: PINNED. It lives for seconds while an operator waits; it finishes on the code it began.
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, pillow);
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, retryChange);
setWorkflowOptions({ versioningBehavior: 'PINNED' }, runDocs);

export { pillow, retryChange, runDocs };
