import type { WorkerDeploymentOptions } from '@temporalio/worker';

/**
 * Worker Deployment versioning: which version of pillowtop a worker is. With a build id, a worker
 * polls as version `<deploymentName>:<buildId>` and gets work only once that version is the
 * deployment's current one (`pillowtop deploy set-current`); without one it is unversioned, as
 * before, and shares every task with the other unversioned workers.
 */
export interface WorkerVersion {
  deploymentName: string;
  buildId: string;
}

export const DEFAULT_DEPLOYMENT_NAME = 'pillowtop';

/**
 * `PILLOWTOP_BUILD_ID` (no default: unset or empty means unversioned) and `PILLOWTOP_DEPLOYMENT_NAME`
 * (default `pillowtop`). A value the server would refuse is an error here, at start-up.
 */
export function workerVersionFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerVersion | null {
  const buildId = env.PILLOWTOP_BUILD_ID?.trim() ?? '';
  if (buildId === '') return null;
  return checkedVersion(deploymentNameFromEnv(env), buildId);
}

export function deploymentNameFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.PILLOWTOP_DEPLOYMENT_NAME?.trim() || DEFAULT_DEPLOYMENT_NAME;
  const problem = deploymentNameProblem(name);
  if (problem) throw new Error(`PILLOWTOP_DEPLOYMENT_NAME: ${problem}`);
  return name;
}

export function checkedVersion(deploymentName: string, buildId: string): WorkerVersion {
  const nameProblem = deploymentNameProblem(deploymentName);
  if (nameProblem) throw new Error(`PILLOWTOP_DEPLOYMENT_NAME: ${nameProblem}`);
  const idProblem = buildIdProblem(buildId);
  if (idProblem) throw new Error(`PILLOWTOP_BUILD_ID: ${idProblem}`);
  return { deploymentName, buildId };
}

// Temporal's limits: the version is written `<name>:<build id>` (older servers used `.`), and ids
// are at most 255 characters
export function deploymentNameProblem(name: string): string | null {
  if (name === '') return 'must not be empty';
  if (/[.:\s]/.test(name)) return `"${name}" must not contain ".", ":" or whitespace`;
  if (name.length > 200) return 'must be at most 200 characters';
  return null;
}

export function buildIdProblem(buildId: string): string | null {
  if (buildId === '') return 'must not be empty';
  if (/\s/.test(buildId)) return `"${buildId}" must not contain whitespace`;
  if (buildId.length > 200) return 'must be at most 200 characters';
  if (buildId === '__unversioned__') return '"__unversioned__" is reserved by Temporal';
  return null;
}

/** `deploymentName:buildId`, as Temporal writes it (search attribute `TemporalWorkerDeploymentVersion`). */
export function versionString(v: WorkerVersion): string {
  return `${v.deploymentName}:${v.buildId}`;
}

/**
 * The worker's deployment options: every workflow type AUTO_UPGRADE, i.e. a running workflow moves
 * to the current version at its next workflow task (why, and why not per type: src/workflows/index.ts).
 */
export function workerDeploymentOptions(v: WorkerVersion | null): WorkerDeploymentOptions | undefined {
  if (v === null) return undefined;
  return { useWorkerVersioning: true, version: { ...v }, defaultVersioningBehavior: 'AUTO_UPGRADE' };
}
