import { Readable } from 'node:stream';
import { DescribeTasksCommand, ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { CreateDBSnapshotCommand, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { awsDatabase } from '../../../adapters/aws/aws-ports';
import { BACKUP_TASK_ENV, EcsPgBackups } from '../../../adapters/aws/ecs-pg-backups';
import { RdsInstanceBackups } from '../../../adapters/aws/rds-backups';
import { RdsInstanceRestorer } from '../../../adapters/aws/rds-restorer';
import { S3ArtifactStore } from '../../../adapters/aws/s3-artifact-store';
import { SnapshotWithLogicalCopy } from '../../../adapters/aws/snapshot-with-logical-copy';
import { SnapshotFailedError } from '../../../core/errors';
import type { DatabaseInfo } from '../../../core/model';
import { BACKUP_TASK_ARN, backupTaskPlacement } from './backup-task-fixtures';
import { clientConfig, INSTANCE_ID, instanceInfo, KMS_KEY, rdsDatabase, SNAPSHOT_ID, TestClock } from './rds-fixtures';

const BUCKET = 'runbook-artifacts';
const rdsClient = new RDSClient(clientConfig);
const ecsClient = new ECSClient(clientConfig);
const s3Client = new S3Client(clientConfig);
const rds = mockClient(rdsClient);
const ecs = mockClient(ecsClient);
const s3 = mockClient(s3Client);

const TASK = BACKUP_TASK_ARN;
const placement = backupTaskPlacement;
/** The database as a connection from the task's subnets finds it (current_database()). */
const CONNECTED: DatabaseInfo = { kind: 'postgres', identifier: 'shop', arn: null, engine: 'postgres', engineVersion: '16.4', status: 'available', encrypted: null, sizeBytes: 4096 };
const clock = new TestClock('2025-03-14T09:02:00.000Z');
let connects: () => Promise<DatabaseInfo>;
const dumps = new EcsPgBackups({ ecs: ecsClient, store: new S3ArtifactStore(s3Client, BUCKET), placement: () => placement, target: 'shop-api', describe: () => connects(), clock });
const backups = new SnapshotWithLogicalCopy(new RdsInstanceBackups(rdsClient, rdsDatabase, clock), dumps);

const DUMP_KEY = `backups/shop-api/${SNAPSHOT_ID}.dump`;
const META_KEY = `backups/shop-api/${SNAPSHOT_ID}.meta.json`;
const RECORD_KEY = `backups/shop-api/${SNAPSHOT_ID}.task.json`;
const SHA = 'c'.repeat(64);
const LISTED = 'pg_restore --list of the stored dump: 12 entries, 3 tables, 3 with data';
const meta = (status: 'creating' | 'available' | 'failed', extra: Record<string, unknown> = {}) => ({
  snapshotId: SNAPSHOT_ID,
  status,
  source: 'shop',
  bytes: status === 'available' ? 4096 : null,
  sha256: status === 'available' ? SHA : null,
  startedAt: '2025-03-14T09:02:01.000Z',
  completedAt: status === 'available' ? '2025-03-14T09:05:00.000Z' : null,
  tags: {},
  error: null,
  verification: status === 'available' ? ['sha256 computed while streaming 4096 bytes', LISTED] : [],
  ...extra,
});
const RECORD = { taskArn: TASK, database: 'shop', startedAt: '2025-03-14T09:02:00.000Z' };

function rdsSnapshot(status: string): void {
  rds.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SNAPSHOT_ID }).resolves({
    DBSnapshots: [{ DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: status, Engine: 'postgres', Encrypted: true, KmsKeyId: KMS_KEY, SnapshotCreateTime: new Date('2025-03-14T09:02:00.000Z') }],
  });
}

function stored(objects: Record<string, unknown>): void {
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    if (!(input.Key in objects)) throw new NoSuchKey({ message: 'no such key', $metadata: { httpStatusCode: 404 } });
    const bytes = Buffer.from(JSON.stringify(objects[input.Key]));
    return { Body: Object.assign(Readable.from([bytes]), { transformToByteArray: async () => new Uint8Array(bytes) }), ETag: '"e"' };
  });
}

beforeEach(() => {
  rds.reset();
  ecs.reset();
  s3.reset();
  connects = async () => CONNECTED;
});

describe('SnapshotWithLogicalCopy (database.logicalBackup on an RDS instance)', () => {
  it('takes the snapshot and starts the backup task for a dump under the same id, both creating', async () => {
    rds.on(CreateDBSnapshotCommand).resolves({ DBSnapshot: { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'creating' } });
    stored({});
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK }], failures: [] });
    s3.on(PutObjectCommand).resolves({ ETag: '"r"' });
    const tags = { 'deploy-runbook:target': 'shop-api' };

    const ref = await backups.create(SNAPSHOT_ID, tags);

    expect(rds).toHaveReceivedCommandWith(CreateDBSnapshotCommand, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Tags: [{ Key: 'deploy-runbook:target', Value: 'shop-api' }] });
    const run = ecs.commandCalls(RunTaskCommand)[0].args[0].input;
    expect(run).toMatchObject({ cluster: placement.cluster, taskDefinition: placement.taskDefinition, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: placement.subnets, securityGroups: placement.securityGroups, assignPublicIp: 'DISABLED' } } });
    expect(JSON.parse(run.overrides?.containerOverrides?.[0].environment?.[0].value ?? '')).toEqual({ mode: 'backup', target: 'shop-api', snapshotId: SNAPSHOT_ID, tags });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: BUCKET, Key: RECORD_KEY, IfNoneMatch: '*' });
    expect(ref).toMatchObject({ id: SNAPSHOT_ID, kind: 'rds-instance', source: INSTANCE_ID, status: 'creating' });
    expect(ref.logicalCopy).toEqual({ status: 'creating', source: 'shop', location: DUMP_KEY, checksum: null, sizeBytes: null, startedAt: '2025-03-14T09:02:00.000Z', completedAt: null, verification: [] });
  });

  it('stays creating while the snapshot is available but the dump is still streaming', async () => {
    rdsSnapshot('available');
    stored({ [RECORD_KEY]: RECORD });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK, lastStatus: 'RUNNING' }] });

    const ref = await backups.find(SNAPSHOT_ID);

    expect(ref).toMatchObject({ status: 'creating', logicalCopy: { status: 'creating', location: DUMP_KEY } });
    expect(ecs).toHaveReceivedCommandWith(DescribeTasksCommand, { cluster: placement.cluster, tasks: [TASK] });
  });

  it('is available once both are, with the dump’s checksum and size beside the snapshot', async () => {
    rdsSnapshot('available');
    stored({ [META_KEY]: meta('available') });

    const ref = await backups.find(SNAPSHOT_ID);

    expect(ref).toMatchObject({ id: SNAPSHOT_ID, kind: 'rds-instance', status: 'available', location: null });
    expect(ref?.logicalCopy).toEqual({
      status: 'available',
      source: 'shop',
      location: DUMP_KEY,
      checksum: SHA,
      sizeBytes: 4096,
      startedAt: '2025-03-14T09:02:01.000Z',
      completedAt: '2025-03-14T09:05:00.000Z',
      verification: ['sha256 computed while streaming 4096 bytes', LISTED],
    });
  });

  it('stays creating while the dump is stored but the snapshot is not available yet', async () => {
    rdsSnapshot('creating');
    stored({ [META_KEY]: meta('available') });
    expect(await backups.find(SNAPSHOT_ID)).toMatchObject({ status: 'creating', logicalCopy: { status: 'available' } });
  });

  it('starts the dump when the snapshot exists without one (the attempt that took it died before RunTask)', async () => {
    rdsSnapshot('creating');
    stored({});
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK }], failures: [] });
    s3.on(PutObjectCommand).resolves({ ETag: '"r"' });

    expect(await backups.find(SNAPSHOT_ID)).toMatchObject({ status: 'creating', logicalCopy: { status: 'creating' } });
    expect(ecs).toHaveReceivedCommandTimes(RunTaskCommand, 1);
  });

  it('finds nothing, and starts nothing, when there is no snapshot', async () => {
    rds.on(DescribeDBSnapshotsCommand).rejects(Object.assign(new Error('not found'), { name: 'DBSnapshotNotFoundFault' }));
    expect(await backups.find(SNAPSHOT_ID)).toBeUndefined();
    expect(ecs).not.toHaveReceivedCommand(RunTaskCommand);
  });

  it('fails the backup when the dump failed, with the task’s reason, however good the snapshot is', async () => {
    rdsSnapshot('available');
    stored({ [META_KEY]: meta('failed', { error: 'pg_dump exited with 1: FATAL: password authentication failed for user "runbook"' }) });
    await expect(backups.find(SNAPSHOT_ID)).rejects.toThrow(
      new SnapshotFailedError(`logical backup ${SNAPSHOT_ID} of database "shop" failed: pg_dump exited with 1: FATAL: password authentication failed for user "runbook"`),
    );
  });

  describe('verify', () => {
    it('verifies the snapshot against the instance and the dump against its meta and the stored object', async () => {
      rdsSnapshot('available');
      stored({ [META_KEY]: meta('available') });
      s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: DUMP_KEY }).resolves({ ContentLength: 4096 });
      const ref = await backups.find(SNAPSHOT_ID);
      if (!ref) throw new Error('not found');

      expect(await backups.verify(ref, instanceInfo)).toEqual([
        'status is available',
        `taken from instance ${INSTANCE_ID}`,
        'encrypted, like its source',
        `encrypted with KMS key ${KMS_KEY}`,
        'logical copy: sha256 computed while streaming 4096 bytes',
        `logical copy: ${LISTED}`,
        `logical copy: s3://${BUCKET}/${DUMP_KEY} holds the 4096 bytes hashed`,
      ]);
    });

    it('fails when the stored dump is not the size that was hashed', async () => {
      rdsSnapshot('available');
      stored({ [META_KEY]: meta('available') });
      s3.on(HeadObjectCommand).resolves({ ContentLength: 1000 });
      const ref = await backups.find(SNAPSHOT_ID);
      if (!ref) throw new Error('not found');
      await expect(backups.verify(ref, instanceInfo)).rejects.toThrow(`s3://${BUCKET}/${DUMP_KEY} holds 1000 bytes, but 4096 were hashed when it was stored`);
    });

    it('fails when the dump is of another database than the one the connection reaches', async () => {
      rdsSnapshot('available');
      stored({ [META_KEY]: meta('available', { source: 'staging' }) });
      const ref = await backups.find(SNAPSHOT_ID);
      if (!ref) throw new Error('not found');
      await expect(backups.verify(ref, instanceInfo)).rejects.toThrow(`logical backup ${SNAPSHOT_ID} is a dump of database "staging", not of "shop"`);
    });

    it('fails when the snapshot carries no available copy', async () => {
      rdsSnapshot('available');
      const ref = { ...(await new RdsInstanceBackups(rdsClient, rdsDatabase, clock).find(SNAPSHOT_ID))!, logicalCopy: null };
      await expect(backups.verify(ref, instanceInfo)).rejects.toThrow(`snapshot ${SNAPSHOT_ID} has no available logical copy beside it (database.logicalBackup): none was recorded`);
    });
  });

  it('describes the instance as RDS does, after connecting as the task will; an unreachable database fails Preflight', async () => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID }).resolves({
      DBInstances: [{ DBInstanceIdentifier: INSTANCE_ID, DBInstanceArn: instanceInfo.arn ?? '', Engine: 'postgres', EngineVersion: '16.4', DBInstanceStatus: 'available', StorageEncrypted: true, AllocatedStorage: 100 }],
    });
    expect(await backups.describe()).toEqual(instanceInfo);

    connects = async () => {
      throw new Error('could not connect to postgres://runbook@shop-prod-db.abc.eu-west-1.rds.amazonaws.com:5432/shop: timeout expired');
    };
    await expect(backups.describe()).rejects.toThrow('could not connect to postgres://runbook@shop-prod-db');
  });
});

describe('awsDatabase with database.logicalBackup', () => {
  const clients = { rds: rdsClient, ecs: () => ecsClient, s3: () => s3Client, secrets: () => ({ resolve: async () => '{}' }), target: 'shop-api', env: { RUNBOOK_BUCKET: BUCKET, [BACKUP_TASK_ENV]: JSON.stringify(placement) } };

  it('pairs the snapshots with a logical copy, and still restores from the snapshot', () => {
    const database = awsDatabase({ ...rdsDatabase, logicalBackup: true, connection: { secretsManager: 'shop/prod/db', sslmode: 'verify-full' } }, clients);
    expect(database.backups).toBeInstanceOf(SnapshotWithLogicalCopy);
    expect(database.restorer).toBeInstanceOf(RdsInstanceRestorer);
  });

  it('takes snapshots only without it', () => {
    expect(awsDatabase(rdsDatabase, clients).backups).toBeInstanceOf(RdsInstanceBackups);
  });

  it('fails naming database.connection when it is missing', () => {
    expect(() => awsDatabase({ ...rdsDatabase, logicalBackup: true }, clients)).toThrow("database.connection: logical backups of 'rds-instance' on AWS need a Secrets Manager connection (got nothing)");
  });
});
