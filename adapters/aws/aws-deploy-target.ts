import type { ECSClient } from '@aws-sdk/client-ecs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { TargetConfig } from '../../config/schema';
import { EcsDeployTarget } from './ecs-deploy-target';
import { HookDeployTarget } from './hook-deploy-target';
import type { DeployTarget } from '../../core/ports/deploy-target';
import { InvalidInputError } from '../../core/errors';

/** The AWS adapter for the configured target (used by the deploy-target and preflight functions). */
export function awsDeployTarget(target: TargetConfig, clients: { ecs: ECSClient; lambda: LambdaClient }): DeployTarget {
  switch (target.kind) {
    case 'ecs':
      return new EcsDeployTarget(clients.ecs, target);
    case 'hook':
      return new HookDeployTarget(clients.lambda, target.functionArn);
    default:
      throw new InvalidInputError(`target.kind: "${target.kind}" runs only in the local rehearsal (deploy-runbook rehearse); on AWS use "ecs" or "hook"`);
  }
}
