import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { RDSClient } from '@aws-sdk/client-rds';
import type { RunbookConfig } from '../../config/schema';
import { CloudWatchAlarmSource } from './cloudwatch-alarms';
import { awsDatabaseAdapters } from './rds-database-adapters';
import { awsDeployTarget } from './aws-deploy-target';
import type { AlarmSource } from '../../core/ports/alarm-source';
import type { DatabaseBackups } from '../../core/ports/database-backups';
import { InvalidInputError } from '../../core/errors';
import type { PreflightDeps } from '../../core/tasks/preflight/preflight';

export interface PreflightClients {
  readonly ecs: ECSClient;
  readonly lambda: LambdaClient;
  readonly rds: RDSClient;
  readonly cloudwatch: CloudWatchClient;
}

/** The AWS adapters for the configured target, database and alarms. */
export function awsPreflightDeps(config: Pick<RunbookConfig, 'target' | 'database' | 'alarms'>, clients: PreflightClients): Omit<PreflightDeps, 'clock'> {
  return { target: awsDeployTarget(config.target, clients), backups: awsBackups(config, clients.rds), alarms: awsAlarms(config, clients.cloudwatch) };
}

function awsBackups({ database }: Pick<RunbookConfig, 'database'>, rds: RDSClient): DatabaseBackups | null {
  if (database === null) return null;
  const adapters = awsDatabaseAdapters(database, rds);
  if (!adapters) throw new InvalidInputError(`database.kind: "${database.kind}" runs only in the local rehearsal (deploy-runbook rehearse); on AWS use "rds-instance" or "aurora-cluster"`);
  return adapters.backups;
}

function awsAlarms({ alarms }: Pick<RunbookConfig, 'alarms'>, cloudwatch: CloudWatchClient): AlarmSource {
  if (alarms.kind === 'cloudwatch') return new CloudWatchAlarmSource(cloudwatch);
  throw new InvalidInputError(`alarms.kind: "${alarms.kind}" runs only in the local rehearsal (deploy-runbook rehearse); on AWS use "cloudwatch"`);
}
