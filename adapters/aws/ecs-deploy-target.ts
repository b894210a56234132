import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  type Deployment as EcsDeployment,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  type Tag,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { imageTag } from '../../config/image-reference';
import type { TargetConfig } from '../../config/schema';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { DeployRequest, DeployTarget } from '../../core/ports/deploy-target';
import { DeploymentFailedError, PreflightFailedError, type RunbookError } from '../../core/errors';
import type { DeployedVersion, DeployHandle, DeployStatus, PreflightCheck } from '../../core/model';
import {
  describeServiceDeployment,
  describeStrategy,
  followedServiceDeployment,
  rollBackServiceDeployment,
  serviceDeploymentVerdict,
  trafficShiftingStrategy,
} from './ecs-service-deployment';

/**
 * The IAM action behind each AWS call EcsDeployTarget makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const ECS_DEPLOY_TARGET_IAM = {
  describeServices: 'ecs:DescribeServices',
  describeTaskDefinition: 'ecs:DescribeTaskDefinition',
  registerTaskDefinition: 'ecs:RegisterTaskDefinition',
  /** RegisterTaskDefinition with tags: tagging on create is authorised as ecs:TagResource. */
  tagOnRegister: 'ecs:TagResource',
  /** RegisterTaskDefinition hands the task and execution roles over to ECS. */
  passRoles: 'iam:PassRole',
  updateService: 'ecs:UpdateService',
} as const;

/** The `target` section of an ECS configuration. */
export type EcsTargetConfig = Extract<TargetConfig, { kind: 'ecs' }>;

/** Tag carrying the runbook deployment id, on the revisions we register and the migration tasks we run. */
export const DEPLOYMENT_TAG = 'deploy-runbook:deployment';
/** Tag carrying the deployed version on the revisions we register. */
export const VERSION_TAG = 'deploy-runbook:version';

/** Fields of a described task definition that RegisterTaskDefinition accepts back, besides the family and containers deploy sets. */
const REGISTRABLE_FIELDS = [
  'taskRoleArn',
  'executionRoleArn',
  'networkMode',
  'volumes',
  'placementConstraints',
  'requiresCompatibilities',
  'cpu',
  'memory',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'inferenceAccelerators',
  'ephemeralStorage',
  'runtimePlatform',
  'enableFaultInjection',
] as const satisfies readonly (keyof TaskDefinition & keyof RegisterTaskDefinitionCommandInput)[];

type ErrorClass = new (message: string) => RunbookError;

/**
 * Reads the configured service, failing with `failure` when it does not exist or is not ACTIVE:
 * PreflightFailedError before the deploy, DeploymentFailedError once it started.
 */
export async function describeEcsService(ecs: ECSClient, target: EcsTargetConfig, failure: ErrorClass): Promise<Service & { taskDefinition: string }> {
  const described = await ecs.send(new DescribeServicesCommand({ cluster: target.cluster, services: [target.service] }));
  const service = described.services?.[0];
  const where = `ECS service ${target.service} in cluster ${target.cluster}`;
  if (!service) throw new failure(`${where} was not found (${described.failures?.[0]?.reason ?? 'no such service'})`);
  if (service.status !== 'ACTIVE') throw new failure(`${where} is ${service.status ?? 'in an unknown state'}, not ACTIVE`);
  if (!service.taskDefinition) throw new failure(`${where} has no task definition`);
  return { ...service, taskDefinition: service.taskDefinition };
}

/**
 * Deploys to an ECS service by registering a new revision of its task definition, identical to the running
 * one except for the image of `target.container`, and pointing the service at it. ECS does the rest with the
 * service's strategy: a rolling update (`status` follows that deployment and the circuit breaker's verdict), or
 * blue/green, linear or canary (`status` follows the service deployment until ECS calls it SUCCESSFUL, and a
 * rollback while it is under way is ECS's own: StopServiceDeployment ROLLBACK).
 */
export class EcsDeployTarget implements DeployTarget {
  constructor(
    private readonly ecs: ECSClient,
    private readonly target: EcsTargetConfig,
    private readonly clock: Clock = systemClock,
  ) {}

  async current(): Promise<DeployedVersion> {
    const service = await describeEcsService(this.ecs, this.target, PreflightFailedError);
    const { taskDefinition } = await this.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }));
    const image = this.container(taskDefinition)?.image ?? null;
    return { version: image === null ? null : imageTag(image), image, ref: taskDefinition?.taskDefinitionArn ?? service.taskDefinition };
  }

  async preflight(): Promise<PreflightCheck[]> {
    const { cluster, service: name, family, container } = this.target;
    let service: Awaited<ReturnType<typeof describeEcsService>>;
    try {
      service = await describeEcsService(this.ecs, this.target, PreflightFailedError);
    } catch (error) {
      if (error instanceof PreflightFailedError) return [{ name: 'ecs service', ok: false, detail: error.message }];
      throw error;
    }
    const deployments = service.deployments ?? [];
    const controller = service.deploymentController?.type ?? 'ECS';
    const breaker = service.deploymentConfiguration?.deploymentCircuitBreaker;
    const running = service.runningCount ?? 0;
    const desired = service.desiredCount ?? 0;
    const { taskDefinition } = await this.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }));
    const image = this.container(taskDefinition)?.image;
    const containers = (taskDefinition?.containerDefinitions ?? []).map((c) => c.name).join(', ') || 'none';
    const settled = deployments.length === 1 && deployments[0].rolloutState !== 'IN_PROGRESS';
    const runsFamily = taskDefinition?.family === family;
    return [
      { name: 'ecs service', ok: true, detail: `${name} in cluster ${cluster} is ACTIVE` },
      {
        name: 'deployment controller',
        ok: controller === 'ECS',
        detail: controller === 'ECS' ? describeStrategy(service) : `${name} uses the ${controller} deployment controller; deploy-runbook updates the service itself and needs ECS`,
      },
      {
        name: 'no rollout in progress',
        ok: settled,
        detail: settled
          ? `one deployment (${deployments[0].id})`
          : `${deployments.length} deployment(s): ${deployments.map(describeDeployment).join('; ') || 'none'}`,
      },
      { name: 'service stable', ok: running >= desired, detail: `running ${running} of ${desired} desired tasks` },
      {
        name: 'task definition family',
        ok: runsFamily,
        detail: runsFamily
          ? service.taskDefinition
          : `the service runs family ${taskDefinition?.family ?? 'unknown'} (${service.taskDefinition}) but target.family is ${family}: IAM is scoped to ${family}, fix the configuration`,
      },
      {
        name: 'container',
        ok: image !== undefined,
        detail: image !== undefined ? `${container} runs ${image}` : `container "${container}" is not in ${service.taskDefinition} (containers: ${containers})`,
      },
      {
        name: 'circuit breaker',
        ok: true,
        detail: trafficShiftingStrategy(service)
          ? "not used by this strategy: ECS's deployment alarms and lifecycle hooks fail a service deployment, and the runbook follows its status"
          : breaker?.enable
            ? `enabled${breaker.rollback ? ' with automatic rollback' : ''}: a failing rollout is reported as soon as ECS gives up`
            : 'off: a rollout whose tasks keep failing is only noticed when polling.deployment runs out',
      },
    ];
  }

  async deploy({ version, image, deploymentId }: DeployRequest): Promise<DeployHandle> {
    const { service: name, container } = this.target;
    if (image === null) throw new DeploymentFailedError(`image: an ECS target needs an image to deploy version ${version} (got null)`);
    const service = await describeEcsService(this.ecs, this.target, DeploymentFailedError);
    const described = await this.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition, include: ['TAGS'] }));
    const current = described.taskDefinition;
    const tags = described.tags ?? [];
    if (!current?.taskDefinitionArn) throw new DeploymentFailedError(`task definition ${service.taskDefinition} of service ${name} could not be described`);

    if (tags.some((tag) => tag.key === DEPLOYMENT_TAG && tag.value === deploymentId)) {
      // A retried Deploy: our revision already reached the service, so registering again would roll out twice.
      const ours = service.deployments?.find((d) => d.taskDefinition === current.taskDefinitionArn) ?? primaryOf(service);
      return this.handle(current.taskDefinitionArn, version, image, followedId(service, ours), ours?.createdAt);
    }

    const containers = current.containerDefinitions ?? [];
    if (!containers.some((c) => c.name === container)) {
      const present = containers.map((c) => c.name).join(', ') || 'none';
      throw new DeploymentFailedError(`container "${container}" is not in task definition ${current.taskDefinitionArn} (containers: ${present})`);
    }
    const registered = await this.ecs.send(
      new RegisterTaskDefinitionCommand({
        ...registrableCopy(current),
        family: current.family,
        containerDefinitions: containers.map((c) => (c.name === container ? { ...c, image } : c)),
        tags: [...tags.filter(keepTag), { key: DEPLOYMENT_TAG, value: deploymentId }, { key: VERSION_TAG, value: version }],
      }),
    );
    const arn = registered.taskDefinition?.taskDefinitionArn;
    if (!arn) throw new DeploymentFailedError(`RegisterTaskDefinition for family ${current.family} returned no task definition ARN`);

    const updated = await this.ecs.send(new UpdateServiceCommand({ cluster: this.target.cluster, service: name, taskDefinition: arn }));
    return this.handle(arn, version, image, followedId(updated.service, primaryOf(updated.service)));
  }

  async status(handle: DeployHandle): Promise<DeployStatus> {
    const followed = followedServiceDeployment(handle.deploymentId);
    if (followed) {
      // Blue/green, linear, canary: ECS says when the service deployment is done, bake included; task counts do not.
      const verdict = serviceDeploymentVerdict(await describeServiceDeployment(this.ecs, followed.arn), followed.rollback);
      return { ...verdict, checkedAt: this.clock.now().toISOString() };
    }
    const service = await describeEcsService(this.ecs, this.target, DeploymentFailedError);
    const deployments = service.deployments ?? [];
    const primary = primaryOf(service);
    const ours =
      deployments.find((d) => handle.deploymentId !== null && d.id === handle.deploymentId) ?? deployments.find((d) => d.taskDefinition === handle.ref);
    const label = `ECS deployment ${handle.deploymentId ?? '(no id)'} of ${handle.ref}`;
    if (!ours) {
      throw new DeploymentFailedError(
        `${label} is gone from service ${this.target.service}, whose primary deployment now runs ${primary?.taskDefinition ?? 'nothing'}: the circuit breaker rolled it back or another deployment replaced it`,
      );
    }
    if (ours.rolloutState === 'FAILED') throw new DeploymentFailedError(`${label} failed: ${ours.rolloutStateReason ?? 'ECS gave no reason'}`);
    if (ours.status !== 'PRIMARY') {
      throw new DeploymentFailedError(`${label} was replaced by deployment ${primary?.id ?? 'unknown'} running ${primary?.taskDefinition ?? 'unknown'}`);
    }
    const running = ours.runningCount ?? 0;
    const desired = ours.desiredCount ?? 0;
    const counts = `running ${running}/${desired}, pending ${ours.pendingCount ?? 0}${ours.failedTasks ? `, ${ours.failedTasks} failed task(s)` : ''}`;
    // Without a rollout state (older services) a single primary deployment at full count is the finish line.
    const completed = ours.rolloutState === 'COMPLETED' || (ours.rolloutState === undefined && deployments.length === 1 && running >= desired);
    return { status: completed ? 'completed' : 'in-progress', detail: counts, checkedAt: this.clock.now().toISOString() };
  }

  async rollback(to: DeployedVersion, from: DeployHandle | null): Promise<DeployHandle> {
    // The target comes from the ledger in S3 after an alarm: whatever it says, only a revision of the service's
    // own family may be deployed, never another task definition the role could otherwise point the service at.
    const family = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/([A-Za-z0-9_-]+):\d+$/.exec(to.ref)?.[1];
    if (family !== this.target.family) {
      throw new DeploymentFailedError(
        `rollbackTo.ref: ${JSON.stringify(to.ref)} is not a revision of the service's task definition family ${this.target.family}: refusing to deploy it (the ledger may have been changed)`,
      );
    }
    const followed = followedServiceDeployment(from?.deploymentId ?? null);
    if (followed && !followed.rollback) {
      // ECS's own rollback while the service deployment is under way: the previous revision still runs and takes the traffic back.
      const rollback = await rollBackServiceDeployment(this.ecs, followed.arn);
      if (rollback !== null) return this.handle(to.ref, to.version, to.image, rollback);
    }
    const updated = await this.ecs.send(new UpdateServiceCommand({ cluster: this.target.cluster, service: this.target.service, taskDefinition: to.ref }));
    return this.handle(to.ref, to.version, to.image, followedId(updated.service, primaryOf(updated.service)));
  }

  private container(taskDefinition: TaskDefinition | undefined) {
    return taskDefinition?.containerDefinitions?.find((c) => c.name === this.target.container);
  }

  private handle(ref: string, version: string | null, image: string | null, deploymentId: string | null, startedAt?: Date): DeployHandle {
    return {
      kind: 'ecs',
      ref,
      version,
      image,
      deploymentId,
      startedAt: (startedAt ?? this.clock.now()).toISOString(),
    };
  }
}

/**
 * What status follows: the service deployment's ARN under a traffic-shifting strategy (ECS reports its progress
 * there), else the rolling update's deployment id.
 */
function followedId(service: Service | undefined, deployment: EcsDeployment | undefined): string | null {
  if (trafficShiftingStrategy(service) && service?.currentServiceDeployment) return service.currentServiceDeployment;
  return deployment?.id ?? null;
}

function primaryOf(service: Service | undefined): EcsDeployment | undefined {
  return service?.deployments?.find((d) => d.status === 'PRIMARY');
}

function describeDeployment(d: EcsDeployment): string {
  return `${d.status ?? '?'} ${d.id ?? '?'} ${d.taskDefinition ?? '?'} ${d.rolloutState ?? ''}`.trim();
}

/** Tags copied to the new revision: not our previous deploy's, and not `aws:` ones, which only AWS may set. */
function keepTag(tag: Tag): boolean {
  return tag.key !== DEPLOYMENT_TAG && tag.key !== VERSION_TAG && !tag.key?.startsWith('aws:');
}

function registrableCopy(taskDefinition: TaskDefinition): Omit<RegisterTaskDefinitionCommandInput, 'family' | 'containerDefinitions'> {
  const copy: Record<string, unknown> = {};
  for (const field of REGISTRABLE_FIELDS) {
    if (taskDefinition[field] !== undefined) copy[field] = taskDefinition[field];
  }
  return copy;
}
