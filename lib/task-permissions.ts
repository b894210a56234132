import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { RunbookConfig } from '../config/schema';
import { ResourceArns, snapshotPrefix } from './resource-arns';

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
 * The least-privilege permissions of every task function for one configuration: the single place that
 * maps "what a task does" to IAM. Only kinds that run on AWS get grants (the construct rejects the others).
 */
export function taskGrants(scope: Construct, config: RunbookConfig, bucket: IBucket): TaskGrants {
  const arns = new ResourceArns(scope);
  return {
    'validate-input': [],
    'deployment-lock': storeGrants(bucket, ['locks/*']),
    ledger: storeGrants(bucket, ['ledger/*', 'backups/*', 'reports/*']),
    preflight: preflightGrants(arns, config),
    'database-snapshot': snapshotGrants(arns, config),
    'deploy-target': deployGrants(arns, config),
    migrations: migrationGrants(arns, config),
    'smoke-test': smokeTestGrants(arns, config),
    'evaluate-alarms': alarmGrants(arns, config),
    'restore-database': restoreGrants(arns, config),
    notify: config.notifications.topicArn ? [{ actions: ['sns:Publish'], resources: [config.notifications.topicArn] }] : [],
  };
}

function storeGrants(bucket: IBucket, prefixes: readonly string[]): TaskGrant[] {
  return [
    {
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: prefixes.map((prefix) => bucket.arnForObjects(prefix)),
      wildcardReason: `object keys under ${prefixes.join(', ')} are per target and per deployment (docs/architecture.md store layout)`,
    },
    // Without ListBucket, S3 answers 403 instead of 404 for a key that does not exist yet (first lock, first ledger).
    { actions: ['s3:ListBucket'], resources: [bucket.bucketArn] },
  ];
}

function hookInvoke(functionArn: string): TaskGrant {
  return { actions: ['lambda:InvokeFunction'], resources: [functionArn] };
}

function alarmArns(arns: ResourceArns, config: RunbookConfig): string[] {
  return config.alarms.kind === 'cloudwatch' ? config.alarms.names.map((name) => arns.alarm(name)) : [];
}

function passRole(config: RunbookConfig): TaskGrant[] {
  if (config.target.kind !== 'ecs') return [];
  return [{ actions: ['iam:PassRole'], resources: config.target.passRoleArns, conditions: ECS_TASKS }];
}

function preflightGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const grants: TaskGrant[] = [];
  const { target, database } = config;
  if (target.kind === 'ecs') {
    grants.push(
      { actions: ['ecs:DescribeServices'], resources: [arns.ecsService(target.cluster, target.service)] },
      { actions: ['ecs:DescribeTaskDefinition'], resources: ['*'], wildcardReason: 'ecs:DescribeTaskDefinition has no resource-level permissions' },
    );
  }
  if (target.kind === 'hook') grants.push(hookInvoke(target.functionArn));
  if (database?.kind === 'rds-instance') {
    grants.push({ actions: ['rds:DescribeDBInstances'], resources: [arns.rds('db', database.instanceIdentifier)] });
  }
  if (database?.kind === 'aurora-cluster') {
    grants.push({ actions: ['rds:DescribeDBClusters'], resources: [arns.rds('cluster', database.clusterIdentifier)] });
  }
  if (database?.kind === 'rds-instance' || database?.kind === 'aurora-cluster') {
    grants.push({
      actions: ['rds:DescribeAccountAttributes'],
      resources: ['*'],
      wildcardReason: 'rds:DescribeAccountAttributes (the manual snapshot quota) has no resource-level permissions',
    });
  }
  const alarms = alarmArns(arns, config);
  if (alarms.length > 0) grants.push({ actions: ['cloudwatch:DescribeAlarms'], resources: alarms });
  return grants;
}

function snapshotGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const { database } = config;
  const reason = `snapshot ids end with the deployment id: ${snapshotPrefix(config.name)}<deployment id>`;
  if (database?.kind === 'rds-instance') {
    const instance = arns.rds('db', database.instanceIdentifier);
    const snapshots = arns.rds('snapshot', `${snapshotPrefix(config.name)}*`);
    return [
      { actions: ['rds:CreateDBSnapshot', 'rds:DescribeDBSnapshots'], resources: [instance, snapshots], wildcardReason: reason },
      { actions: ['rds:AddTagsToResource'], resources: [snapshots], wildcardReason: reason },
      { actions: ['rds:DescribeDBInstances'], resources: [instance] },
    ];
  }
  if (database?.kind === 'aurora-cluster') {
    const cluster = arns.rds('cluster', database.clusterIdentifier);
    const snapshots = arns.rds('cluster-snapshot', `${snapshotPrefix(config.name)}*`);
    return [
      { actions: ['rds:CreateDBClusterSnapshot', 'rds:DescribeDBClusterSnapshots'], resources: [cluster, snapshots], wildcardReason: reason },
      { actions: ['rds:AddTagsToResource'], resources: [snapshots], wildcardReason: reason },
      { actions: ['rds:DescribeDBClusters'], resources: [cluster] },
    ];
  }
  return [];
}

function deployGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const { target } = config;
  if (target.kind === 'hook') return [hookInvoke(target.functionArn)];
  if (target.kind !== 'ecs') return [];
  return [
    { actions: ['ecs:DescribeServices', 'ecs:UpdateService'], resources: [arns.ecsService(target.cluster, target.service)] },
    {
      actions: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'],
      resources: ['*'],
      wildcardReason: 'ecs:DescribeTaskDefinition and ecs:RegisterTaskDefinition have no resource-level permissions',
    },
    {
      actions: ['ecs:TagResource'],
      resources: [arns.ecsTaskDefinitionRevisions(target.family)],
      conditions: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } },
      wildcardReason: `a new revision of the ${target.family} family gets the next revision number`,
    },
    ...passRole(config),
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
      actions: ['ecs:RunTask'],
      resources: [arns.ecsTaskDefinitionRevisions(target.family)],
      conditions: { ArnEquals: { 'ecs:cluster': arns.ecsCluster(target.cluster) } },
      wildcardReason: `migrations run the revision just deployed, any revision of the ${target.family} family`,
    },
    { actions: ['ecs:DescribeTasks'], resources: [tasks], wildcardReason: taskReason },
    {
      actions: ['ecs:TagResource'],
      resources: [tasks],
      conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
      wildcardReason: taskReason,
    },
    { actions: ['ecs:DescribeServices'], resources: [arns.ecsService(target.cluster, target.service)] },
    ...passRole(config),
  ];
}

function smokeTestGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const secrets = Object.values(config.smokeTests.secrets).flatMap((ref) => ('secretsManager' in ref ? [arns.secret(ref.secretsManager)] : []));
  return secrets.length > 0 ? [{ actions: ['secretsmanager:GetSecretValue'], resources: [...new Set(secrets)] }] : [];
}

function alarmGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const alarms = alarmArns(arns, config);
  return alarms.length > 0 ? [{ actions: ['cloudwatch:DescribeAlarms'], resources: alarms }] : [];
}

const RESTORE_GROUPS_REASON =
  'the restored database reuses the subnet, parameter and option groups the snapshot records, whose names are only known at restore time';

/** Restoring an encrypted snapshot creates a grant on its key. */
function kmsGrants(kmsKeyArn: string | undefined): TaskGrant[] {
  return kmsKeyArn ? [{ actions: ['kms:CreateGrant', 'kms:DescribeKey'], resources: [kmsKeyArn] }] : [];
}

function restoreGrants(arns: ResourceArns, config: RunbookConfig): TaskGrant[] {
  const { database } = config;
  // With restorePolicy 'never' the AdvanceRestore state is unreachable: the function gets nothing.
  if (!database || database.restorePolicy === 'never') return [];
  const snapshotReason = `snapshot ids end with the deployment id: ${snapshotPrefix(config.name)}<deployment id>`;
  if (database.kind === 'rds-instance') {
    const id = database.instanceIdentifier;
    const instance = arns.rds('db', id);
    const failed = arns.rds('db', `${id}-failed-*`);
    const snapshots = arns.rds('snapshot', `${snapshotPrefix(config.name)}*`);
    return [
      {
        actions: ['rds:DescribeDBInstances', 'rds:ModifyDBInstance'],
        resources: [instance, failed],
        wildcardReason: `the replaced database is kept as ${id}-failed-<timestamp>`,
      },
      {
        actions: ['rds:RestoreDBInstanceFromDBSnapshot'],
        resources: [instance, snapshots, arns.rds('subgrp', '*'), arns.rds('pg', '*'), arns.rds('og', '*')],
        wildcardReason: `${snapshotReason}; ${RESTORE_GROUPS_REASON}`,
      },
      { actions: ['rds:AddTagsToResource'], resources: [instance] },
      { actions: ['rds:DescribeDBSnapshots'], resources: [snapshots], wildcardReason: snapshotReason },
      ...kmsGrants(database.kmsKeyArn),
    ];
  }
  if (database.kind === 'aurora-cluster') {
    const id = database.clusterIdentifier;
    const cluster = arns.rds('cluster', id);
    const failed = arns.rds('cluster', `${id}-failed-*`);
    const instances = arns.rds('db', `${id}-*`);
    const snapshots = arns.rds('cluster-snapshot', `${snapshotPrefix(config.name)}*`);
    return [
      {
        actions: ['rds:DescribeDBClusters', 'rds:ModifyDBCluster'],
        resources: [cluster, failed],
        wildcardReason: `the replaced cluster is kept as ${id}-failed-<timestamp>`,
      },
      {
        actions: ['rds:RestoreDBClusterFromSnapshot'],
        resources: [cluster, snapshots, arns.rds('subgrp', '*'), arns.rds('cluster-pg', '*'), arns.rds('og', '*')],
        wildcardReason: `${snapshotReason}; ${RESTORE_GROUPS_REASON}`,
      },
      {
        actions: ['rds:DescribeDBInstances', 'rds:ModifyDBInstance'],
        resources: [instances],
        wildcardReason: `the cluster's writer (named ${id}-<n>) is kept as <writer>-failed-<timestamp>`,
      },
      {
        actions: ['rds:CreateDBInstance'],
        resources: [instances, cluster, arns.rds('subgrp', '*'), arns.rds('pg', '*'), arns.rds('og', '*')],
        wildcardReason: `the restored cluster's writer is named ${id}-<n>; ${RESTORE_GROUPS_REASON}`,
      },
      {
        actions: ['rds:AddTagsToResource'],
        resources: [cluster, instances],
        wildcardReason: `the restored cluster's instances are named ${id}-<n>`,
      },
      { actions: ['rds:DescribeDBClusterSnapshots'], resources: [snapshots], wildcardReason: snapshotReason },
      ...kmsGrants(database.kmsKeyArn),
    ];
  }
  return [];
}
