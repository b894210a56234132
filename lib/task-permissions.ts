import { APS_IAM } from '../adapters/aws/aps-signer';
import { AURORA_RESTORER_IAM } from '../adapters/aws/aurora-restorer';
import { CLOUDWATCH_METRICS_IAM } from '../adapters/aws/cloudwatch-metrics';
import { LOGS_INSIGHTS_IAM } from '../adapters/aws/logs-insights';
import { CLOUDWATCH_ALARMS_IAM } from '../adapters/aws/cloudwatch-alarms';
import { ECS_DEPLOY_TARGET_IAM } from '../adapters/aws/ecs-deploy-target';
import { EC2_INSTANCES_IAM } from '../adapters/aws/ec2-instances';
import { ECS_MIGRATOR_IAM } from '../adapters/aws/ecs-migrator';
import { ECS_SERVICE_DEPLOYMENT_IAM } from '../adapters/aws/ecs-service-deployment';
import { HOOK_IAM } from '../adapters/aws/hook-client';
import { LAMBDA_ALIAS_IAM } from '../adapters/aws/lambda-alias-deploy-target';
import { RDS_BACKUPS_IAM } from '../adapters/aws/rds-backups';
import { RDS_LOOKUPS_IAM } from '../adapters/aws/rds-lookups';
import { DRILL_OF_TAG, RDS_DRILL_IAM } from '../adapters/aws/rds-drill';
import { RDS_RESTORER_IAM } from '../adapters/aws/rds-restorer';
import { drillCopyPrefix, failedCopyPrefix, RESTORE_PROGRESS_IAM } from '../adapters/aws/restore-progress';
import { drillDatabaseProblem } from '../config/restore-drill';
import { S3_ARTIFACT_STORE_IAM as S3 } from '../adapters/aws/s3-artifact-store';
import { SECRETS_MANAGER_IAM } from '../adapters/aws/secrets-manager-source';
import { SFN_EXECUTION_HISTORY_IAM } from '../adapters/aws/sfn-execution-history';
import { SNS_NOTIFIER_IAM } from '../adapters/aws/sns-notifier';
import { RUN_SHELL_SCRIPT, SSM_HOSTS_IAM } from '../adapters/aws/ssm-host-fleet';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { apsWorkspaceOf } from '../config/analysis';
import type { RunbookConfig } from '../config/schema';
import { snapshotIdPrefix } from '../core/tasks/database-snapshot/snapshot-id';
import { lockKey } from '../core/tasks/deployment-lock/deployment-lock';
import { ResourceArns } from './resource-arns';
import { configuredTopics, recipientsOf } from '../config/notification-topics';
import { ledgerKey } from '../core/tasks/ledger/release-ledger';

/**
 * One IAM statement a task function needs. Actions are always named in full; a resource pattern
 * containing `*` must say why in `wildcardReason` (it becomes the cdk-nag AwsSolutions-IAM5 acknowledgement).
 */
export interface TaskGrant {
  /** Fully named actions, e.g. `rds:CreateDBSnapshot`. */
  readonly actions: readonly string[];
  /** ARNs (or ARN patterns) the actions are allowed on. */
  readonly resources: readonly string[];
  /** IAM condition block, e.g. `{ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } }`. */
  readonly conditions?: Readonly<Record<string, Record<string, unknown>>>;
  /** Why a resource pattern with `*` is as narrow as it can be. @default - no resource has a `*` */
  readonly wildcardReason?: string;
}

/** Grants by function folder (`deploy-target`, …); every folder of the definition has an entry, possibly empty. */
export type TaskGrants = Readonly<Record<string, readonly TaskGrant[]>>;

const ECS_TASKS = { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } };

/**
 * The least-privilege permissions of every task function for one configuration: the single place that maps
 * "what a task does" to resources. The actions come from the adapters, where each is written beside its call.
 * Only kinds that run on AWS get grants (the construct rejects the others).
 */
export function taskGrants(scope: Construct, config: RunbookConfig, bucket: IBucket): TaskGrants {
  const arns = new ResourceArns(scope);
  return {
    // An alarm rollback is accepted only for a watched alarm that is in ALARM: ValidateInput reads it.
    'validate-input': validateGrants(arns, config),
    'deployment-lock': storeGrants(bucket, ['locks/*']),
    ledger: [...storeGrants(bucket, ['ledger/*', 'backups/*', 'reports/*']), ...watchGrants(bucket, config)],
    preflight: preflightGrants(arns, config),
    'database-snapshot': snapshotGrants(arns, config),
    'data-checks': databaseConnectionGrants(scope, config),
    'deploy-target': deployGrants(arns, config),
    migrations: migrationGrants(arns, config),
    'smoke-test': smokeTestGrants(arns, config),
    'evaluate-alarms': alarmGrants(arns, config),
    'restore-database': [...restoreGrants(arns, config), ...drillGrants(arns, config)],
    notify: notifyGrants(bucket, config),
  };
}

export function storeGrants(bucket: IBucket, prefixes: readonly string[]): TaskGrant[] {
  return [
    {
      actions: [S3.getObject, S3.putObject],
      resources: prefixes.map((prefix) => bucket.arnForObjects(prefix)),
      wildcardReason: `object keys under ${prefixes.join(', ')} are per target and per deployment (docs/architecture.md store layout)`,
    },
    // Without ListBucket, S3 answers 403 instead of 404 for a key that does not exist yet (first lock, first ledger).
    // A listing is limited to the function's own prefixes; that 404 check carries no prefix, hence IfExists.
    { actions: [S3.listBucket], resources: [bucket.bucketArn], conditions: { StringLikeIfExists: { 's3:prefix': [...prefixes] } } },
  ];
}

/**
 * Publishing to every configured topic and nothing else; reading the target's ledger (past durations) only when a
 * topic receives the start notification, which gives the expected duration.
 */
function notifyGrants(bucket: IBucket, config: RunbookConfig): TaskGrant[] {
  const topics = [...new Set(configuredTopics(config.notifications).map((topic) => topic.topicArn))];
  if (topics.length === 0) return [];
  const grants: TaskGrant[] = [{ actions: [SNS_NOTIFIER_IAM.publish], resources: topics }];
  if (recipientsOf(config.notifications, 'started').length > 0) {
    const ledger = ledgerKey(config.name);
    grants.push(
      { actions: [S3.getObject], resources: [bucket.arnForObjects(ledger)] },
      // Without ListBucket, S3 answers 403 instead of 404 before the first release is recorded.
      { actions: [S3.listBucket], resources: [bucket.bucketArn], conditions: { StringLikeIfExists: { 's3:prefix': [ledger] } } },
    );
  }
  return grants;
}

/**
 * The ledger reads its own execution's history to draw the path it took in the report: only this state
 * machine's executions. It names the state machine, which invokes the ledger: granted apart from
 * `taskGrants` (lib/deploy-runbook.ts attaches it in its own policy, so that no cycle forms).
 */
export function executionHistoryGrant(scope: Construct, stateMachineName: string): TaskGrant {
  return {
    actions: [SFN_EXECUTION_HISTORY_IAM.getExecutionHistory],
    resources: [new ResourceArns(scope).stateMachineExecutions(stateMachineName)],
    wildcardReason: "execution names are chosen when an execution starts: the ledger reads the history of its own execution, one of this state machine's",
  };
}

/**
 * CheckWatch and CheckAnalysis read the lock, never write it: a deployment holding the target ends the post-release
 * watch, and fails a release plan's analysis gate. Both need a deciding analysis metric (analysis.watch requires one).
 */
function watchGrants(bucket: IBucket, config: RunbookConfig): TaskGrant[] {
  if (!config.analysis.metrics.some((metric) => !metric.dryRun)) return [];
  const lock = bucket.arnForObjects(lockKey(config.name));
  return [{ actions: [S3.getObject], resources: [lock] }];
}

function hookInvoke(functionArn: string): TaskGrant {
  return { actions: [HOOK_IAM.invoke], resources: [functionArn] };
}

function alarmArns(arns: ResourceArns, config: RunbookConfig): string[] {
  return config.alarms.kind === 'cloudwatch' ? config.alarms.names.map((name) => arns.alarm(name)) : [];
}

function passRole(config: RunbookConfig, action: string): TaskGrant[] {
  if (config.target.kind !== 'ecs') return [];
  return [{ actions: [action], resources: config.target.passRoleArns, conditions: ECS_TASKS }];
}

function validateGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const alarms = alarmArns(arns, config);
  return alarms.length > 0 ? [describeAlarms(alarms)] : [];
}

function preflightGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const grants: TaskGrant[] = [];
  const { target, database } = config;
  if (target.kind === 'ecs') {
    grants.push(
      { actions: [ECS_DEPLOY_TARGET_IAM.describeServices], resources: [arns.ecsService(target.cluster, target.service)] },
      { actions: [ECS_DEPLOY_TARGET_IAM.describeTaskDefinition], resources: ['*'], wildcardReason: 'ecs:DescribeTaskDefinition has no resource-level permissions' },
    );
  }
  if (target.kind === 'hook') grants.push(hookInvoke(target.functionArn));
  // Preflight selects the fleet and runs the `current` command on it: the version a rollback reinstalls.
  grants.push(...hostGrants(arns, config, [SSM_HOSTS_IAM.sendCommand, SSM_HOSTS_IAM.getCommandInvocation]));
  if (target.kind === 'lambda-alias') grants.push(...lambdaAliasReads(arns, target));
  if (database?.kind === 'rds-instance') {
    grants.push({ actions: [RDS_LOOKUPS_IAM.describeDBInstances], resources: [arns.rds('db', database.instanceIdentifier)] });
  }
  if (database?.kind === 'aurora-cluster') {
    grants.push({ actions: [RDS_LOOKUPS_IAM.describeDBClusters], resources: [arns.rds('cluster', database.clusterIdentifier)] });
  }
  if (database?.kind === 'rds-instance' || database?.kind === 'aurora-cluster') {
    grants.push({
      actions: [RDS_BACKUPS_IAM.describeAccountAttributes],
      resources: ['*'],
      wildcardReason: 'rds:DescribeAccountAttributes (the manual snapshot quota) has no resource-level permissions',
    });
  }
  const alarms = alarmArns(arns, config);
  if (alarms.length > 0) grants.push(describeAlarms(alarms));
  // Preflight reads every smoke-test secret, so that an unreadable one stops the deploy before anything changes.
  grants.push(...smokeTestGrants(arns, config));
  // and measures every analysis metric (its baseline), so that a query that cannot run stops it too.
  grants.push(...analysisGrants(arns, config, { smokeSecrets: false }));
  // and connects to a postgres database (its logical backups run where the same subnets reach it).
  if (database?.kind === 'postgres') grants.push(...connectionSecretGrants(arns, config));
  return grants;
}

function snapshotGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const { database } = config;
  const reason = `snapshot ids end with the deployment id: ${snapshotIdPrefix(config.name)}<deployment id>`;
  if (database?.kind === 'rds-instance') {
    const instance = arns.rds('db', database.instanceIdentifier);
    const snapshots = arns.rds('snapshot', `${snapshotIdPrefix(config.name)}*`);
    return [
      { actions: [RDS_BACKUPS_IAM.createDBSnapshot, RDS_LOOKUPS_IAM.describeDBSnapshots], resources: [instance, snapshots], wildcardReason: reason },
      { actions: [RDS_BACKUPS_IAM.tagOnCreate], resources: [snapshots], wildcardReason: reason },
    ];
  }
  if (database?.kind === 'aurora-cluster') {
    const cluster = arns.rds('cluster', database.clusterIdentifier);
    const snapshots = arns.rds('cluster-snapshot', `${snapshotIdPrefix(config.name)}*`);
    return [
      { actions: [RDS_BACKUPS_IAM.createDBClusterSnapshot, RDS_LOOKUPS_IAM.describeDBClusterSnapshots], resources: [cluster, snapshots], wildcardReason: reason },
      { actions: [RDS_BACKUPS_IAM.tagOnCreate], resources: [snapshots], wildcardReason: reason },
    ];
  }
  // A logical backup is started only after connecting to the database as the task will (EcsPgBackups.describe).
  if (database?.kind === 'postgres') return connectionSecretGrants(arns, config);
  return [];
}

/**
 * An ssm-hosts target selects its instances by tag and runs `AWS-RunShellScript` on them: SendCommand only with that
 * document and only on instances carrying the target's tags (`ssm:resourceTag/…`), whatever instance id a call names.
 */
function hostGrants(arns: ResourceArns, config: RunbookConfig, ssmActions: readonly string[]): TaskGrant[] {
  const { target } = config;
  if (target.kind !== 'ssm-hosts') return [];
  const reads = ssmActions.filter((action) => action !== SSM_HOSTS_IAM.sendCommand);
  const tags = Object.fromEntries(Object.entries(target.tags).map(([key, value]) => [`ssm:resourceTag/${key}`, value]));
  return [
    { actions: [SSM_HOSTS_IAM.sendCommand], resources: [arns.awsSsmDocument(RUN_SHELL_SCRIPT)] },
    {
      actions: [SSM_HOSTS_IAM.sendCommand],
      resources: [arns.ec2Instances()],
      conditions: { StringEquals: tags },
      wildcardReason: `instance ids change as the fleet does: any instance, but only one tagged ${Object.entries(target.tags).map(([key, value]) => `${key}=${value}`).join(', ')} (the condition on ssm:resourceTag)`,
    },
    {
      actions: [...reads],
      resources: ['*'],
      wildcardReason: `${reads.join(' and ')} name a command id, not a resource: no resource-level permissions`,
    },
    { actions: [EC2_INSTANCES_IAM.describeInstances], resources: ['*'], wildcardReason: 'ec2:DescribeInstances (selecting the fleet by its tags) has no resource-level permissions' },
  ];
}

type LambdaAliasTarget = Extract<RunbookConfig['target'], { kind: 'lambda-alias' }>;

/** Reading the alias (the version it points to) and the function's versions: Preflight, and Deploy before it publishes. */
function lambdaAliasReads(arns: ResourceArns, target: LambdaAliasTarget): TaskGrant[] {
  return [
    // Lambda authorises alias calls on the function's ARN (and policies commonly name the alias): both, of this function only.
    { actions: [LAMBDA_ALIAS_IAM.getAlias], resources: [arns.lambdaFunction(target.functionName), arns.lambdaFunction(target.functionName, target.alias)] },
    {
      actions: [LAMBDA_ALIAS_IAM.getFunctionConfiguration],
      resources: [arns.lambdaFunction(target.functionName), arns.lambdaFunction(target.functionName, '*')],
      wildcardReason: `version numbers of ${target.functionName} are assigned when a version is published`,
    },
  ];
}

/** Publishing a version of the one function and moving its one alias; reading the code from where the configuration says. */
function lambdaAliasGrants(arns: ResourceArns, target: LambdaAliasTarget): TaskGrant[] {
  const fn = arns.lambdaFunction(target.functionName);
  return [
    ...lambdaAliasReads(arns, target),
    { actions: [LAMBDA_ALIAS_IAM.updateFunctionCode, LAMBDA_ALIAS_IAM.publishVersion], resources: [fn] },
    { actions: [LAMBDA_ALIAS_IAM.updateAlias], resources: [fn, arns.lambdaFunction(target.functionName, target.alias)] },
    ...(target.codeBucket !== undefined
      ? [{ actions: [LAMBDA_ALIAS_IAM.readCode], resources: [arns.s3Objects(target.codeBucket)], wildcardReason: `packages are any object of ${target.codeBucket}, one per release` }]
      : []),
    ...(target.imageRepository !== undefined ? [{ actions: [LAMBDA_ALIAS_IAM.pullImage, LAMBDA_ALIAS_IAM.pullImageLayers], resources: [arns.ecrRepository(target.imageRepository)] }] : []),
  ];
}

function deployGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const { target } = config;
  if (target.kind === 'hook') return [hookInvoke(target.functionArn)];
  if (target.kind === 'ssm-hosts') return hostGrants(arns, config, Object.values(SSM_HOSTS_IAM));
  if (target.kind === 'lambda-alias') return lambdaAliasGrants(arns, target);
  if (target.kind !== 'ecs') return [];
  return [
    { actions: [ECS_DEPLOY_TARGET_IAM.describeServices, ECS_DEPLOY_TARGET_IAM.updateService], resources: [arns.ecsService(target.cluster, target.service)] },
    {
      actions: [ECS_DEPLOY_TARGET_IAM.describeTaskDefinition, ECS_DEPLOY_TARGET_IAM.registerTaskDefinition],
      resources: ['*'],
      wildcardReason: 'ecs:DescribeTaskDefinition and ecs:RegisterTaskDefinition have no resource-level permissions',
    },
    {
      actions: [ECS_DEPLOY_TARGET_IAM.tagOnRegister],
      resources: [arns.ecsTaskDefinitionRevisions(target.family)],
      conditions: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } },
      wildcardReason: `a new revision of the ${target.family} family gets the next revision number`,
    },
    ...passRole(config, ECS_DEPLOY_TARGET_IAM.passRoles),
    // Blue/green, linear and canary services: follow the service deployment and roll it back with ECS's rollback.
    {
      actions: [ECS_SERVICE_DEPLOYMENT_IAM.describeServiceDeployments, ECS_SERVICE_DEPLOYMENT_IAM.stopServiceDeployment],
      resources: [arns.ecsServiceDeployments(target.cluster, target.service)],
      wildcardReason: `service deployment ids of ${target.service} are assigned when ECS starts one`,
    },
  ];
}

function migrationGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const { target, migrations } = config;
  if (migrations?.kind === 'hook') return [hookInvoke(migrations.functionArn)];
  if (migrations?.kind !== 'ecs-task' || target.kind !== 'ecs') return [];
  const tasks = arns.ecsTasks(target.cluster);
  const taskReason = `task ids in ${target.cluster} are assigned when the migration task starts`;
  return [
    {
      actions: [ECS_MIGRATOR_IAM.runTask],
      resources: [arns.ecsTaskDefinitionRevisions(target.family)],
      conditions: { ArnEquals: { 'ecs:cluster': arns.ecsCluster(target.cluster) } },
      wildcardReason: `migrations run the revision just deployed, any revision of the ${target.family} family`,
    },
    { actions: [ECS_MIGRATOR_IAM.describeTasks], resources: [tasks], wildcardReason: taskReason },
    {
      actions: [ECS_MIGRATOR_IAM.tagOnRun],
      resources: [tasks],
      conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
      wildcardReason: taskReason,
    },
    { actions: [ECS_DEPLOY_TARGET_IAM.describeServices], resources: [arns.ecsService(target.cluster, target.service)] },
    ...passRole(config, ECS_MIGRATOR_IAM.passRoles),
  ];
}

function smokeTestGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const secrets = Object.values(config.smokeTests.secrets).flatMap((ref) => ('secretsManager' in ref ? [arns.secret(ref.secretsManager)] : []));
  return secrets.length > 0 ? [{ actions: [SECRETS_MANAGER_IAM.getSecretValue], resources: [...new Set(secrets)] }] : [];
}

/**
 * Reading `database.connection`'s secret (GetSecretValue on that secret only): for whatever connects to the
 * database on AWS, the task functions that run SQL, the logical backup runner, and for a `postgres` database
 * Preflight and the snapshot and restore functions, which connect before they start the backup task. None without
 * a connection.
 */
export function databaseConnectionGrants(scope: Construct, config: Pick<RunbookConfig, 'database'>): TaskGrant[] {
  return connectionSecretGrants(new ResourceArns(scope), config);
}

function connectionSecretGrants(arns: ResourceArns, config: Pick<RunbookConfig, 'database'>): TaskGrant[] {
  const connection = config.database?.connection;
  if (!connection) return [];
  return [{ actions: [SECRETS_MANAGER_IAM.getSecretValue], resources: [arns.secret(connection.secretsManager)] }];
}

function alarmGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const alarms = alarmArns(arns, config);
  return [...(alarms.length > 0 ? [describeAlarms(alarms)] : []), ...analysisGrants(arns, config, { smokeSecrets: true })];
}

/** What measuring the analysis metrics needs (Preflight's baselines and the bake's checkpoints): only the providers configured. */
function analysisGrants(arns: ResourceArns, config: RunbookConfig, options: { readonly smokeSecrets: boolean }): TaskGrant[] {
  const providers = config.analysis.metrics.map((metric) => metric.provider);
  const grants: TaskGrant[] = [];
  if (providers.some((provider) => provider.kind === 'cloudwatch')) {
    grants.push({ actions: [CLOUDWATCH_METRICS_IAM.getMetricData], resources: ['*'], wildcardReason: 'cloudwatch:GetMetricData has no resource-level permissions' });
  }
  const logGroups = [...new Set(providers.flatMap((provider) => (provider.kind === 'logs' ? provider.logGroupNames : [])))];
  if (logGroups.length > 0) {
    grants.push(
      {
        actions: [LOGS_INSIGHTS_IAM.startQuery],
        resources: logGroups.flatMap((name) => [arns.logGroup(name), `${arns.logGroup(name)}:*`]),
        wildcardReason: 'logs:StartQuery is authorized on the log group, which AWS has been seen to name with its streams (log-group:NAME:log-stream:); :* covers that form of the named group only',
      },
      {
        actions: [LOGS_INSIGHTS_IAM.getQueryResults, LOGS_INSIGHTS_IAM.stopQuery],
        resources: ['*'],
        wildcardReason: 'logs:GetQueryResults and logs:StopQuery name a query id, not a resource: they have no resource-level permissions',
      },
    );
  }
  const workspaces = [
    ...new Set(
      providers.flatMap((provider) => {
        const workspace = provider.kind === 'prometheus' && provider.sigv4 ? apsWorkspaceOf(provider.url) : null;
        return workspace ? [arns.apsWorkspace(workspace.region, workspace.workspaceId)] : [];
      }),
    ),
  ];
  if (workspaces.length > 0) grants.push({ actions: [APS_IAM.query], resources: workspaces });
  // An http metric re-runs smoke checks, with their secrets (Preflight reads those anyway).
  const smokeSecrets = options.smokeSecrets && providers.some((provider) => provider.kind === 'http') ? Object.values(config.smokeTests.secrets) : [];
  const secrets = [...Object.values(config.analysis.secrets), ...smokeSecrets].flatMap((ref) => ('secretsManager' in ref ? [arns.secret(ref.secretsManager)] : []));
  if (secrets.length > 0) grants.push({ actions: [SECRETS_MANAGER_IAM.getSecretValue], resources: [...new Set(secrets)] });
  return grants;
}

/** DescribeAlarms on the watched alarms; a name holding `*` is written `${*}`, a literal, which cdk-nag still flags. */
function describeAlarms(alarms: string[]): TaskGrant {
  const literal = alarms.some((arn) => arn.includes('${*}'));
  return {
    actions: [CLOUDWATCH_ALARMS_IAM.describeAlarms],
    resources: alarms,
    ...(literal ? { wildcardReason: 'an alarm name holds a literal *, written as the IAM variable ${*}: it matches that character only' } : {}),
  };
}

const RESTORE_GROUPS_REASON =
  'the restored database reuses the subnet, parameter and option groups the snapshot records, whose names are only known at restore time';

/** Restoring an encrypted snapshot creates a grant on its key. */
function kmsGrants(kmsKeyArn: string | undefined, restorer: { readonly grantKey: string; readonly describeKey: string }): TaskGrant[] {
  if (!kmsKeyArn) return [];
  return [
    // Only RDS may hold the grant it creates for the restore: the function cannot grant the key to anyone else.
    { actions: [restorer.grantKey], resources: [kmsKeyArn], conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } } },
    { actions: [restorer.describeKey], resources: [kmsKeyArn] },
  ];
}

function restoreGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const { database } = config;
  // With restorePolicy 'never' the AdvanceRestore state is unreachable: the function gets nothing.
  if (!database || database.restorePolicy === 'never') return [];
  const snapshotReason = `snapshot ids end with the deployment id: ${snapshotIdPrefix(config.name)}<deployment id>`;
  if (database.kind === 'rds-instance') {
    const id = database.instanceIdentifier;
    const instance = arns.rds('db', id);
    const failed = arns.rds('db', `${failedCopyPrefix(id)}*`);
    const snapshots = arns.rds('snapshot', `${snapshotIdPrefix(config.name)}*`);
    return [
      {
        actions: [RDS_LOOKUPS_IAM.describeDBInstances, RESTORE_PROGRESS_IAM.modifyDBInstance],
        resources: [instance, failed],
        wildcardReason: `the replaced database is kept as ${id}-failed-<timestamp>`,
      },
      {
        actions: [RDS_RESTORER_IAM.restoreDBInstanceFromDBSnapshot],
        resources: [instance, snapshots, arns.rds('subgrp', '*'), arns.rds('pg', '*'), arns.rds('og', '*')],
        wildcardReason: `${snapshotReason}; ${RESTORE_GROUPS_REASON}`,
      },
      { actions: [RDS_RESTORER_IAM.tagOnRestore], resources: [instance] },
      { actions: [RDS_LOOKUPS_IAM.describeDBSnapshots], resources: [snapshots], wildcardReason: snapshotReason },
      ...kmsGrants(database.kmsKeyArn, RDS_RESTORER_IAM),
    ];
  }
  if (database.kind === 'aurora-cluster') {
    const id = database.clusterIdentifier;
    const cluster = arns.rds('cluster', id);
    const failed = arns.rds('cluster', `${failedCopyPrefix(id)}*`);
    const instances = arns.rds('db', `${id}-*`);
    const snapshots = arns.rds('cluster-snapshot', `${snapshotIdPrefix(config.name)}*`);
    return [
      {
        actions: [RDS_LOOKUPS_IAM.describeDBClusters, AURORA_RESTORER_IAM.modifyDBCluster],
        resources: [cluster, failed],
        wildcardReason: `the replaced cluster is kept as ${id}-failed-<timestamp>`,
      },
      {
        actions: [AURORA_RESTORER_IAM.restoreDBClusterFromSnapshot],
        resources: [cluster, snapshots, arns.rds('subgrp', '*'), arns.rds('cluster-pg', '*'), arns.rds('og', '*')],
        wildcardReason: `${snapshotReason}; ${RESTORE_GROUPS_REASON}`,
      },
      {
        actions: [RDS_LOOKUPS_IAM.describeDBInstances, RESTORE_PROGRESS_IAM.modifyDBInstance],
        resources: [instances],
        wildcardReason: `the cluster's writer (named ${id}-<n>) is kept as <writer>-failed-<timestamp>`,
      },
      {
        actions: [AURORA_RESTORER_IAM.createDBInstance],
        resources: [instances, cluster, arns.rds('subgrp', '*'), arns.rds('pg', '*'), arns.rds('og', '*')],
        wildcardReason: `the restored cluster's writer is named ${id}-<n>; ${RESTORE_GROUPS_REASON}`,
      },
      {
        actions: [AURORA_RESTORER_IAM.tagOnRestore],
        resources: [cluster, instances],
        wildcardReason: `the restored cluster's instances are named ${id}-<n>`,
      },
      { actions: [RDS_LOOKUPS_IAM.describeDBClusterSnapshots], resources: [snapshots], wildcardReason: snapshotReason },
      ...kmsGrants(database.kmsKeyArn, AURORA_RESTORER_IAM),
    ];
  }
  // The restore task is started only after connecting to the database it replaces (EcsPgRestorer names it).
  if (database.kind === 'postgres') return connectionSecretGrants(arns, config);
  return [];
}

/**
 * The restore drill of an RDS instance or Aurora cluster (AdvanceDrill, DiscardDrillCopy): restoring, tagging and
 * deleting only identifiers of the drill's pattern `<id>-drill-<ts>`, deleting only a copy tagged as this runbook's
 * drill copy. Granted whenever a drill can run (database.connection set), since `{action: drill}` may start one
 * without backup.testRestore. Reads of the live database and the snapshot, and the key grant, as the rollback's.
 */
function drillGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const { database } = config;
  if (!database || database.kind === 'postgres' || drillDatabaseProblem(database) !== null) return [];
  const snapshotReason = `snapshot ids end with the deployment id: ${snapshotIdPrefix(config.name)}<deployment id>`;
  const copyReason = (id: string): string => `a drill's scratch copy is named ${drillCopyPrefix(id)}<execution start, yyyymmddhhmmss>`;
  if (database.kind === 'rds-instance') {
    const id = database.instanceIdentifier;
    const copies = arns.rds('db', `${drillCopyPrefix(id)}*`);
    const snapshots = arns.rds('snapshot', `${snapshotIdPrefix(config.name)}*`);
    return [
      { actions: [RDS_LOOKUPS_IAM.describeDBInstances], resources: [arns.rds('db', id), copies], wildcardReason: copyReason(id) },
      { actions: [RDS_LOOKUPS_IAM.describeDBSnapshots], resources: [snapshots], wildcardReason: snapshotReason },
      {
        actions: [RDS_DRILL_IAM.restoreDBInstanceFromDBSnapshot],
        resources: [copies, snapshots, arns.rds('subgrp', '*'), arns.rds('pg', '*'), arns.rds('og', '*')],
        wildcardReason: `${copyReason(id)}; ${snapshotReason}; ${RESTORE_GROUPS_REASON}`,
      },
      { actions: [RDS_DRILL_IAM.tagOnCreate], resources: [copies], wildcardReason: copyReason(id) },
      {
        actions: [RDS_DRILL_IAM.deleteDBInstance],
        resources: [copies],
        conditions: { StringEquals: { [`rds:db-tag/${DRILL_OF_TAG}`]: config.name } },
        wildcardReason: `${copyReason(id)}, and only one tagged ${DRILL_OF_TAG}=${config.name} (the condition)`,
      },
      ...kmsGrants(database.kmsKeyArn, RDS_DRILL_IAM),
    ];
  }
  const id = database.clusterIdentifier;
  const clusters = arns.rds('cluster', `${drillCopyPrefix(id)}*`);
  const writers = arns.rds('db', `${drillCopyPrefix(id)}*`);
  const snapshots = arns.rds('cluster-snapshot', `${snapshotIdPrefix(config.name)}*`);
  const writerReason = `the live cluster's writer is named ${id}-<n> (as the rollback's grants assume); ${copyReason(id)}, its writer too`;
  return [
    { actions: [RDS_LOOKUPS_IAM.describeDBClusters], resources: [arns.rds('cluster', id), clusters], wildcardReason: copyReason(id) },
    { actions: [RDS_LOOKUPS_IAM.describeDBInstances], resources: [arns.rds('db', `${id}-*`), writers], wildcardReason: writerReason },
    { actions: [RDS_LOOKUPS_IAM.describeDBClusterSnapshots], resources: [snapshots], wildcardReason: snapshotReason },
    {
      actions: [RDS_DRILL_IAM.restoreDBClusterFromSnapshot],
      resources: [clusters, snapshots, arns.rds('subgrp', '*'), arns.rds('cluster-pg', '*'), arns.rds('og', '*')],
      wildcardReason: `${copyReason(id)}; ${snapshotReason}; ${RESTORE_GROUPS_REASON}`,
    },
    {
      actions: [RDS_DRILL_IAM.createDBInstance],
      resources: [writers, clusters, arns.rds('subgrp', '*'), arns.rds('pg', '*'), arns.rds('og', '*')],
      wildcardReason: `${copyReason(id)}, its writer too; ${RESTORE_GROUPS_REASON}`,
    },
    { actions: [RDS_DRILL_IAM.tagOnCreate], resources: [clusters, writers], wildcardReason: `${copyReason(id)}, its writer too` },
    {
      actions: [RDS_DRILL_IAM.deleteDBInstance],
      resources: [writers],
      conditions: { StringEquals: { [`rds:db-tag/${DRILL_OF_TAG}`]: config.name } },
      wildcardReason: `${copyReason(id)}, its writer too, and only one tagged ${DRILL_OF_TAG}=${config.name} (the condition)`,
    },
    {
      actions: [RDS_DRILL_IAM.deleteDBCluster],
      resources: [clusters],
      conditions: { StringEquals: { [`rds:cluster-tag/${DRILL_OF_TAG}`]: config.name } },
      wildcardReason: `${copyReason(id)}, and only one tagged ${DRILL_OF_TAG}=${config.name} (the condition)`,
    },
    ...kmsGrants(database.kmsKeyArn, RDS_DRILL_IAM),
  ];
}
