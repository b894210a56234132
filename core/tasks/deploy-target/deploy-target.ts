import * as z from 'zod/mini';
import { bakeChecks } from '../../../config/budgets';
import type { RunbookConfig } from '../../../config/schema';
import type { Clock } from '../../ports/clock';
import type { DeployTarget } from '../../ports/deploy-target';
import { DeploymentFailedError, InvalidInputError } from '../../errors';
import { DeployedVersion, DeployHandle, DeployStatus, Deployment, judged, TrafficState } from '../../model';

/** The target's adapter is chosen from this. */
const config = judged<Pick<RunbookConfig, 'target'>>();

/** The Parameters of Deploy, CheckDeployment / CheckRollback and RollbackApp. */
export const DeployTargetEvent = z.discriminatedUnion('operation', [
  z.object({ operation: z.literal('deploy'), config, deployment: Deployment }),
  z.object({ operation: z.literal('status'), config, handle: DeployHandle }),
  z.object({
    operation: z.literal('rollback'),
    config,
    rollbackTo: DeployedVersion,
    /** The deploy being undone; null when Deploy failed before it started one. */
    handle: z.nullable(DeployHandle),
  }),
  z.object({
    operation: z.literal('shift'),
    /** The bake sizes the steps: each step's minutes in bake.pollSeconds evaluations, the last one the whole bake. */
    config: judged<Pick<RunbookConfig, 'target' | 'bake'>>(),
    handle: DeployHandle,
    rollbackTo: DeployedVersion,
    traffic: TrafficState,
  }),
]);
export type DeployTargetEvent = z.output<typeof DeployTargetEvent>;

/**
 * Starts the deployment, reports its progress, or redeploys the version that ran before. A failed rollout
 * surfaces as DeploymentFailedError from the target, which the state machine routes to the rollback.
 */
export async function runDeployTarget(event: DeployTargetEvent, deps: { target: DeployTarget; clock: Clock }): Promise<DeployHandle | DeployStatus | TrafficState> {
  switch (event.operation) {
    case 'deploy': {
      const { version, image, id, action } = event.deployment;
      if (version === null) throw new InvalidInputError(`deployment.version: Deploy needs a version (got null for action "${action}")`);
      return deps.target.deploy({ version, image, deploymentId: id });
    }
    case 'status': {
      const status = await deps.target.status(event.handle);
      const since = elapsed(event.handle.startedAt, deps.clock.now());
      return since === null ? status : { ...status, detail: `${status.detail} (${since} since the rollout started)` };
    }
    case 'rollback':
      return deps.target.rollback(event.rollbackTo, event.handle);
    case 'shift':
      return shiftTraffic(event, deps);
  }
}

/** Gives the release the next traffic step: the weight is set, and the step's bake length is what the step's bake counts. */
async function shiftTraffic(event: Extract<DeployTargetEvent, { operation: 'shift' }>, deps: { target: DeployTarget; clock: Clock }): Promise<TrafficState> {
  const { traffic, handle, rollbackTo } = event;
  const next = traffic.steps.at(traffic.given);
  if (!next) throw new DeploymentFailedError(`traffic: all ${traffic.steps.length} step(s) were given already: there is no step ${traffic.given + 1}`);
  if (!deps.target.shift) throw new DeploymentFailedError(`target.kind: "${event.config.target.kind}" cannot shift traffic in steps`);
  const at = deps.clock.now().toISOString();
  const detail = await deps.target.shift(handle, rollbackTo, next.percent);
  const { pollSeconds } = event.config.bake;
  return {
    ...traffic,
    given: traffic.given + 1,
    percent: next.percent,
    bakeChecks: next.seconds === null ? bakeChecks(event.config.bake) : Math.max(1, Math.ceil(next.seconds / pollSeconds)),
    history: [...traffic.history, { percent: next.percent, at, detail }],
  };
}
/** `4m 05s` between an ISO start and now; null when the start is unreadable or in the future. */
export function elapsed(startedAt: string, now: Date): string | null {
  const ms = now.getTime() - Date.parse(startedAt);
  if (!Number.isFinite(ms) || ms < 0) return null;
  const total = Math.floor(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (hours > 0) return `${hours}h ${pad(minutes)}m`;
  if (minutes > 0) return `${minutes}m ${pad(seconds)}s`;
  return `${seconds}s`;
}
