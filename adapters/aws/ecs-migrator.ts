import { DescribeTasksCommand, type ECSClient, RunTaskCommand, type RunTaskCommandInput, type Service } from '@aws-sdk/client-ecs';
import type { MigrationsConfig } from '../../config/schema';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { Migrator } from '../../core/ports/migrator';
import { MigrationFailedError } from '../../core/errors';
import type { DeployHandle, MigrationsState } from '../../core/model';
import { DEPLOYMENT_TAG, describeEcsService, type EcsTargetConfig } from './ecs-deploy-target';

/**
 * The IAM action behind each AWS call EcsMigrator makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const ECS_MIGRATOR_IAM = {
  runTask: 'ecs:RunTask',
  /** RunTask with tags: tagging on create is authorised as ecs:TagResource. */
  tagOnRun: 'ecs:TagResource',
  /** RunTask of a revision whose task and execution roles ECS assumes. */
  passRoles: 'iam:PassRole',
  describeTasks: 'ecs:DescribeTasks',
} as const;

/** The `migrations` section of an `ecs-task` configuration. */
export type EcsTaskMigrationsConfig = Extract<MigrationsConfig, { kind: 'ecs-task' }>;

/**
 * Runs the migrations as a one-off ECS task of the revision just deployed, in the service's network and
 * capacity settings, with the configured command in place of the container's own.
 */
export class EcsMigrator implements Migrator {
  private readonly containerName: string;

  /** `deploymentId` is the runbook's: it tags the task and makes a retried RunTask return the same task. */
  constructor(
    private readonly ecs: ECSClient,
    private readonly target: EcsTargetConfig,
    private readonly migrations: EcsTaskMigrationsConfig,
    private readonly deploymentId: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.containerName = migrations.container ?? target.container;
  }

  async start(release: DeployHandle): Promise<MigrationsState> {
    if (release.kind !== 'ecs') throw new MigrationFailedError(`release.kind: ecs-task migrations need an ECS release (got "${release.kind}")`);
    const service = await describeEcsService(this.ecs, this.target, MigrationFailedError);
    const { cluster } = this.target;
    const started = await this.ecs.send(
      new RunTaskCommand({
        cluster,
        taskDefinition: release.ref,
        count: 1,
        startedBy: 'deploy-runbook',
        // RunTask keeps a client token for 24 hours, longer than any execution: a retry cannot migrate twice.
        clientToken: this.deploymentId,
        overrides: { containerOverrides: [{ name: this.containerName, command: [...this.migrations.command] }] },
        ...placementOf(service),
        tags: [{ key: DEPLOYMENT_TAG, value: this.deploymentId }],
      }),
    );
    const failures = started.failures ?? [];
    const taskArn = started.tasks?.[0]?.taskArn;
    if (failures.length > 0 || !taskArn) {
      const reasons = failures.map((f) => [f.arn, f.reason, f.detail].filter(Boolean).join(' ')).join('; ') || 'no task was started';
      throw new MigrationFailedError(`RunTask of ${release.ref} in cluster ${cluster} for the migrations failed: ${reasons}`);
    }
    return {
      started: true,
      status: 'running',
      ref: taskArn,
      startedAt: this.clock.now().toISOString(),
      finishedAt: null,
      detail: `task ${taskArn} of ${release.ref} started`,
    };
  }

  async status(state: MigrationsState): Promise<MigrationsState> {
    const { cluster } = this.target;
    if (!state.ref) throw new MigrationFailedError('migrations.ref: there is no migrations task to check (got null)');
    const described = await this.ecs.send(new DescribeTasksCommand({ cluster, tasks: [state.ref] }));
    const task = described.tasks?.[0];
    if (!task) {
      throw new MigrationFailedError(`migrations task ${state.ref} was not found in cluster ${cluster} (${described.failures?.[0]?.reason ?? 'no such task'})`);
    }
    if (task.lastStatus !== 'STOPPED') return { ...state, started: true, status: 'running', detail: `task ${task.lastStatus ?? 'status unknown'}` };

    const container = task.containers?.find((c) => c.name === this.containerName);
    const exitCode = container?.exitCode;
    if (exitCode === 0) {
      return {
        ...state,
        started: true,
        status: 'succeeded',
        finishedAt: (task.stoppedAt ?? this.clock.now()).toISOString(),
        detail: `container ${this.containerName} exited with code 0`,
      };
    }
    const exit = exitCode === undefined || exitCode === null ? 'stopped without an exit code' : `exited with code ${exitCode}`;
    const why = [task.stopCode, task.stoppedReason, container?.reason].filter(Boolean).join(': ') || 'no reason given';
    throw new MigrationFailedError(`migrations task ${state.ref}: container ${this.containerName} ${exit} (${why})`);
  }
}

/** Same network and capacity as the service, so the task reaches the database the app reaches. */
function placementOf(service: Service): Partial<RunTaskCommandInput> {
  const placement: Partial<RunTaskCommandInput> = {};
  if (service.networkConfiguration) placement.networkConfiguration = service.networkConfiguration;
  // RunTask refuses a launch type together with a capacity provider strategy.
  if (service.capacityProviderStrategy?.length) placement.capacityProviderStrategy = service.capacityProviderStrategy;
  else if (service.launchType) placement.launchType = service.launchType;
  if (service.platformVersion) placement.platformVersion = service.platformVersion;
  return placement;
}
