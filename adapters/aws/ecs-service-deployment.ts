import {
  DescribeServiceDeploymentsCommand,
  type DeploymentStrategy,
  type ECSClient,
  type Service,
  type ServiceDeployment,
  StopServiceDeploymentCommand,
} from '@aws-sdk/client-ecs';
import { DeploymentFailedError } from '../../core/errors';

/**
 * The IAM action behind each call on a service deployment (ECS's blue/green, linear and canary strategies), granted
 * from here by lib/task-permissions.ts on the service's deployments.
 */
export const ECS_SERVICE_DEPLOYMENT_IAM = {
  describeServiceDeployments: 'ecs:DescribeServiceDeployments',
  stopServiceDeployment: 'ecs:StopServiceDeployment',
} as const;

/** Strategies in which ECS itself shifts traffic between two service revisions and reports one service deployment. */
const TRAFFIC_SHIFTING: readonly DeploymentStrategy[] = ['BLUE_GREEN', 'LINEAR', 'CANARY'];

/** A handle's `deploymentId` when the rollback is ECS's own rollback of that service deployment (StopServiceDeployment). */
const ROLLBACK_PREFIX = 'rollback:';

const SERVICE_DEPLOYMENT_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service-deployment\//;

/** The strategy when ECS shifts the traffic itself; null for a rolling update (or no strategy given). */
export function trafficShiftingStrategy(service: Service | undefined): DeploymentStrategy | null {
  const strategy = service?.deploymentConfiguration?.strategy;
  return strategy !== undefined && TRAFFIC_SHIFTING.includes(strategy) ? strategy : null;
}

/** How a strategy shifts traffic, in words, with the bake times ECS waits through before it calls the deployment done. */
export function describeStrategy(service: Service): string {
  const configuration = service.deploymentConfiguration ?? {};
  const bake = `then bakes ${configuration.bakeTimeInMinutes ?? 0} min before removing the old revision`;
  switch (configuration.strategy) {
    case 'CANARY': {
      const canary = configuration.canaryConfiguration ?? {};
      return `ECS CANARY: ${canary.canaryPercent ?? 5} % for ${canary.canaryBakeTimeInMinutes ?? 10} min, then 100 %, ${bake}`;
    }
    case 'LINEAR': {
      const linear = configuration.linearConfiguration ?? {};
      return `ECS LINEAR: ${linear.stepPercent ?? 10} % more every ${linear.stepBakeTimeInMinutes ?? 6} min, ${bake}`;
    }
    case 'BLUE_GREEN':
      return `ECS BLUE_GREEN: all traffic to the new revision at once, ${bake}`;
    default:
      return 'ECS rolling update';
  }
}

/** A handle following ECS's rollback of the service deployment `arn`. */
export function rollbackOf(arn: string): string {
  return `${ROLLBACK_PREFIX}${arn}`;
}

/** The service deployment a handle follows, and whether it follows its rollback; null for a rolling update's deployment id. */
export function followedServiceDeployment(deploymentId: string | null): { arn: string; rollback: boolean } | null {
  if (deploymentId === null) return null;
  const rollback = deploymentId.startsWith(ROLLBACK_PREFIX);
  const arn = rollback ? deploymentId.slice(ROLLBACK_PREFIX.length) : deploymentId;
  return SERVICE_DEPLOYMENT_ARN.test(arn) ? { arn, rollback } : null;
}

/** Reads one service deployment; DeploymentFailedError when ECS does not know it. */
export async function describeServiceDeployment(ecs: ECSClient, arn: string): Promise<ServiceDeployment> {
  const described = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
  const found = described.serviceDeployments?.[0];
  if (!found) throw new DeploymentFailedError(`ECS service deployment ${arn} was not found (${described.failures?.[0]?.reason ?? 'no such service deployment'})`);
  return found;
}

/** Statuses in which the service deployment is still on its way to the new revision. */
const UNDER_WAY = new Set(['PENDING', 'IN_PROGRESS']);
/** Statuses in which ECS is taking, or took, the traffic back to the previous revision. */
const ROLLING_BACK = new Set(['ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_SUCCESSFUL']);

/**
 * The verdict on a service deployment as ECS gives it: `completed` only at SUCCESSFUL (for a rollback:
 * ROLLBACK_SUCCESSFUL), whatever the task counts say; a deployment ECS stopped or rolled back fails.
 */
export function serviceDeploymentVerdict(deployment: ServiceDeployment, rollback: boolean): { status: 'completed' | 'in-progress'; detail: string } {
  const status = deployment.status ?? 'unknown';
  const stage = deployment.lifecycleStage ? `, stage ${deployment.lifecycleStage}` : '';
  const target = deployment.targetServiceRevision;
  const tasks = target ? `, new revision running ${target.runningTaskCount ?? 0}/${target.requestedTaskCount ?? 0}` : '';
  const detail = `service deployment ${status}${stage}${tasks}`;
  const reason = deployment.rollback?.reason ?? deployment.statusReason ?? 'ECS gave no reason';
  const label = `ECS service deployment ${deployment.serviceDeploymentArn ?? '(no ARN)'}`;
  if (rollback) {
    if (status === 'ROLLBACK_SUCCESSFUL') return { status: 'completed', detail };
    if (status === 'ROLLBACK_REQUESTED' || status === 'ROLLBACK_IN_PROGRESS') return { status: 'in-progress', detail };
    throw new DeploymentFailedError(`${label}: ECS's rollback did not succeed (${status}: ${reason})`);
  }
  if (status === 'SUCCESSFUL') return { status: 'completed', detail };
  if (UNDER_WAY.has(status)) return { status: 'in-progress', detail };
  if (ROLLING_BACK.has(status)) throw new DeploymentFailedError(`${label} is being rolled back by ECS (${status}: ${reason})`);
  throw new DeploymentFailedError(`${label} did not complete (${status}: ${reason})`);
}

/**
 * Undoes a traffic-shifting deployment with ECS's own rollback when it can: a deployment still under way is stopped
 * with StopServiceDeployment ROLLBACK (traffic goes back to the revision that served it); one ECS is already rolling
 * back is followed. Returns the handle's deploymentId to follow, or null when the deployment ended otherwise
 * (SUCCESSFUL, STOPPED, its rollback failed): the caller then updates the service to the previous revision.
 */
export async function rollBackServiceDeployment(ecs: ECSClient, arn: string): Promise<string | null> {
  const deployment = await describeServiceDeployment(ecs, arn).catch((error: unknown) => {
    if (error instanceof DeploymentFailedError) return null;
    throw error;
  });
  const status = deployment?.status ?? '';
  if (ROLLING_BACK.has(status)) return rollbackOf(arn);
  if (!UNDER_WAY.has(status)) return null;
  await ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' }));
  return rollbackOf(arn);
}
