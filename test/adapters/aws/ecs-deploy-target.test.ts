import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type ServiceDeployment,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEPLOYMENT_TAG, EcsDeployTarget, VERSION_TAG } from '../../../adapters/aws/ecs-deploy-target';
import type { DeployTarget } from '../../../core/ports/deploy-target';
import type { DeployHandle } from '../../../core/model';
import { DeploymentFailedError, PreflightFailedError } from '../../../core/errors';
import {
  deployment,
  ecsTarget,
  fixedClock,
  NEW_DEPLOYMENT,
  newRelease,
  NOW,
  OLD_DEPLOYMENT,
  region,
  REPO,
  service,
  taskDefinition41,
  TD41,
  TD42,
  testCredentials,
} from './deploy-fixtures';

const ecs = mockClient(ECSClient);
const target = (): DeployTarget => new EcsDeployTarget(new ECSClient({ region, credentials: testCredentials }), ecsTarget, fixedClock);
const request = { version: 'v1.5.0', image: `${REPO}:v1.5.0`, deploymentId: deployment.id };

beforeEach(() => {
  ecs.reset();
});

describe('EcsDeployTarget.current', () => {
  it('reads the running task definition and the image of the configured container', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: taskDefinition41() });

    await expect(target().current()).resolves.toEqual({ version: 'v1.4.2', image: `${REPO}:v1.4.2`, ref: TD41 });
    expect(ecs).toHaveReceivedCommandWith(DescribeServicesCommand, { cluster: 'shop-prod', services: ['shop-api'] });
    expect(ecs).toHaveReceivedCommandWith(DescribeTaskDefinitionCommand, { taskDefinition: TD41 });
  });

  it('fails when the service does not exist, naming service and cluster', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ arn: 'arn:aws:ecs:eu-west-1:123456789012:service/shop-prod/shop-api', reason: 'MISSING' }] });

    const error = await target().current().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreflightFailedError);
    expect((error as Error).message).toBe('ECS service shop-api in cluster shop-prod was not found (MISSING)');
    expect(ecs).toHaveReceivedCommandTimes(DescribeTaskDefinitionCommand, 0);
  });

  it('fails when the service is INACTIVE', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ status: 'INACTIVE' })] });

    await expect(target().current()).rejects.toThrow(new PreflightFailedError('ECS service shop-api in cluster shop-prod is INACTIVE, not ACTIVE'));
  });
});

describe('EcsDeployTarget.preflight', () => {
  it('passes a settled, stable service of the configured family', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: taskDefinition41() });

    const checks = await target().preflight();
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual([
      'ecs service',
      'deployment controller',
      'no rollout in progress',
      'service stable',
      'task definition family',
      'container',
      'circuit breaker',
    ]);
    expect(checks.find((c) => c.name === 'container')?.detail).toBe(`api runs ${REPO}:v1.4.2`);
  });

  it('fails every check that a busy, unstable, misconfigured service breaks', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        service({
          runningCount: 1,
          deploymentController: { type: 'CODE_DEPLOY' },
          deploymentConfiguration: {},
          deployments: [
            { id: 'ecs-svc/3', status: 'PRIMARY', taskDefinition: TD42, rolloutState: 'IN_PROGRESS' },
            { id: OLD_DEPLOYMENT, status: 'ACTIVE', taskDefinition: TD41, rolloutState: 'COMPLETED' },
          ],
        }),
      ],
    });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { ...taskDefinition41(), family: 'shop-web', containerDefinitions: [{ name: 'web', image: 'nginx:1.27' }] },
    });

    const checks = await target().preflight();
    const failed = Object.fromEntries(checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
    expect(failed).toEqual({
      'deployment controller': 'shop-api uses the CODE_DEPLOY deployment controller; deploy-runbook updates the service itself and needs ECS',
      'no rollout in progress': `2 deployment(s): PRIMARY ecs-svc/3 ${TD42} IN_PROGRESS; ACTIVE ${OLD_DEPLOYMENT} ${TD41} COMPLETED`,
      'service stable': 'running 1 of 3 desired tasks',
      'task definition family': `the service runs family shop-web (${TD41}) but target.family is shop-api: IAM is scoped to shop-api, fix the configuration`,
      container: `container "api" is not in ${TD41} (containers: web)`,
    });
    expect(checks.find((c) => c.name === 'circuit breaker')).toEqual({
      name: 'circuit breaker',
      ok: true,
      detail: 'off: a rollout whose tasks keep failing is only noticed when polling.deployment runs out',
    });
  });

  it('fails when a single deployment is still rolling out', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [service({ deployments: [{ id: OLD_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD41, rolloutState: 'IN_PROGRESS' }] })],
    });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: taskDefinition41() });

    const checks = await target().preflight();
    expect(checks.find((c) => c.name === 'no rollout in progress')?.ok).toBe(false);
  });

  it('fails when the service is missing, with one check and no further calls', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] });

    await expect(target().preflight()).resolves.toEqual([
      { name: 'ecs service', ok: false, detail: 'ECS service shop-api in cluster shop-prod was not found (MISSING)' },
    ]);
    expect(ecs).toHaveReceivedCommandTimes(DescribeTaskDefinitionCommand, 0);
  });
});

describe('EcsDeployTarget.deploy', () => {
  function settledOn41() {
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: taskDefinition41(),
      tags: [
        { key: 'team', value: 'checkout' },
        { key: DEPLOYMENT_TAG, value: 'release-v1-4-2-0f0f0f0f' },
        { key: VERSION_TAG, value: 'v1.4.2' },
        { key: 'aws:cloudformation:stack-name', value: 'shop' },
      ],
    });
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { ...taskDefinition41(), taskDefinitionArn: TD42, revision: 42 } });
    ecs.on(UpdateServiceCommand).resolves({
      service: service({
        taskDefinition: TD42,
        deployments: [
          { id: NEW_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD42, rolloutState: 'IN_PROGRESS' },
          { id: OLD_DEPLOYMENT, status: 'ACTIVE', taskDefinition: TD41, rolloutState: 'COMPLETED' },
        ],
      }),
    });
  }

  it('registers a copy of the running revision with only the image and the tags changed, then updates the service', async () => {
    settledOn41();

    const handle = await target().deploy(request);

    expect(handle).toEqual({
      kind: 'ecs',
      ref: TD42,
      version: 'v1.5.0',
      image: `${REPO}:v1.5.0`,
      deploymentId: NEW_DEPLOYMENT,
      startedAt: NOW.toISOString(),
    });
    expect(ecs).toHaveReceivedCommandWith(DescribeTaskDefinitionCommand, { taskDefinition: TD41, include: ['TAGS'] });
    const registered = ecs.commandCalls(RegisterTaskDefinitionCommand);
    expect(registered).toHaveLength(1);
    const old = taskDefinition41();
    expect(registered[0].args[0].input).toEqual({
      family: 'shop-api',
      taskRoleArn: old.taskRoleArn,
      executionRoleArn: old.executionRoleArn,
      networkMode: 'awsvpc',
      containerDefinitions: [{ ...old.containerDefinitions![0], image: `${REPO}:v1.5.0` }, old.containerDefinitions![1]],
      volumes: [],
      placementConstraints: [],
      requiresCompatibilities: ['FARGATE'],
      cpu: '512',
      memory: '1024',
      runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
      ephemeralStorage: { sizeInGiB: 30 },
      enableFaultInjection: false,
      tags: [
        { key: 'team', value: 'checkout' },
        { key: DEPLOYMENT_TAG, value: deployment.id },
        { key: VERSION_TAG, value: 'v1.5.0' },
      ],
    });
    expect(ecs).toHaveReceivedCommandWith(UpdateServiceCommand, { cluster: 'shop-prod', service: 'shop-api', taskDefinition: TD42 });
    expect(ecs.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'DescribeServicesCommand',
      'DescribeTaskDefinitionCommand',
      'RegisterTaskDefinitionCommand',
      'UpdateServiceCommand',
    ]);
  });

  it('does not register or update again when the service already runs the revision this deployment registered', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        service({
          taskDefinition: TD42,
          deployments: [
            { id: NEW_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD42, rolloutState: 'IN_PROGRESS', createdAt: new Date('2025-06-01T10:01:00.000Z') },
            { id: OLD_DEPLOYMENT, status: 'ACTIVE', taskDefinition: TD41, rolloutState: 'COMPLETED' },
          ],
        }),
      ],
    });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { ...taskDefinition41(), taskDefinitionArn: TD42 },
      tags: [{ key: DEPLOYMENT_TAG, value: deployment.id }],
    });

    await expect(target().deploy(request)).resolves.toEqual(newRelease);
    expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  });

  it('fails when the configured container is not in the task definition, naming the ones present', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { ...taskDefinition41(), containerDefinitions: [{ name: 'web' }, { name: 'log-router' }] },
    });

    const error = await target().deploy(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeploymentFailedError);
    expect((error as Error).message).toBe(`container "api" is not in task definition ${TD41} (containers: web, log-router)`);
    expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  });

  it('fails when there is no image to deploy', async () => {
    await expect(target().deploy({ ...request, image: null })).rejects.toThrow(
      new DeploymentFailedError('image: an ECS target needs an image to deploy version v1.5.0 (got null)'),
    );
    expect(ecs.calls()).toHaveLength(0);
  });

  it('fails when the service disappeared before the deploy', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] });

    await expect(target().deploy(request)).rejects.toThrow(new DeploymentFailedError('ECS service shop-api in cluster shop-prod was not found (MISSING)'));
    expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
  });
});

describe('EcsDeployTarget.status', () => {
  function deployments(...list: NonNullable<ReturnType<typeof service>['deployments']>) {
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ deployments: list })] });
  }

  it('reports completed when the rollout state is COMPLETED', async () => {
    deployments({ id: NEW_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD42, desiredCount: 3, runningCount: 3, pendingCount: 0, rolloutState: 'COMPLETED' });

    await expect(target().status(newRelease)).resolves.toEqual({ status: 'completed', detail: 'running 3/3, pending 0', checkedAt: NOW.toISOString() });
    expect(ecs).toHaveReceivedCommandWith(DescribeServicesCommand, { cluster: 'shop-prod', services: ['shop-api'] });
  });

  it('reports in-progress with the task counts while the rollout runs', async () => {
    deployments(
      { id: NEW_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD42, desiredCount: 3, runningCount: 2, pendingCount: 1, rolloutState: 'IN_PROGRESS' },
      { id: OLD_DEPLOYMENT, status: 'ACTIVE', taskDefinition: TD41, desiredCount: 1, runningCount: 1, rolloutState: 'COMPLETED' },
    );

    await expect(target().status(newRelease)).resolves.toEqual({ status: 'in-progress', detail: 'running 2/3, pending 1', checkedAt: NOW.toISOString() });
  });

  it('mentions failed tasks while the circuit breaker is still counting', async () => {
    deployments({ id: NEW_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD42, desiredCount: 3, runningCount: 1, pendingCount: 1, failedTasks: 2, rolloutState: 'IN_PROGRESS' });

    await expect(target().status(newRelease)).resolves.toMatchObject({ detail: 'running 1/3, pending 1, 2 failed task(s)' });
  });

  it('fails with the rollout state reason when the circuit breaker marked the deployment FAILED', async () => {
    deployments(
      { id: 'ecs-svc/3333333333333333333', status: 'PRIMARY', taskDefinition: TD41, rolloutState: 'IN_PROGRESS' },
      {
        id: NEW_DEPLOYMENT,
        status: 'ACTIVE',
        taskDefinition: TD42,
        rolloutState: 'FAILED',
        rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
      },
    );

    await expect(target().status(newRelease)).rejects.toThrow(
      new DeploymentFailedError(`ECS deployment ${NEW_DEPLOYMENT} of ${TD42} failed: ECS deployment circuit breaker: tasks failed to start.`),
    );
  });

  it('fails when the deployment is gone and the primary runs another revision', async () => {
    deployments({ id: 'ecs-svc/3333333333333333333', status: 'PRIMARY', taskDefinition: TD41, rolloutState: 'COMPLETED' });

    await expect(target().status(newRelease)).rejects.toThrow(
      new DeploymentFailedError(
        `ECS deployment ${NEW_DEPLOYMENT} of ${TD42} is gone from service shop-api, whose primary deployment now runs ${TD41}: the circuit breaker rolled it back or another deployment replaced it`,
      ),
    );
  });

  it('fails when another deployment replaced ours while it was rolling out', async () => {
    const TD43 = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:43';
    deployments(
      { id: 'ecs-svc/4444444444444444444', status: 'PRIMARY', taskDefinition: TD43, rolloutState: 'IN_PROGRESS' },
      { id: NEW_DEPLOYMENT, status: 'ACTIVE', taskDefinition: TD42, rolloutState: 'IN_PROGRESS' },
    );

    await expect(target().status(newRelease)).rejects.toThrow(
      new DeploymentFailedError(`ECS deployment ${NEW_DEPLOYMENT} of ${TD42} was replaced by deployment ecs-svc/4444444444444444444 running ${TD43}`),
    );
  });

  it('finds the deployment by task definition when the handle has no deployment id', async () => {
    deployments({ id: NEW_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD42, desiredCount: 2, runningCount: 2, pendingCount: 0, rolloutState: 'COMPLETED' });

    await expect(target().status({ ...newRelease, deploymentId: null })).resolves.toMatchObject({ status: 'completed' });
  });

  it('treats a lone primary at full count as completed when ECS reports no rollout state', async () => {
    deployments({ id: NEW_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD42, desiredCount: 2, runningCount: 2, pendingCount: 0 });

    await expect(target().status(newRelease)).resolves.toMatchObject({ status: 'completed' });
  });

  it.each([
    {
      when: 'ECS reports the rollout IN_PROGRESS, even at full count',
      list: [{ id: NEW_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD42, desiredCount: 2, runningCount: 2, pendingCount: 0, rolloutState: 'IN_PROGRESS' as const }],
    },
    {
      when: 'there is no rollout state and the old deployment still runs',
      list: [
        { id: NEW_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD42, desiredCount: 2, runningCount: 2, pendingCount: 0 },
        { id: OLD_DEPLOYMENT, status: 'ACTIVE', taskDefinition: TD41, desiredCount: 2, runningCount: 1 },
      ],
    },
    {
      when: 'there is no rollout state and the lone primary is short of its desired count',
      list: [{ id: NEW_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD42, desiredCount: 2, runningCount: 1, pendingCount: 1 }],
    },
  ])('reports in-progress when $when', async ({ list }) => {
    deployments(...list);

    await expect(target().status(newRelease)).resolves.toMatchObject({ status: 'in-progress' });
  });
});

describe('EcsDeployTarget.rollback', () => {
  it('points the service back at the previous revision and follows the new primary deployment', async () => {
    ecs.on(UpdateServiceCommand).resolves({
      service: service({
        deployments: [
          { id: 'ecs-svc/5555555555555555555', status: 'PRIMARY', taskDefinition: TD41, rolloutState: 'IN_PROGRESS' },
          { id: NEW_DEPLOYMENT, status: 'ACTIVE', taskDefinition: TD42, rolloutState: 'COMPLETED' },
        ],
      }),
    });

    const handle = await target().rollback({ version: 'v1.4.2', image: `${REPO}:v1.4.2`, ref: TD41 }, newRelease);

    expect(handle).toEqual({
      kind: 'ecs',
      ref: TD41,
      version: 'v1.4.2',
      image: `${REPO}:v1.4.2`,
      deploymentId: 'ecs-svc/5555555555555555555',
      startedAt: NOW.toISOString(),
    });
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(ecs).toHaveReceivedCommandWith(UpdateServiceCommand, { cluster: 'shop-prod', service: 'shop-api', taskDefinition: TD41 });
    expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
  });

  it.each([
    ['another family', 'arn:aws:ecs:eu-west-1:123456789012:task-definition/crypto-miner:1'],
    ['a family that only starts the same', 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api-admin:3'],
    ['no task definition ARN', 'shop-api:41'],
  ])('refuses a rollback target of %s, from a changed ledger, without touching the service', async (_case, ref) => {
    await expect(target().rollback({ version: 'v1.4.2', image: `${REPO}:v1.4.2`, ref }, newRelease)).rejects.toThrow(
      new DeploymentFailedError(
        `rollbackTo.ref: ${JSON.stringify(ref)} is not a revision of the service's task definition family shop-api: refusing to deploy it (the ledger may have been changed)`,
      ),
    );
    expect(ecs).not.toHaveReceivedAnyCommand();
  });
});

describe('EcsDeployTarget with ECS blue/green, linear and canary strategies', () => {
  const SD_NEW = 'arn:aws:ecs:eu-west-1:123456789012:service-deployment/shop-prod/shop-api/Gv5RjBNmkDiDsO1sLpP1x';
  const SD_ROLLBACK = 'arn:aws:ecs:eu-west-1:123456789012:service-deployment/shop-prod/shop-api/Hk2bQwLmA9zzX0cYtRe7p';
  const canary = { strategy: 'CANARY' as const, bakeTimeInMinutes: 5, canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 5 } };
  const shifting: DeployHandle = { ...newRelease, deploymentId: SD_NEW };
  const previous = { version: 'v1.4.2', image: `${REPO}:v1.4.2`, ref: TD41 };

  function serviceDeployment(status: ServiceDeployment['status'], extra: Partial<ServiceDeployment> = {}): void {
    ecs.on(DescribeServiceDeploymentsCommand, { serviceDeploymentArns: [SD_NEW] }).resolves({
      serviceDeployments: [
        {
          serviceDeploymentArn: SD_NEW,
          status,
          targetServiceRevision: { arn: 'arn:aws:ecs:eu-west-1:123456789012:service-revision/shop-prod/shop-api/2', requestedTaskCount: 3, runningTaskCount: 3 },
          ...extra,
        },
      ],
    });
  }

  it('names the strategy and its bake times in preflight, and says the circuit breaker is not what decides', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ deploymentConfiguration: canary })] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: taskDefinition41() });

    const checks = await target().preflight();
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.find((c) => c.name === 'deployment controller')?.detail).toBe(
      'ECS CANARY: 10 % for 5 min, then 100 %, then bakes 5 min before removing the old revision',
    );
    expect(checks.find((c) => c.name === 'circuit breaker')?.detail).toMatch(/^not used by this strategy/);
  });

  it.each([
    [{ strategy: 'LINEAR' as const, linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 2 } }, 'ECS LINEAR: 25 % more every 2 min, then bakes 0 min before removing the old revision'],
    [{ strategy: 'BLUE_GREEN' as const, bakeTimeInMinutes: 15 }, 'ECS BLUE_GREEN: all traffic to the new revision at once, then bakes 15 min before removing the old revision'],
  ])('describes %j', async (deploymentConfiguration, detail) => {
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ deploymentConfiguration })] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: taskDefinition41() });

    expect((await target().preflight()).find((c) => c.name === 'deployment controller')?.detail).toBe(detail);
  });

  it('follows the service deployment UpdateService started', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ deploymentConfiguration: canary })] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: taskDefinition41(), tags: [] });
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { ...taskDefinition41(), taskDefinitionArn: TD42, revision: 42 } });
    ecs.on(UpdateServiceCommand).resolves({ service: service({ deploymentConfiguration: canary, currentServiceDeployment: SD_NEW, deployments: [] }) });

    await expect(target().deploy(request)).resolves.toEqual({ ...newRelease, deploymentId: SD_NEW, startedAt: NOW.toISOString() });
  });

  it('finds the same service deployment again when Deploy is retried', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ deploymentConfiguration: canary, taskDefinition: TD42, currentServiceDeployment: SD_NEW })] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: { ...taskDefinition41(), taskDefinitionArn: TD42 }, tags: [{ key: DEPLOYMENT_TAG, value: deployment.id }] });

    await expect(target().deploy(request)).resolves.toMatchObject({ deploymentId: SD_NEW });
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  });

  it('reports in-progress with the lifecycle stage until ECS says SUCCESSFUL, whatever the task counts', async () => {
    serviceDeployment('IN_PROGRESS', { lifecycleStage: 'BAKE_TIME' });
    await expect(target().status(shifting)).resolves.toEqual({
      status: 'in-progress',
      detail: 'service deployment IN_PROGRESS, stage BAKE_TIME, new revision running 3/3',
      checkedAt: NOW.toISOString(),
    });
    expect(ecs).toHaveReceivedCommandWith(DescribeServiceDeploymentsCommand, { serviceDeploymentArns: [SD_NEW] });
    expect(ecs).toHaveReceivedCommandTimes(DescribeServicesCommand, 0);

    ecs.reset();
    serviceDeployment('SUCCESSFUL');
    await expect(target().status(shifting)).resolves.toMatchObject({ status: 'completed', detail: 'service deployment SUCCESSFUL, new revision running 3/3' });
  });

  it.each([
    ['ROLLBACK_IN_PROGRESS' as const, `ECS service deployment ${SD_NEW} is being rolled back by ECS (ROLLBACK_IN_PROGRESS: alarm shop-api-5xx in ALARM)`],
    ['STOPPED' as const, `ECS service deployment ${SD_NEW} did not complete (STOPPED: alarm shop-api-5xx in ALARM)`],
  ])('fails when ECS reports %s', async (status, message) => {
    serviceDeployment(status, { rollback: { reason: 'alarm shop-api-5xx in ALARM' } });

    await expect(target().status(shifting)).rejects.toThrow(new DeploymentFailedError(message));
  });

  it('fails when ECS does not know the service deployment', async () => {
    ecs.on(DescribeServiceDeploymentsCommand).resolves({ serviceDeployments: [], failures: [{ arn: SD_NEW, reason: 'MISSING' }] });

    await expect(target().status(shifting)).rejects.toThrow(new DeploymentFailedError(`ECS service deployment ${SD_NEW} was not found (MISSING)`));
  });

  it("rolls a service deployment still under way back with ECS's rollback, then follows it to ROLLBACK_SUCCESSFUL", async () => {
    serviceDeployment('IN_PROGRESS', { lifecycleStage: 'PRODUCTION_TRAFFIC_SHIFT' });
    ecs.on(StopServiceDeploymentCommand).resolves({ serviceDeploymentArn: SD_NEW });

    const handle = await target().rollback(previous, shifting);

    expect(handle).toEqual({ kind: 'ecs', ref: TD41, version: 'v1.4.2', image: `${REPO}:v1.4.2`, deploymentId: `rollback:${SD_NEW}`, startedAt: NOW.toISOString() });
    expect(ecs).toHaveReceivedCommandWith(StopServiceDeploymentCommand, { serviceDeploymentArn: SD_NEW, stopType: 'ROLLBACK' });
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);

    ecs.reset();
    serviceDeployment('ROLLBACK_IN_PROGRESS');
    await expect(target().status(handle)).resolves.toMatchObject({ status: 'in-progress' });
    ecs.reset();
    serviceDeployment('ROLLBACK_SUCCESSFUL');
    await expect(target().status(handle)).resolves.toMatchObject({ status: 'completed', detail: 'service deployment ROLLBACK_SUCCESSFUL, new revision running 3/3' });
    ecs.reset();
    serviceDeployment('ROLLBACK_FAILED', { statusReason: 'blue revision could not scale up' });
    await expect(target().status(handle)).rejects.toThrow(
      new DeploymentFailedError(`ECS service deployment ${SD_NEW}: ECS's rollback did not succeed (ROLLBACK_FAILED: blue revision could not scale up)`),
    );
  });

  it('follows the rollback ECS already started on its own, sending nothing', async () => {
    serviceDeployment('ROLLBACK_REQUESTED');

    await expect(target().rollback(previous, shifting)).resolves.toMatchObject({ deploymentId: `rollback:${SD_NEW}` });
    expect(ecs).toHaveReceivedCommandTimes(StopServiceDeploymentCommand, 0);
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  });

  it('redeploys the previous revision, following the new service deployment, once the deployment completed (a failed bake)', async () => {
    serviceDeployment('SUCCESSFUL');
    ecs.on(UpdateServiceCommand).resolves({ service: service({ deploymentConfiguration: canary, currentServiceDeployment: SD_ROLLBACK }) });

    await expect(target().rollback(previous, shifting)).resolves.toMatchObject({ ref: TD41, deploymentId: SD_ROLLBACK });
    expect(ecs).toHaveReceivedCommandWith(UpdateServiceCommand, { cluster: 'shop-prod', service: 'shop-api', taskDefinition: TD41 });
    expect(ecs).toHaveReceivedCommandTimes(StopServiceDeploymentCommand, 0);
  });
});
