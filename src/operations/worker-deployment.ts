/**
 * The Worker Deployment calls behind `pillowtop deploy`: which version of the workers gets the
 * work (the deployment's current version), which versions still have workflows on them, and
 * making a new version current once its workers poll. Same as `temporal worker deployment …`.
 */
import os from 'node:os';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { versionString } from '../worker/worker-versioning';

const { WorkerDeploymentVersionStatus: Status, VersionDrainageStatus: Drainage } = temporal.api.enums.v1;

// gRPC status codes
const NOT_FOUND = 5;

export type VersionStatus = 'current' | 'ramping' | 'draining' | 'drained' | 'inactive' | 'unknown';

export interface DeploymentVersionRow {
  buildId: string;
  status: VersionStatus;
  /** When its first worker polled. */
  createdAt: string | null;
  /** Running workflows whose last workflow task ran on this version (visibility, a few seconds behind). */
  running: number | null;
  /** Of those, the ones pinned to it: the version must keep a worker until they are done. */
  pinned: number | null;
}

export interface DeploymentView {
  deploymentName: string;
  /** False until a worker with a build id has polled under this deployment name. */
  exists: boolean;
  /** The build id that gets new work; null: the unversioned workers do. */
  current: string | null;
  ramping: { buildId: string | null; percent: number } | null;
  versions: DeploymentVersionRow[];
}

export class DeploymentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeploymentError';
  }
}

function statusName(s: number | null | undefined): VersionStatus {
  switch (s) {
    case Status.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT:
      return 'current';
    case Status.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING:
      return 'ramping';
    case Status.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING:
      return 'draining';
    case Status.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED:
      return 'drained';
    case Status.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE:
      return 'inactive';
    default:
      return 'unknown';
  }
}

function isoTime(t: { seconds?: unknown; nanos?: number | null } | null | undefined): string | null {
  if (!t || t.seconds === undefined || t.seconds === null) return null;
  return new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}

async function describeRaw(client: Client, deploymentName: string) {
  try {
    return await client.workflowService.describeWorkerDeployment({
      namespace: client.options.namespace,
      deploymentName,
    });
  } catch (err) {
    if ((err as { code?: number }).code === NOT_FOUND) return null;
    throw err;
  }
}

/** How many running workflows are on a version, and how many of them are pinned to it. */
async function workflowsOn(client: Client, version: string): Promise<{ running: number; pinned: number }> {
  const on = `TemporalWorkerDeploymentVersion="${version}" AND ExecutionStatus="Running"`;
  const [running, pinned] = await Promise.all([
    client.workflow.count(on),
    client.workflow.count(`${on} AND TemporalWorkflowVersioningBehavior="Pinned"`),
  ]);
  return { running: running.count, pinned: pinned.count };
}

export async function describeDeployment(client: Client, deploymentName: string): Promise<DeploymentView> {
  const res = await describeRaw(client, deploymentName);
  const info = res?.workerDeploymentInfo;
  if (!info) return { deploymentName, exists: false, current: null, ramping: null, versions: [] };
  const routing = info.routingConfig ?? {};
  const versions = await Promise.all(
    (info.versionSummaries ?? []).map(async (v): Promise<DeploymentVersionRow> => {
      const buildId = v.deploymentVersion?.buildId ?? String(v.version ?? '').replace(/^[^:.]*[:.]/, '');
      const counts = await workflowsOn(client, versionString({ deploymentName, buildId })).catch(() => null);
      let status = statusName(v.status);
      // a server that reports drainage only: a non-current version is draining or drained
      if (status === 'unknown' && v.drainageStatus === Drainage.VERSION_DRAINAGE_STATUS_DRAINING) status = 'draining';
      if (status === 'unknown' && v.drainageStatus === Drainage.VERSION_DRAINAGE_STATUS_DRAINED) status = 'drained';
      return {
        buildId,
        status,
        createdAt: isoTime(v.createTime),
        running: counts?.running ?? null,
        pinned: counts?.pinned ?? null,
      };
    }),
  );
  // newest first
  versions.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  const ramping =
    routing.rampingDeploymentVersion || routing.rampingVersionPercentage
      ? {
          buildId: routing.rampingDeploymentVersion?.buildId ?? null,
          percent: routing.rampingVersionPercentage ?? 0,
        }
      : null;
  return {
    deploymentName,
    exists: true,
    current: routing.currentDeploymentVersion?.buildId || null,
    ramping,
    versions,
  };
}

export interface SetCurrentResult {
  deploymentName: string;
  /** Build id that was current before; null: the unversioned workers (or nothing yet). */
  previous: string | null;
  current: string;
}

/**
 * Makes `buildId` the current version: new pillows and every AUTO_UPGRADE workflow (pillows,
 * retryChange) go to its workers from their next workflow task on. Temporal refuses while no
 * worker of that build polls the deployment's task queues; with `waitSeconds` this waits for one.
 */
export async function setCurrentVersion(
  client: Client,
  deploymentName: string,
  buildId: string,
  opts: { waitSeconds?: number; identity?: string } = {},
): Promise<SetCurrentResult> {
  const deadline = Date.now() + (opts.waitSeconds ?? 0) * 1000;
  const version = versionString({ deploymentName, buildId });
  for (;;) {
    const view = await describeDeployment(client, deploymentName);
    const known = view.versions.some((v) => v.buildId === buildId);
    if (known) {
      if (view.current === buildId) return { deploymentName, previous: buildId, current: buildId };
      try {
        await client.workflowService.setWorkerDeploymentCurrentVersion({
          namespace: client.options.namespace,
          deploymentName,
          buildId,
          identity: opts.identity ?? `pillowtop-cli@${os.hostname()}`,
        });
        return { deploymentName, previous: view.current, current: buildId };
      } catch (err) {
        const message = (err as Error).message.split('\n')[0];
        // a version known to the deployment whose pollers the server has not counted yet: try again
        if (Date.now() >= deadline)
          throw new DeploymentError(`cannot make ${version} current: ${message.replace(/^\d+ [A-Z_]+: /, '')}`);
      }
    } else if (Date.now() >= deadline) {
      throw new DeploymentError(
        view.exists
          ? `no worker of ${version} has polled yet (known: ${view.versions.map((v) => v.buildId).join(', ') || 'none'}); start workers with PILLOWTOP_BUILD_ID=${buildId} first`
          : `no worker has polled deployment "${deploymentName}" yet; start workers with PILLOWTOP_BUILD_ID=${buildId} first`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
