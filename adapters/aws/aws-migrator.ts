import type { ECSClient } from '@aws-sdk/client-ecs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { RunbookConfig } from '../../config/schema';
import { EcsMigrator } from './ecs-migrator';
import { HookMigrator } from './hook-migrator';
import type { Migrator } from '../../core/ports/migrator';
import { InvalidInputError } from '../../core/errors';

/** The AWS migrator for the configured migrations; `deploymentId` is the runbook's, their idempotency key. */
export function awsMigrator(config: Pick<RunbookConfig, 'target' | 'migrations'>, deploymentId: string, clients: { ecs: ECSClient; lambda: LambdaClient }): Migrator {
  const { migrations, target } = config;
  if (migrations === null) throw new InvalidInputError('config.migrations: the migrations function ran but no migrations are configured (got null)');
  switch (migrations.kind) {
    case 'ecs-task':
      if (target.kind !== 'ecs') throw new InvalidInputError(`migrations.kind: "ecs-task" migrations need an "ecs" target (got "${target.kind}")`);
      return new EcsMigrator(clients.ecs, target, migrations, deploymentId);
    case 'hook':
      return new HookMigrator(clients.lambda, migrations.functionArn, deploymentId);
    default:
      throw new InvalidInputError(`migrations.kind: "${migrations.kind}" runs only in the local rehearsal (deploy-runbook rehearse); on AWS use "ecs-task" or "hook"`);
  }
}
