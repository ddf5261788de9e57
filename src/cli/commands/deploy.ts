import type { Command } from 'commander';
import Table from 'cli-table3';
import { connectClient } from '../../temporal/temporal-client';
import { CliError } from '../cli-error';
import {
  DeploymentError,
  describeDeployment,
  setCurrentVersion,
  type DeploymentView,
} from '../../operations/worker-deployment';
import { buildIdProblem, deploymentNameFromEnv, deploymentNameProblem } from '../../worker/worker-versioning';

interface DeployOptions {
  deploymentName?: string;
}

function deploymentName(opts: DeployOptions): string {
  if (opts.deploymentName === undefined) {
    try {
      return deploymentNameFromEnv();
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
  }
  const problem = deploymentNameProblem(opts.deploymentName);
  if (problem) throw new CliError(`--deployment-name: ${problem}`, 2);
  return opts.deploymentName;
}

export function registerDeploy(program: Command): void {
  const deploy = program
    .command('deploy')
    .description('worker versions (PILLOWTOP_BUILD_ID): which one gets the work, and switching to a new one');

  deploy
    .command('set-current')
    .description('make a version current once its workers poll: pillows move to it at their next task')
    .option('--build-id <id>', 'the version to make current (default: PILLOWTOP_BUILD_ID)')
    .option('--deployment-name <name>', 'the deployment (default: PILLOWTOP_DEPLOYMENT_NAME, else "pillowtop")')
    .option('--wait <seconds>', 'wait this long for a worker of the version to poll', '0')
    .addHelpText(
      'after',
      `
Same as: temporal worker deployment set-current-version --deployment-name pillowtop --build-id ID
Temporal refuses a version none of whose workers poll yet; until it is current, its workers get no work.`,
    )
    .action(async (opts: DeployOptions & { buildId?: string; wait: string }) => {
      const name = deploymentName(opts);
      const buildId = (opts.buildId ?? process.env.PILLOWTOP_BUILD_ID ?? '').trim();
      if (buildId === '') throw new CliError('name the version: --build-id ID (or set PILLOWTOP_BUILD_ID)', 2);
      const problem = buildIdProblem(buildId);
      if (problem) throw new CliError(`--build-id: ${problem}`, 2);
      const wait = Number(opts.wait);
      if (!(wait >= 0)) throw new CliError('--wait must be a number of seconds', 2);
      const { client, close } = await connectClient();
      try {
        const r = await setCurrentVersion(client, name, buildId, { waitSeconds: wait });
        console.log(
          r.previous === r.current
            ? `${name}: ${r.current} is already current`
            : `${name}: current version ${r.previous ?? '(unversioned workers)'} -> ${r.current}`,
        );
      } catch (err) {
        if (err instanceof DeploymentError) throw new CliError(err.message);
        throw err;
      } finally {
        await close();
      }
    });

  deploy
    .command('status')
    .description('the current version, and per version: status and the workflows still on it')
    .option('--deployment-name <name>', 'the deployment (default: PILLOWTOP_DEPLOYMENT_NAME, else "pillowtop")')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Same as: temporal worker deployment describe --name pillowtop
    and: temporal worker deployment describe-version --deployment-name pillowtop --build-id ID
A version may lose its workers once it is not current and "pinned" is 0 (drained); "running" counts
the AUTO_UPGRADE workflows (pillows, retryChange) that have not yet had a task on the current one.`,
    )
    .action(async (opts: DeployOptions & { json?: boolean }) => {
      const name = deploymentName(opts);
      const { client, close } = await connectClient();
      try {
        const view = await describeDeployment(client, name);
        console.log(opts.json ? JSON.stringify(view, null, 2) : renderDeployment(view));
      } finally {
        await close();
      }
    });
}

export function renderDeployment(view: DeploymentView): string {
  if (!view.exists)
    return `deployment "${view.deploymentName}": no versioned worker has polled yet (workers run unversioned without PILLOWTOP_BUILD_ID)`;
  const lines = [
    `deployment "${view.deploymentName}": current version ${view.current ?? '(unversioned workers)'}` +
      (view.ramping ? `, ramping ${view.ramping.buildId ?? '(unversioned)'} at ${view.ramping.percent}%` : ''),
  ];
  const table = new Table({
    head: ['build id', 'status', 'running', 'pinned', 'first polled'],
    style: { head: [], border: [] },
  });
  for (const v of view.versions)
    table.push([v.buildId, v.status, v.running ?? '?', v.pinned ?? '?', v.createdAt ?? '-']);
  lines.push(table.toString());
  return lines.join('\n');
}
