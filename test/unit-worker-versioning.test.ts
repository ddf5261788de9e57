import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerDeploymentOptions, workerVersionFromEnv } from '../src/worker/worker-versioning';

test('no PILLOWTOP_BUILD_ID (or an empty one): an unversioned worker, as before', () => {
  assert.equal(workerVersionFromEnv({}), null);
  assert.equal(workerVersionFromEnv({ PILLOWTOP_BUILD_ID: '  ', PILLOWTOP_DEPLOYMENT_NAME: 'x' }), null);
  assert.equal(workerDeploymentOptions(null), undefined);
});

test('a build id makes a versioned worker of deployment "pillowtop" unless PILLOWTOP_DEPLOYMENT_NAME says otherwise', () => {
  assert.deepEqual(workerVersionFromEnv({ PILLOWTOP_BUILD_ID: 'abc123' }), {
    deploymentName: 'pillowtop',
    buildId: 'abc123',
  });
  const v = workerVersionFromEnv({ PILLOWTOP_BUILD_ID: '2026.11.27-3f2c', PILLOWTOP_DEPLOYMENT_NAME: 'hq-pillows' });
  assert.deepEqual(v, { deploymentName: 'hq-pillows', buildId: '2026.11.27-3f2c' });
  assert.deepEqual(workerDeploymentOptions(v), {
    useWorkerVersioning: true,
    version: { deploymentName: 'hq-pillows', buildId: '2026.11.27-3f2c' },
    defaultVersioningBehavior: 'AUTO_UPGRADE',
  });
});

test('values Temporal would refuse fail at start-up, naming the variable', () => {
  assert.throws(
    () => workerVersionFromEnv({ PILLOWTOP_BUILD_ID: 'a', PILLOWTOP_DEPLOYMENT_NAME: 'pillow.top' }),
    /^Error: PILLOWTOP_DEPLOYMENT_NAME: "pillow\.top" must not contain "\.", ":" or whitespace$/,
  );
  assert.throws(
    () => workerVersionFromEnv({ PILLOWTOP_BUILD_ID: 'a', PILLOWTOP_DEPLOYMENT_NAME: 'a:b' }),
    /PILLOWTOP_DEPLOYMENT_NAME/,
  );
  assert.throws(
    () => workerVersionFromEnv({ PILLOWTOP_BUILD_ID: 'two words' }),
    /^Error: PILLOWTOP_BUILD_ID: .*whitespace/,
  );
  assert.throws(
    () => workerVersionFromEnv({ PILLOWTOP_BUILD_ID: 'x'.repeat(201) }),
    /PILLOWTOP_BUILD_ID: must be at most/,
  );
  assert.throws(() => workerVersionFromEnv({ PILLOWTOP_BUILD_ID: '__unversioned__' }), /reserved/);
});
