// Workflow entry points, bundled by the worker. Deterministic code only: no Node modules here.
export { pillow } from './pillow';
export { retryChange } from './retry-change';
export { runDocs } from './run-docs';
export { rebuild } from './rebuild';
