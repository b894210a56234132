import { DescribeServicesCommand, DescribeTasksCommand, ECSClient, RunTaskCommand, type Task } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEPLOYMENT_TAG } from '../../../adapters/aws/ecs-deploy-target';
import { EcsMigrator, type EcsTaskMigrationsConfig } from '../../../adapters/aws/ecs-migrator';
import { MigrationFailedError } from '../../../core/errors';
import type { MigrationsState } from '../../../core/model';
import { deployment, ecsTarget, fixedClock, newRelease, NOW, region, service, TD42, testCredentials } from './deploy-fixtures';

const ecs = mockClient(ECSClient);
const migrations: EcsTaskMigrationsConfig = { kind: 'ecs-task', command: ['npm', 'run', 'migrate:latest'] };
const migrator = (config: EcsTaskMigrationsConfig = migrations) =>
  new EcsMigrator(new ECSClient({ region, credentials: testCredentials }), ecsTarget, config, deployment.id, fixedClock);

const TASK = 'arn:aws:ecs:eu-west-1:123456789012:task/shop-prod/0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const running: MigrationsState = {
  started: true,
  status: 'running',
  ref: TASK,
  startedAt: '2025-06-01T10:02:00.000Z',
  finishedAt: null,
  detail: `task ${TASK} of ${TD42} started`,
};

beforeEach(() => {
  ecs.reset();
});

describe('EcsMigrator.start', () => {
  it('runs one task of the new revision with the migrations command, in the service network and capacity', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK, lastStatus: 'PROVISIONING' }], failures: [] });

    await expect(migrator().start(newRelease)).resolves.toEqual({
      started: true,
      status: 'running',
      ref: TASK,
      startedAt: NOW.toISOString(),
      finishedAt: null,
      detail: `task ${TASK} of ${TD42} started`,
    });
    const calls = ecs.commandCalls(RunTaskCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({
      cluster: 'shop-prod',
      taskDefinition: TD42,
      count: 1,
      startedBy: 'deploy-runbook',
      clientToken: deployment.id,
      overrides: { containerOverrides: [{ name: 'api', command: ['npm', 'run', 'migrate:latest'] }] },
      networkConfiguration: service().networkConfiguration,
      launchType: 'FARGATE',
      platformVersion: '1.4.0',
      tags: [{ key: DEPLOYMENT_TAG, value: deployment.id }],
    });
    expect(ecs.calls().map((call) => call.args[0].constructor.name)).toEqual(['DescribeServicesCommand', 'RunTaskCommand']);
  });

  it('uses the configured container and the capacity provider strategy instead of a launch type', async () => {
    const strategy = [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }];
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ launchType: undefined, capacityProviderStrategy: strategy })] });
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK }] });

    await migrator({ ...migrations, container: 'migrator' }).start(newRelease);

    const input = ecs.commandCalls(RunTaskCommand)[0].args[0].input;
    expect(input.capacityProviderStrategy).toEqual(strategy);
    expect(input).not.toHaveProperty('launchType');
    expect(input.overrides).toEqual({ containerOverrides: [{ name: 'migrator', command: ['npm', 'run', 'migrate:latest'] }] });
  });

  it('fails with every reason ECS gave when RunTask reports failures', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    ecs.on(RunTaskCommand).resolves({
      tasks: [],
      failures: [{ arn: 'arn:aws:ecs:eu-west-1:123456789012:container-instance/abc', reason: 'RESOURCE:MEMORY', detail: 'not enough memory' }, { reason: 'AGENT' }],
    });

    await expect(migrator().start(newRelease)).rejects.toThrow(
      new MigrationFailedError(
        `RunTask of ${TD42} in cluster shop-prod for the migrations failed: arn:aws:ecs:eu-west-1:123456789012:container-instance/abc RESOURCE:MEMORY not enough memory; AGENT`,
      ),
    );
  });

  it('fails when the release is not an ECS revision', async () => {
    await expect(migrator().start({ ...newRelease, kind: 'hook', ref: 'release-7' })).rejects.toThrow(
      new MigrationFailedError('release.kind: ecs-task migrations need an ECS release (got "hook")'),
    );
    expect(ecs.calls()).toHaveLength(0);
  });
});

describe('EcsMigrator.status', () => {
  function task(t: Task) {
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK, ...t }] });
  }

  it('reports succeeded when the container stopped with exit code 0', async () => {
    task({
      lastStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      stoppedAt: new Date('2025-06-01T10:04:30.000Z'),
      containers: [{ name: 'api', exitCode: 0 }],
    });

    await expect(migrator().status(running)).resolves.toEqual({
      ...running,
      status: 'succeeded',
      finishedAt: '2025-06-01T10:04:30.000Z',
      detail: 'container api exited with code 0',
    });
    expect(ecs).toHaveReceivedCommandWith(DescribeTasksCommand, { cluster: 'shop-prod', tasks: [TASK] });
  });

  it('fails with the exit code and the stop reason when the container exited 1', async () => {
    task({
      lastStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      containers: [{ name: 'api', exitCode: 1 }],
    });

    await expect(migrator().status(running)).rejects.toThrow(
      new MigrationFailedError(`migrations task ${TASK}: container api exited with code 1 (EssentialContainerExited: Essential container in task exited)`),
    );
  });

  it('fails with the reason when the task never started', async () => {
    task({
      lastStatus: 'STOPPED',
      stopCode: 'TaskFailedToStart',
      stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)',
      containers: [{ name: 'api', reason: 'CannotPullContainerError' }],
    });

    await expect(migrator().status(running)).rejects.toThrow(
      new MigrationFailedError(
        `migrations task ${TASK}: container api stopped without an exit code (TaskFailedToStart: CannotPullContainerError: pull image manifest has been retried 5 time(s): CannotPullContainerError)`,
      ),
    );
  });

  it('reports running while the task is not stopped', async () => {
    task({ lastStatus: 'RUNNING', containers: [{ name: 'api' }] });

    await expect(migrator().status(running)).resolves.toEqual({ ...running, detail: 'task RUNNING' });
  });

  it('fails when the task cannot be found', async () => {
    ecs.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: TASK, reason: 'MISSING' }] });

    await expect(migrator().status(running)).rejects.toThrow(new MigrationFailedError(`migrations task ${TASK} was not found in cluster shop-prod (MISSING)`));
  });

  it('fails when there is no task to check', async () => {
    await expect(migrator().status({ ...running, ref: null })).rejects.toThrow(
      new MigrationFailedError('migrations.ref: there is no migrations task to check (got null)'),
    );
    expect(ecs.calls()).toHaveLength(0);
  });
});
