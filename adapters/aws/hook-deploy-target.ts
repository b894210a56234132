import type { LambdaClient } from '@aws-sdk/client-lambda';
import * as z from 'zod/mini';
import type { DeployRequest, DeployTarget } from '../../core/ports/deploy-target';
import { type Clock, systemClock } from '../../core/ports/clock';
import { DeploymentFailedError } from '../../core/errors';
import type { DeployedVersion, DeployHandle, DeployStatus, PreflightCheck } from '../../core/model';
import { invokeHook } from './hook-client';

const CurrentResponse = z.object({
  version: z.nullable(z.string()),
  image: z.nullable(z.string()),
  ref: z.string().check(z.minLength(1)),
});

const StartedResponse = z.object({
  ref: z.string().check(z.minLength(1)),
  deploymentId: z.nullish(z.string().check(z.minLength(1))),
});

const StatusResponse = z.object({
  status: z.enum(['in-progress', 'completed', 'failed']),
  detail: z.string(),
});

/**
 * A deployment target driven by the customer's own Lambda (`target.kind: "hook"`), invoked synchronously
 * with a JSON payload whose `action` says what to do. The hook answers with JSON; an answer that does not
 * match, or a function error, fails the step with a DeploymentFailedError carrying the hook's message.
 *
 * | action | request (besides `action`) | response |
 * |---|---|---|
 * | `current` | — | `{version: string \| null, image: string \| null, ref: string}`: what runs now, precise enough to redeploy it |
 * | `deploy` | `{version, image, deploymentId}` (`deploymentId` is the runbook's, the same on a retried call) | `{ref, deploymentId?}`: what is rolling out and the hook's own id for it |
 * | `status` | `{ref, deploymentId}` as returned by `deploy` or `rollback` | `{status: "in-progress" \| "completed" \| "failed", detail}` |
 * | `rollback` | `{to: {version, image, ref}, from: the deploy's {ref, deploymentId, …} or null}` | `{ref, deploymentId?}` |
 *
 * `deploy` and `rollback` should return as soon as the rollout has started: the state machine polls `status`.
 */
export class HookDeployTarget implements DeployTarget {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionArn: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async current(): Promise<DeployedVersion> {
    return this.invoke('current', {}, CurrentResponse);
  }

  /** A hook target has no readiness probe in the protocol: the hook's `current` answer is the check. */
  async preflight(): Promise<PreflightCheck[]> {
    return [{ name: 'hook target', ok: true, detail: `${this.functionArn} reports the running version; readiness is the hook's own concern` }];
  }

  async deploy(request: DeployRequest): Promise<DeployHandle> {
    const started = await this.invoke('deploy', { version: request.version, image: request.image, deploymentId: request.deploymentId }, StartedResponse);
    return this.handle(started, request.version, request.image);
  }

  async status(handle: DeployHandle): Promise<DeployStatus> {
    const answer = await this.invoke('status', { ref: handle.ref, deploymentId: handle.deploymentId }, StatusResponse);
    if (answer.status === 'failed') {
      throw new DeploymentFailedError(`hook ${this.functionArn} reports the rollout of ${handle.ref} failed: ${answer.detail}`);
    }
    return { status: answer.status, detail: answer.detail, checkedAt: this.clock.now().toISOString() };
  }

  async rollback(to: DeployedVersion, from: DeployHandle | null): Promise<DeployHandle> {
    const started = await this.invoke('rollback', { to, from }, StartedResponse);
    return this.handle(started, to.version, to.image);
  }

  private handle(started: z.output<typeof StartedResponse>, version: string | null, image: string | null): DeployHandle {
    return { kind: 'hook', ref: started.ref, version, image, deploymentId: started.deploymentId ?? null, startedAt: this.clock.now().toISOString() };
  }

  private invoke<S extends z.ZodMiniType>(action: string, payload: Record<string, unknown>, schema: S): Promise<z.output<S>> {
    return invokeHook(this.lambda, this.functionArn, action, payload, schema, DeploymentFailedError);
  }
}
