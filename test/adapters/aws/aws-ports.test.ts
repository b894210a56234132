import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeServicesCommand, ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import { awsAlarms, awsDatabase, awsDeployTarget, awsMetricQuery, awsMigrator, type DatabaseClients } from '../../../adapters/aws/aws-ports';
import { EcsPgRestorer } from '../../../adapters/aws/ecs-pg-backups';
import { SecretsManagerSource } from '../../../adapters/aws/secrets-manager-source';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { wrongPlace } from '../../../config/kinds';
import { InvalidInputError } from '../../../core/errors';
import { analysisMetric } from '../../support/metric-queries';
import { config, deployment, HOOK_ARN, newRelease, region, testCredentials } from './deploy-fixtures';
import { FakeRds } from './fake-rds';
import { CLUSTER_ID, INSTANCE_ID, SNAPSHOT_ID, auroraConfig, config as rdsConfig, snapshotRef } from './rds-fixtures';

const clients = {
  ecs: new ECSClient({ region, credentials: testCredentials }),
  lambda: new LambdaClient({ region, credentials: testCredentials }),
  ssm: new SSMClient({ region, credentials: testCredentials }),
  ec2: new EC2Client({ region, credentials: testCredentials }),
};
/** The database clients around a fake RDS; the logical-backup clients fail if a test reaches them unasked. */
function databaseClients(rds: FakeRds): DatabaseClients {
  const unexpected = (what: string) => () => {
    throw new Error(`${what} was not expected in this test`);
  };
  return { rds: rds.client, ecs: unexpected('ECS'), s3: unexpected('S3'), secrets: () => new SecretsManagerSource(new SecretsManagerClient({ region, credentials: testCredentials })), target: 'shop-api' };
}

const hookPayload = (value: unknown) => Buffer.from(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];

describe('awsDeployTarget', () => {
  it('reads the configured service in the configured cluster for an ecs target', async () => {
    const ecs = mockClient(clients.ecs);
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] });
    await expect(awsDeployTarget(config().target, clients).current()).rejects.toThrow(/shop-api/);
    expect(ecs).toHaveReceivedCommandExactlyOnceWith(DescribeServicesCommand, { cluster: 'shop-prod', services: ['shop-api'] });
    ecs.restore();
  });

  it('invokes the configured function for a hook target', async () => {
    const lambda = mockClient(clients.lambda);
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: hookPayload({ version: 'v1.4.2', image: null, ref: 'v1.4.2' }) });
    expect(await awsDeployTarget({ kind: 'hook', functionArn: HOOK_ARN }, clients).current()).toEqual({ version: 'v1.4.2', image: null, ref: 'v1.4.2' });
    expect(lambda).toHaveReceivedCommandExactlyOnceWith(InvokeCommand, { FunctionName: HOOK_ARN, Payload: JSON.stringify({ action: 'current' }) });
    lambda.restore();
  });

  it('selects the running instances carrying the configured tags for an ssm-hosts target', async () => {
    const ec2 = mockClient(clients.ec2);
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const target = { kind: 'ssm-hosts' as const, tags: { app: 'shop-api' }, deploy: 'd {{version}}', rollback: 'r {{version}}', current: 'c', maxConcurrency: 1, maxErrors: 0, commandTimeoutSeconds: 600 };
    expect(await awsDeployTarget(target, clients).preflight()).toEqual([{ name: 'hosts', ok: false, detail: 'target: no host is selected (running instances tagged app=shop-api): nothing to deploy to' }]);
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(DescribeInstancesCommand, {
      Filters: [
        { Name: 'tag:app', Values: ['shop-api'] },
        { Name: 'instance-state-name', Values: ['running'] },
      ],
    });
    ec2.restore();
  });

  it.each([
    [{ kind: 'command' as const, deploy: './deploy.sh {{version}}', rollback: './deploy.sh {{version}}', current: 'cat VERSION' }],
    [{ kind: 'process' as const, command: ['node', 'server.js'], port: 3000, readyPath: '/health' }],
  ])('fails when the target kind runs only in a rehearsal (%o), in the words of the kinds table', (target) => {
    expect(() => awsDeployTarget(target as never, clients)).toThrow(new InvalidInputError(wrongPlace('target', target.kind, 'aws')));
    expect(wrongPlace('target', target.kind, 'aws')).toMatch(new RegExp(`^target\\.kind: '${target.kind}' \\(.+\\) runs only in a local rehearsal .*on AWS use 'ecs' or 'hook'.*\\(got "${target.kind}"\\)$`));
  });
});

describe('awsMigrator', () => {
  it('runs the release in the configured cluster for ecs-task migrations', async () => {
    const ecs = mockClient(clients.ecs);
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] });
    await expect(awsMigrator(config(), deployment.id, clients).start(newRelease)).rejects.toThrow(/shop-api/);
    expect(ecs).toHaveReceivedCommandWith(DescribeServicesCommand, { cluster: 'shop-prod', services: ['shop-api'] });
    ecs.restore();
  });

  it('invokes the configured function for hook migrations', async () => {
    const lambda = mockClient(clients.lambda);
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: hookPayload({ status: 'running', ref: 'migration-7' }) });
    await awsMigrator(config({ migrations: { kind: 'hook', functionArn: HOOK_ARN } }), deployment.id, clients).start(newRelease);
    expect(lambda.commandCalls(InvokeCommand).map((call) => call.args[0].input.FunctionName)).toEqual([HOOK_ARN]);
    lambda.restore();
  });

  it('fails when no migrations are configured', () => {
    expect(() => awsMigrator(config({ migrations: null }), deployment.id, clients)).toThrow(
      new InvalidInputError('config.migrations: the migrations function ran but no migrations are configured (got null)'),
    );
  });

  it('fails when ecs-task migrations come with a hook target', () => {
    // The schema refuses this pair too; the adapter choice does not rely on it.
    const hookTarget = { ...config(), target: { kind: 'hook' as const, functionArn: HOOK_ARN } };
    expect(() => awsMigrator(hookTarget, deployment.id, clients)).toThrow(new InvalidInputError('migrations.kind: "ecs-task" migrations need an "ecs" target (got "hook")'));
  });

  it('fails when the migrations kind runs only in a rehearsal', () => {
    expect(() => awsMigrator(config({ migrations: { kind: 'command', command: 'npm run migrate' } }), deployment.id, clients)).toThrow(
      new InvalidInputError(wrongPlace('migrations', 'command', 'aws')),
    );
  });
});

describe('awsDatabase', () => {
  it('snapshots and restores the configured instance for an rds-instance database', async () => {
    const rds = new FakeRds();
    rds.instances.set(INSTANCE_ID, { DBInstanceIdentifier: INSTANCE_ID, DBInstanceStatus: 'available', Engine: 'postgres' });
    rds.snapshots.set(SNAPSHOT_ID, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available' });
    const database = awsDatabase(rdsConfig().database, databaseClients(rds));
    expect(await database.backups.describe()).toMatchObject({ kind: 'rds-instance', identifier: INSTANCE_ID, status: 'available' });
    await database.restorer.advance(snapshotRef(), null);
    expect(rds.callLog()).toEqual(expect.arrayContaining([`DescribeDBSnapshots ${SNAPSHOT_ID}`, `DescribeDBInstances ${INSTANCE_ID}`]));
  });

  it('snapshots and restores the configured cluster for an aurora-cluster database', async () => {
    const writer = `${CLUSTER_ID}-writer`;
    const rds = new FakeRds();
    rds.clusters.set(CLUSTER_ID, { DBClusterIdentifier: CLUSTER_ID, Status: 'available', Engine: 'aurora-postgresql', DBClusterMembers: [{ DBInstanceIdentifier: writer, IsClusterWriter: true }] });
    rds.instances.set(writer, { DBInstanceIdentifier: writer, DBInstanceStatus: 'available', DBClusterIdentifier: CLUSTER_ID, Engine: 'aurora-postgresql' });
    rds.clusterSnapshots.set(SNAPSHOT_ID, { DBClusterSnapshotIdentifier: SNAPSHOT_ID, DBClusterIdentifier: CLUSTER_ID, Status: 'available' });
    const database = awsDatabase(auroraConfig().database, databaseClients(rds));
    expect(await database.backups.describe()).toMatchObject({ kind: 'aurora-cluster', identifier: CLUSTER_ID, status: 'available' });
    await database.restorer.advance(snapshotRef({ kind: 'aurora-cluster', source: CLUSTER_ID }), null);
    expect(rds.callLog()).toEqual(expect.arrayContaining([`DescribeDBClusterSnapshots ${SNAPSHOT_ID}`, `DescribeDBClusters ${CLUSTER_ID}`]));
  });

  it('takes logical backups of a postgres database with the stack\'s backup task, found in PG_BACKUP_TASK', async () => {
    const rds = new FakeRds();
    const ecs = mockClient(ECSClient);
    const s3 = mockClient(S3Client);
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/backups/1' }] });
    s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
    const placement = { cluster: 'backups', taskDefinition: 'pg-backup:1', container: 'uploader', subnets: ['subnet-1'], securityGroups: ['sg-1'] };
    const postgres = rdsConfig({ database: { kind: 'postgres', connection: { secretsManager: 'shop/prod/db' } } }).database;
    const env = { RUNBOOK_BUCKET: 'artifacts', PG_BACKUP_TASK: JSON.stringify(placement) };

    const database = awsDatabase(postgres, { ...databaseClients(rds), ecs: () => new ECSClient({ region, credentials: testCredentials }), s3: () => new S3Client({ region, credentials: testCredentials }), env });
    vi.spyOn(database.backups, 'describe').mockResolvedValue({ kind: 'postgres', identifier: 'shop', arn: null, engine: 'postgres', engineVersion: '16.4', status: 'available', encrypted: null, sizeBytes: 1 });
    await database.backups.create('snap-1', {});

    expect(database.restorer).toBeInstanceOf(EcsPgRestorer);
    expect(ecs).toHaveReceivedCommandWith(RunTaskCommand, { cluster: 'backups', taskDefinition: 'pg-backup:1' });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'artifacts', Key: 'backups/shop-api/snap-1.task.json' });
    expect(rds.callLog()).toEqual([]);
  });

  it('fails when no database is configured', () => {
    const rds = new FakeRds();
    expect(() => awsDatabase(null, databaseClients(rds))).toThrow(new InvalidInputError('config.database: a database function ran but no database is configured (got null)'));
    expect(rds.callLog()).toEqual([]);
  });
});

describe('awsAlarms', () => {
  it('reads the named CloudWatch alarms for a cloudwatch configuration', async () => {
    const client = new CloudWatchClient({ region, credentials: testCredentials });
    const cloudwatch = mockClient(client);
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'shop-api-5xx-rate', StateValue: 'ALARM' }] });
    expect(await awsAlarms(config().alarms, client).states(['shop-api-5xx-rate'])).toMatchObject([{ name: 'shop-api-5xx-rate', state: 'ALARM' }]);
    expect(cloudwatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNames: ['shop-api-5xx-rate'] });
    cloudwatch.restore();
  });

  it('fails when the alarms are Prometheus rules, which only a rehearsal reads', () => {
    const prometheus = config({ alarms: { kind: 'prometheus', metricsUrl: 'http://127.0.0.1:3000/metrics' } }).alarms;
    expect(() => awsAlarms(prometheus, new CloudWatchClient({ region, credentials: testCredentials }))).toThrow(new InvalidInputError(wrongPlace('alarms', 'prometheus', 'aws')));
  });
});

describe('awsMetricQuery', () => {
  const at = new Date('2025-06-01T10:05:00.000Z');
  const noSecrets = { resolve: () => Promise.reject(new Error('no secret is read')) };

  it('reads a CloudWatch metric with the CloudWatch client, and a Logs Insights one with the logs client made on first use', async () => {
    const cloudwatchClient = new CloudWatchClient({ region, credentials: testCredentials });
    const logsClient = new CloudWatchLogsClient({ region, credentials: testCredentials });
    const cloudwatch = mockClient(cloudwatchClient);
    const logs = mockClient(logsClient);
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'latency', StatusCode: 'Complete', Values: [0.3] }] });
    logs.on(StartQueryCommand).resolves({ queryId: 'q-1' });
    logs.on(GetQueryResultsCommand).resolves({ status: 'Complete', results: [[{ field: 'count()', value: '4' }]] });
    let logsMade = 0;
    const query = awsMetricQuery(config(), { cloudwatch: cloudwatchClient, logs: () => (logsMade++, logsClient), secrets: noSecrets });

    const latency = analysisMetric({ name: 'latency', provider: { kind: 'cloudwatch', metrics: { latency: { namespace: 'AWS/ApplicationELB', metricName: 'TargetResponseTime', stat: 'p95' } } } });
    expect(await query.value(latency, at)).toBe(0.3);
    expect(logsMade).toBe(0);
    const errors = analysisMetric({ name: 'log-errors', provider: { kind: 'logs', logGroupNames: ['/ecs/shop-api'], query: 'filter @message like /ERROR/ | stats count()' } });
    expect(await query.value(errors, at)).toBe(4);
    expect(await query.value(errors, at)).toBe(4);
    expect(logsMade).toBe(1);
    cloudwatch.restore();
    logs.restore();
  });

  it('refuses a log-file metric, which only a rehearsal reads', async () => {
    const query = awsMetricQuery(config(), { cloudwatch: new CloudWatchClient({ region, credentials: testCredentials }), logs: () => new CloudWatchLogsClient({ region }), secrets: noSecrets });
    const logFile = analysisMetric({ name: 'app-errors', provider: { kind: 'log-file', path: 'app.log', pattern: 'ERROR' } });
    await expect(query.value(logFile, at)).rejects.toThrow(new InvalidInputError(wrongPlace('metricProvider', 'log-file', 'aws', 'analysis metric app-errors: provider.kind')));
  });
});
