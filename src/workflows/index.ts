// Workflow entry points, bundled by the worker. Deterministic code only: no Node modules here.
//
// How they move between worker versions (PILLOWTOP_BUILD_ID, docs/operations.md "Upgrades") is set
// by the worker, not here: every type is AUTO_UPGRADE (src/worker/worker-versioning.ts). A pillow
// never finishes and Temporal server 1.29 cannot move a pinned run at continue-as-new, so a pinned
// pillow would keep the old workers for ever; a parked retryChange would be stranded the same way;
// runDocs lasts seconds, so moving it changes nothing. Annotating a type with
// `setWorkflowOptions({ versioningBehavior })` is not possible while the same bundle also runs on
// unversioned workers: their task completions are refused ("versioning behavior cannot be specified
// without deployment options being set with versioned mode"). Hence: any change to these workflows
// goes behind `patched()`, since a running workflow replays its history on the new code.
export { pillow } from './pillow';
export { retryChange } from './retry-change';
export { runDocs } from './run-docs';
export { rebuild } from './rebuild';
