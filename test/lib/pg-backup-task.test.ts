import type { CfnElement } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { BACKUP_TASK_ENV } from '../../adapters/aws/ecs-pg-backups';
import { SIDECAR_SCRIPT } from '../../adapters/aws/pg-sidecar';
import type { RunbookConfigInput } from '../../config/schema';
import { ConfigError, parseConfig, assertDeployableToAws } from '../../config/load';
import { BOOTSTRAP } from '../../lib/pg-backup-task';
import { arn, exampleInput, flatDeep, postgresInput, rdsLogicalInput, resources, synth, taskStatements } from './fixtures';

let synthesized: ReturnType<typeof synth> | undefined;
function postgres(): ReturnType<typeof synth> {
  synthesized ??= synth({ config: postgresInput });
  return synthesized;
}

interface Container {
  Name: string;
  Image: string;
  Essential: boolean;
  EntryPoint: string[];
  Command: string[];
  Environment: { Name: string; Value: unknown }[];
  Secrets: { Name: string; ValueFrom: unknown }[];
  MountPoints: { ContainerPath: string; SourceVolume: string; ReadOnly: boolean }[];
}

function taskDefinition(): { Properties: Record<string, unknown>; containers: Container[] } {
  const found = Object.values(resources(postgres().template)).filter((r) => r.Type === 'AWS::ECS::TaskDefinition');
  expect(found).toHaveLength(1);
  return { Properties: found[0].Properties, containers: flatDeep(found[0].Properties.ContainerDefinitions) as Container[] };
}

const SECRET = arn('secretsmanager', 'secret:shop/prod/db');

/** The principals the bucket policy lets write under backups/. */
function backupWriters(s: ReturnType<typeof synth>): string[] | undefined {
  const policy = Object.values(resources(s.template)).find((r) => r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r.Properties).includes('OnlyTheRunbookWritesbackups'));
  const statement = (flatDeep(policy?.Properties.PolicyDocument) as { Statement: { Sid?: string; Condition?: { ArnNotLike: { 'aws:PrincipalArn': string[] } } }[] }).Statement.find((st) => st.Sid === 'OnlyTheRunbookWritesbackups');
  return statement?.Condition?.ArnNotLike['aws:PrincipalArn'];
}

describe('the logical backup task (database.kind postgres on AWS)', { timeout: 90_000 }, () => {
  it('runs two stock images sharing a volume: pg_dump/pg_restore in postgres, the uploader bundle in the Node image, nothing built', () => {
    const { Properties, containers } = taskDefinition();
    expect(Properties).toMatchObject({ RequiresCompatibilities: ['FARGATE'], NetworkMode: 'awsvpc', Cpu: '1024', Memory: '2048', Volumes: [{ Name: 'work' }] });
    const [pgContainer, uploader] = containers;
    expect(pgContainer).toMatchObject({ Name: 'postgres', Image: 'public.ecr.aws/docker/library/postgres:17', Essential: false, EntryPoint: ['sh', '-c'], Command: [SIDECAR_SCRIPT] });
    expect(uploader).toMatchObject({ Name: 'uploader', Image: 'public.ecr.aws/lambda/nodejs:22', Essential: true, EntryPoint: ['node'], Command: ['-e', BOOTSTRAP] });
    for (const container of containers) {
      expect(container.MountPoints).toEqual([{ ContainerPath: '/dump-work', SourceVolume: 'work', ReadOnly: false }]);
      // Credentials and the server come from the connection secret's JSON keys, injected by ECS.
      expect(container.Secrets).toEqual(
        ['PGUSER:username', 'PGPASSWORD:password', 'PGHOST:host', 'PGPORT:port', 'PGDATABASE:dbname'].map((pair) => {
          const [name, key] = pair.split(':');
          return { Name: name, ValueFrom: `${SECRET}:${key}::` };
        }),
      );
      const env = Object.fromEntries(container.Environment.map((e) => [e.Name, e.Value]));
      expect(env).toMatchObject({ DUMP_WORK_DIR: '/dump-work', PGCONNECT_TIMEOUT: '10', PGSSLMODE: 'verify-full', PGSSLROOTCERT: 'system' });
      expect(JSON.stringify(container.Environment)).not.toMatch(/password/i);
    }
    const uploaderEnv = Object.fromEntries(uploader.Environment.map((e) => [e.Name, e.Value]));
    expect(Object.keys(uploaderEnv)).toEqual(expect.arrayContaining(['RUNBOOK_BUCKET', 'TASK_BUNDLE_BUCKET', 'TASK_BUNDLE_KEY']));
    expect(Object.values(resources(postgres().template)).some((r) => r.Type === 'AWS::ECR::Repository')).toBe(false);
    expect(JSON.stringify(postgres().app.synth().getStackByName('RunbookTest').assets)).not.toContain('"packaging":"container-image"');
  });

  it('gives the task role only its prefix of the bucket and its own bundle', () => {
    const task = postgres().stack.runbook.backupTask;
    if (!task) throw new Error('no backup task was created');
    const roleId = postgres().stack.getLogicalId(task.taskDefinition.taskRole.node.defaultChild as CfnElement);
    const documents = Object.values(resources(postgres().template)).filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId));
    // The bundle's bucket is the bootstrap's (Fn::Sub), which flatDeep does not read: compared as written.
    const text = JSON.stringify(documents.map((d) => d.Properties.PolicyDocument));
    const statements = JSON.parse(text.replace(/\{"Fn::Sub":"(cdk-[^"]*)"\}/g, '"$1"')) as { Statement: Record<string, unknown>[] }[];
    expect(flatDeep(statements.flatMap((d) => d.Statement))).toEqual([
      { Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], Effect: 'Allow', Resource: expect.stringMatching(/^<RunbookArtifacts.*\.Arn>\/backups\/shop-api\/\*$/) },
      { Action: 's3:ListBucket', Effect: 'Allow', Resource: expect.stringMatching(/^<RunbookArtifacts.*\.Arn>$/), Condition: { StringLikeIfExists: { 's3:prefix': ['backups/shop-api/*'] } } },
      { Action: 's3:GetObject', Effect: 'Allow', Resource: expect.stringMatching(/^arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}\/[0-9a-f]{64}\.[a-z]+$/) },
    ]);
  });

  it('lets the snapshot function start only this task in this cluster, pass only its roles, and follow it', () => {
    // The function runs in the network (it connects as the task will): its ec2: network-interface grants are lib/network.ts's.
    const statements = taskStatements(postgres(), 'database-snapshot');
    const actions = statements.flatMap((s) => s.Action).filter((action) => !action.startsWith('ec2:')).sort();
    expect(actions).toEqual(['ecs:DescribeTasks', 'ecs:RunTask', 'iam:PassRole', 's3:GetObject', 's3:ListBucket', 's3:PutObject', 'secretsmanager:GetSecretValue']);
    const runTask = statements.find((s) => s.Action.includes('ecs:RunTask'));
    expect(runTask?.Resource).toEqual([expect.stringMatching(/^<RunbookPgBackupTaskTaskDefinition[0-9A-F]+>$/)]);
    expect(runTask?.Condition).toEqual({ ArnEquals: { 'ecs:cluster': expect.stringMatching(/^<.*Cluster.*\.Arn>$/) } });
    const passRole = statements.find((s) => s.Action.includes('iam:PassRole'));
    expect(passRole?.Resource).toHaveLength(2);
    expect(passRole?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    const restore = taskStatements(postgres(), 'restore-database');
    expect(restore.flatMap((s) => s.Action).filter((action) => !action.startsWith('ec2:')).sort()).toEqual(['ecs:DescribeTasks', 'ecs:RunTask', 'iam:PassRole', 's3:GetObject', 's3:ListBucket', 'secretsmanager:GetSecretValue']);
    // Both connect to the database as the task will before starting it (EcsPgBackups.describe): the connection secret, no other.
    for (const found of [statements, restore]) {
      expect(found.filter((s) => s.Action.includes('secretsmanager:GetSecretValue'))).toEqual([{ Action: ['secretsmanager:GetSecretValue'], Effect: 'Allow', Resource: [`${SECRET}-??????`] }]);
    }
  });

  it('tells the snapshot and restore functions where the task runs', () => {
    const fns = Object.values(resources(postgres().template)).filter((r) => r.Type === 'AWS::Lambda::Function');
    const withPlacement = fns.filter((r) => JSON.stringify(r.Properties.Environment).includes(BACKUP_TASK_ENV)).map((r) => r.Properties.Description);
    expect(withPlacement.sort()).toEqual(['deploy-runbook database-snapshot task', 'deploy-runbook restore-database task']);
  });

  it('lets only the ledger, the task and the snapshot function write under backups/', () => {
    expect(backupWriters(postgres())).toEqual([
      expect.stringMatching(/^<RunbookLedgerFunctionRole[0-9A-F]+\.Arn>$/),
      expect.stringMatching(/^<RunbookPgBackupTaskTaskDefinitionTaskRole[0-9A-F]+\.Arn>$/),
      expect.stringMatching(/^<RunbookDatabaseSnapshotFunctionRole[0-9A-F]+\.Arn>$/),
    ]);
  });

  it('grants the restore drill (backup.testRestore) nothing new: the restore function starts the same task, the data-checks function reads the same secret', () => {
    const drill = synth({ config: { ...postgresInput, backup: { testRestore: true } } as RunbookConfigInput });
    // The drill's copy is restored by the task (drill-restore), checked and dropped over the functions' own connections.
    for (const folder of ['restore-database', 'data-checks', 'database-snapshot']) {
      expect(taskStatements(drill, folder)).toEqual(taskStatements(postgres(), folder));
    }
    expect(taskStatements(drill, 'data-checks').filter((s) => !s.Action.every((action) => action.startsWith('ec2:')))).toEqual([
      { Action: ['secretsmanager:GetSecretValue'], Effect: 'Allow', Resource: [`${SECRET}-??????`] },
    ]);
  });

  it('refuses a postgres database on AWS without network, naming the field', () => {
    const { network: _ignored, ...withoutNetwork } = postgresInput as RunbookConfigInput & { network?: unknown };
    const config = parseConfig(withoutNetwork as RunbookConfigInput);
    expect(() => assertDeployableToAws(config, 'test')).toThrow(ConfigError);
    expect(() => assertDeployableToAws(config, 'test')).toThrow(/network: 'postgres' on AWS is backed up by an ECS Fargate task, which runs in subnets that reach the database/);
  });
});

describe('the logical copy beside RDS snapshots (database.logicalBackup)', { timeout: 90_000 }, () => {
  let logical: ReturnType<typeof synth> | undefined;
  const rds = () => (logical ??= synth({ config: rdsLogicalInput }));
  const ofType = (s: ReturnType<typeof synth>, type: string) => Object.values(resources(s.template)).filter((r) => r.Type === type);

  it('creates the backup task only when asked for', () => {
    expect(ofType(rds(), 'AWS::ECS::TaskDefinition')).toHaveLength(1);
    expect(ofType(rds(), 'AWS::ECS::Cluster')).toHaveLength(1);
    const plain = synth({ config: exampleInput });
    expect(ofType(plain, 'AWS::ECS::TaskDefinition')).toEqual([]);
    expect(ofType(plain, 'AWS::ECS::Cluster')).toEqual([]);
    expect(plain.stack.runbook.backupTask).toBeUndefined();
  });

  it('lets the snapshot function take the snapshot, start and follow only this task, and read only the connection secret', () => {
    const statements = taskStatements(rds(), 'database-snapshot');
    const actions = [...new Set(statements.flatMap((s) => s.Action))].sort();
    expect(actions).toEqual([
      'ec2:AssignPrivateIpAddresses',
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:UnassignPrivateIpAddresses',
      'ecs:DescribeTasks',
      'ecs:RunTask',
      'iam:PassRole',
      'rds:AddTagsToResource',
      'rds:CreateDBSnapshot',
      'rds:DescribeDBSnapshots',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
      'secretsmanager:GetSecretValue',
    ]);
    expect(statements.find((s) => s.Action.includes('ecs:RunTask'))?.Condition).toEqual({ ArnEquals: { 'ecs:cluster': expect.stringMatching(/^<.*Cluster.*\.Arn>$/) } });
    expect(statements.filter((s) => s.Action.includes('secretsmanager:GetSecretValue'))).toEqual([{ Action: ['secretsmanager:GetSecretValue'], Effect: 'Allow', Resource: [`${SECRET}-??????`] }]);
    // Preflight reads the smoke-test secret too, as without the logical copy.
    expect(taskStatements(rds(), 'preflight').filter((s) => s.Action.includes('secretsmanager:GetSecretValue'))).toContainEqual({ Action: ['secretsmanager:GetSecretValue'], Effect: 'Allow', Resource: [`${SECRET}-??????`] });
  });

  it('leaves the restore function as it is: a rollback restores the snapshot, never the dump', () => {
    const actions = taskStatements(rds(), 'restore-database').flatMap((s) => s.Action);
    expect(actions).not.toContain('ecs:RunTask');
    expect(actions).not.toContain('iam:PassRole');
    expect(actions).toContain('rds:RestoreDBInstanceFromDBSnapshot');
    const fns = ofType(rds(), 'AWS::Lambda::Function');
    const withPlacement = fns.filter((r) => JSON.stringify(r.Properties.Environment).includes(BACKUP_TASK_ENV)).map((r) => r.Properties.Description);
    expect(withPlacement).toEqual(['deploy-runbook database-snapshot task']);
  });

  it('places Preflight and the snapshot function in the network, trusting the RDS CAs, as they connect as the task will', () => {
    const fns = ofType(rds(), 'AWS::Lambda::Function');
    const placed = fns.filter((r) => r.Properties.VpcConfig !== undefined).map((r) => String(r.Properties.Description).replace(/^deploy-runbook | task$/g, '')).sort();
    expect(placed).toEqual(['data-checks', 'database-snapshot', 'preflight', 'smoke-test']);
    const trusting = fns.filter((r) => JSON.stringify(r.Properties.Environment).includes('/var/runtime/ca-cert.pem')).map((r) => String(r.Properties.Description).replace(/^deploy-runbook | task$/g, '')).sort();
    expect(trusting).toEqual(['data-checks', 'database-snapshot', 'preflight']);
  });

  it('lets the task write only under backups/<target>/, beside the ledger and the snapshot function', () => {
    expect(backupWriters(rds())).toEqual([
      expect.stringMatching(/^<RunbookLedgerFunctionRole[0-9A-F]+\.Arn>$/),
      expect.stringMatching(/^<RunbookPgBackupTaskTaskDefinitionTaskRole[0-9A-F]+\.Arn>$/),
      expect.stringMatching(/^<RunbookDatabaseSnapshotFunctionRole[0-9A-F]+\.Arn>$/),
    ]);
  });
});
