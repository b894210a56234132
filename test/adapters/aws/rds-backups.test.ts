import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  DBClusterSnapshotAlreadyExistsFault,
  DBClusterSnapshotNotFoundFault,
  DBInstanceNotFoundFault,
  DBSnapshotAlreadyExistsFault,
  DBSnapshotNotFoundFault,
  DescribeAccountAttributesCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  InvalidDBClusterStateFault,
  InvalidDBInstanceStateFault,
  RDSClient,
  SnapshotQuotaExceededFault,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuroraClusterBackups, RdsInstanceBackups } from '../../../adapters/aws/rds-backups';
import { snapshotStatus } from '../../../adapters/aws/snapshot-checks';
import { PreflightFailedError, SnapshotFailedError } from '../../../core/errors';
import {
  CLUSTER_ID,
  INSTANCE_ID,
  KMS_KEY,
  OTHER_KMS_KEY,
  SNAPSHOT_ID,
  TestClock,
  auroraDatabase,
  clientConfig,
  describesClusterSnapshots,
  describesSnapshots,
  instanceInfo,
  rdsDatabase,
  snapshotRef,
} from './rds-fixtures';

const $metadata = {};
const GIB = 1024 ** 3;
const clock = new TestClock('2025-03-14T09:02:00.000Z');
const tags = { 'deploy-runbook:target': 'shop-api' };
const SNAPSHOT_ARN = `arn:aws:rds:eu-west-1:123456789012:snapshot:${SNAPSHOT_ID}`;
const CLUSTER_SNAPSHOT_ARN = `arn:aws:rds:eu-west-1:123456789012:cluster-snapshot:${SNAPSHOT_ID}`;

describe('RdsInstanceBackups', () => {
  const client = new RDSClient(clientConfig);
  const rds = mockClient(client);
  const backups = new RdsInstanceBackups(client, rdsDatabase, clock);
  beforeEach(() => rds.reset());

  it('describes the configured instance, with its storage in bytes', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: INSTANCE_ID,
          DBInstanceArn: `arn:aws:rds:eu-west-1:123456789012:db:${INSTANCE_ID}`,
          Engine: 'postgres',
          EngineVersion: '16.4',
          DBInstanceStatus: 'available',
          StorageEncrypted: true,
          AllocatedStorage: 100,
        },
      ],
    });
    expect(await backups.describe()).toEqual(instanceInfo);
    expect(rds).toHaveReceivedCommandExactlyOnceWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID });
  });

  it('fails when the configured instance does not exist', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(new DBInstanceNotFoundFault({ message: `DBInstance ${INSTANCE_ID} not found.`, $metadata }));
    await expect(backups.describe()).rejects.toThrow(
      new PreflightFailedError(`database.instanceIdentifier: RDS DB instance "${INSTANCE_ID}" does not exist in this account and region`),
    );
  });

  it('reads the manual snapshot quota from the account attributes', async () => {
    rds.on(DescribeAccountAttributesCommand).resolves({
      AccountQuotas: [
        { AccountQuotaName: 'DBInstances', Used: 4, Max: 40 },
        { AccountQuotaName: 'ManualSnapshots', Used: 97, Max: 100 },
        { AccountQuotaName: 'ManualClusterSnapshots', Used: 3, Max: 100 },
      ],
    });
    expect(await backups.quota()).toEqual({ used: 97, max: 100 });
    expect(rds).toHaveReceivedCommandExactlyOnceWith(DescribeAccountAttributesCommand, {});
  });

  it('reports no quota when the account attributes do not list one', async () => {
    rds.on(DescribeAccountAttributesCommand).resolves({ AccountQuotas: [] });
    expect(await backups.quota()).toBeNull();
  });

  it('finds a snapshot by its identifier', async () => {
    describesSnapshots(rds, {
      DBSnapshotIdentifier: SNAPSHOT_ID,
      DBSnapshotArn: SNAPSHOT_ARN,
      DBInstanceIdentifier: INSTANCE_ID,
      Status: 'creating',
      Engine: 'postgres',
      Encrypted: true,
      AllocatedStorage: 100,
      SnapshotCreateTime: new Date('2025-03-14T09:01:30.000Z'),
    });
    expect(await backups.find(SNAPSHOT_ID)).toEqual({
      id: SNAPSHOT_ID,
      arn: SNAPSHOT_ARN,
      kind: 'rds-instance',
      source: INSTANCE_ID,
      status: 'creating',
      engine: 'postgres',
      encrypted: true,
      sizeBytes: 100 * GIB,
      location: null,
      checksum: null,
      startedAt: '2025-03-14T09:01:30.000Z',
      completedAt: null,
      verification: [],
    });
    expect(rds).toHaveReceivedCommandExactlyOnceWith(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SNAPSHOT_ID });
  });

  it('finds nothing when RDS answers DBSnapshotNotFound', async () => {
    rds.on(DescribeDBSnapshotsCommand).rejects(new DBSnapshotNotFoundFault({ message: 'DBSnapshot not found', $metadata }));
    expect(await backups.find(SNAPSHOT_ID)).toBeUndefined();
  });

  it('creates a tagged snapshot of the configured instance', async () => {
    rds.on(CreateDBSnapshotCommand).resolves({ DBSnapshot: { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'creating' } });
    const created = await backups.create(SNAPSHOT_ID, tags);
    expect(created).toMatchObject({ id: SNAPSHOT_ID, status: 'creating', startedAt: '2025-03-14T09:02:00.000Z' });
    expect(rds.commandCalls(CreateDBSnapshotCommand)[0].args[0].input).toEqual({
      DBSnapshotIdentifier: SNAPSHOT_ID,
      DBInstanceIdentifier: INSTANCE_ID,
      Tags: [{ Key: 'deploy-runbook:target', Value: 'shop-api' }],
    });
  });

  it('returns the existing snapshot when a concurrent attempt created it first', async () => {
    rds.on(CreateDBSnapshotCommand).rejects(new DBSnapshotAlreadyExistsFault({ message: 'already exists', $metadata }));
    describesSnapshots(rds, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'creating' });
    expect(await backups.create(SNAPSHOT_ID, tags)).toMatchObject({ id: SNAPSHOT_ID, status: 'creating' });
    expect(rds.calls().map((call) => call.args[0].constructor.name)).toEqual(['CreateDBSnapshotCommand', 'DescribeDBSnapshotsCommand']);
  });

  it('fails when RDS says the snapshot exists but does not list it', async () => {
    rds.on(CreateDBSnapshotCommand).rejects(new DBSnapshotAlreadyExistsFault({ message: 'already exists', $metadata }));
    rds.on(DescribeDBSnapshotsCommand).rejects(new DBSnapshotNotFoundFault({ message: 'not found', $metadata }));
    await expect(backups.create(SNAPSHOT_ID, tags)).rejects.toThrow(new SnapshotFailedError(`snapshot ${SNAPSHOT_ID} was reported as existing but cannot be found`));
  });

  it('fails when the manual snapshot quota is used up', async () => {
    rds.on(CreateDBSnapshotCommand).rejects(new SnapshotQuotaExceededFault({ message: 'Cannot create more than 100 manual snapshots', $metadata }));
    await expect(backups.create(SNAPSHOT_ID, tags)).rejects.toThrow(SnapshotFailedError);
    await expect(backups.create(SNAPSHOT_ID, tags)).rejects.toThrow(/manual snapshot quota is used up/);
  });

  it('fails when the instance is not in a state to snapshot, naming it', async () => {
    rds.on(CreateDBSnapshotCommand).rejects(new InvalidDBInstanceStateFault({ message: 'DB instance is not available', $metadata }));
    await expect(backups.create(SNAPSHOT_ID, tags)).rejects.toThrow(`RDS DB instance ${INSTANCE_ID} is not in a state to snapshot`);
  });

  describe('verify', () => {
    const describeSnapshot = (overrides: Record<string, unknown>) =>
      describesSnapshots(rds, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available', Encrypted: true, KmsKeyId: KMS_KEY, ...overrides });

    it('lists what it checked on a matching snapshot', async () => {
      describeSnapshot({});
      expect(await backups.verify(snapshotRef(), instanceInfo)).toEqual([
        'status is available',
        `taken from instance ${INSTANCE_ID}`,
        'encrypted, like its source',
        `encrypted with KMS key ${KMS_KEY}`,
      ]);
    });

    it('accepts a bare key id for the configured key ARN', async () => {
      describeSnapshot({ KmsKeyId: '0c6e4bd4-53b5-4e7f-9a1c-6a1d2f9e8b11' });
      await expect(backups.verify(snapshotRef(), instanceInfo)).resolves.toContain(`encrypted with KMS key ${KMS_KEY}`);
    });

    it('fails when the source is encrypted and the snapshot is not', async () => {
      describeSnapshot({ Encrypted: false, KmsKeyId: undefined });
      await expect(backups.verify(snapshotRef(), instanceInfo)).rejects.toThrow(`is not encrypted although instance ${INSTANCE_ID} is`);
    });

    it('fails when the snapshot is encrypted with another KMS key, naming both', async () => {
      describeSnapshot({ KmsKeyId: OTHER_KMS_KEY });
      await expect(backups.verify(snapshotRef(), instanceInfo)).rejects.toThrow(
        `KMS key is "${OTHER_KMS_KEY}", not the configured database.kmsKeyArn "${KMS_KEY}"`,
      );
    });

    it('fails when the snapshot was taken from another instance', async () => {
      describeSnapshot({ DBInstanceIdentifier: 'shop-staging-db' });
      await expect(backups.verify(snapshotRef(), instanceInfo)).rejects.toThrow(`taken from instance "shop-staging-db", not the configured "${INSTANCE_ID}"`);
    });

    it('fails when the snapshot is gone', async () => {
      rds.on(DescribeDBSnapshotsCommand).rejects(new DBSnapshotNotFoundFault({ message: 'not found', $metadata }));
      await expect(backups.verify(snapshotRef(), instanceInfo)).rejects.toThrow(new SnapshotFailedError(`snapshot ${SNAPSHOT_ID} no longer exists`));
    });

    it('does not ask for encryption when neither the source nor the configuration has it', async () => {
      const plain = new RdsInstanceBackups(client, { ...rdsDatabase, kmsKeyArn: undefined }, clock);
      describeSnapshot({ Encrypted: false, KmsKeyId: undefined });
      expect(await plain.verify(snapshotRef(), { ...instanceInfo, encrypted: false })).toEqual(['status is available', `taken from instance ${INSTANCE_ID}`]);
    });
  });
});

describe('snapshot status', () => {
  it.each([
    ['available', 'available'],
    ['creating', 'creating'],
    ['copying', 'creating'],
    ['pending', 'creating'],
    [undefined, 'creating'],
    ['failed', 'failed'],
    ['deleting', 'failed'],
    ['incompatible-restore', 'failed'],
    ['incompatible-parameters', 'failed'],
  ] as const)('maps RDS status %s to %s', (rdsStatus, expected) => {
    expect(snapshotStatus(rdsStatus)).toBe(expected);
  });
});

describe('AuroraClusterBackups', () => {
  const client = new RDSClient(clientConfig);
  const rds = mockClient(client);
  const backups = new AuroraClusterBackups(client, auroraDatabase, clock);
  const clusterInfo = { ...instanceInfo, kind: 'aurora-cluster' as const, identifier: CLUSTER_ID, sizeBytes: null };
  beforeEach(() => rds.reset());

  it('describes the configured cluster without a storage size', async () => {
    rds.on(DescribeDBClustersCommand).resolves({
      DBClusters: [
        {
          DBClusterIdentifier: CLUSTER_ID,
          DBClusterArn: `arn:aws:rds:eu-west-1:123456789012:cluster:${CLUSTER_ID}`,
          Engine: 'aurora-postgresql',
          EngineVersion: '16.4',
          Status: 'available',
          StorageEncrypted: true,
          AllocatedStorage: 1,
        },
      ],
    });
    expect(await backups.describe()).toEqual({
      kind: 'aurora-cluster',
      identifier: CLUSTER_ID,
      arn: `arn:aws:rds:eu-west-1:123456789012:cluster:${CLUSTER_ID}`,
      engine: 'aurora-postgresql',
      engineVersion: '16.4',
      status: 'available',
      encrypted: true,
      sizeBytes: null,
    });
    expect(rds).toHaveReceivedCommandExactlyOnceWith(DescribeDBClustersCommand, { DBClusterIdentifier: CLUSTER_ID });
  });

  it('reads the manual cluster snapshot quota', async () => {
    rds.on(DescribeAccountAttributesCommand).resolves({
      AccountQuotas: [
        { AccountQuotaName: 'ManualSnapshots', Used: 97, Max: 100 },
        { AccountQuotaName: 'ManualClusterSnapshots', Used: 3, Max: 100 },
      ],
    });
    expect(await backups.quota()).toEqual({ used: 3, max: 100 });
  });

  it('finds a cluster snapshot, and nothing on DBClusterSnapshotNotFound', async () => {
    describesClusterSnapshots(rds, { DBClusterSnapshotIdentifier: SNAPSHOT_ID, DBClusterSnapshotArn: CLUSTER_SNAPSHOT_ARN, DBClusterIdentifier: CLUSTER_ID, Status: 'available' });
    expect(await backups.find(SNAPSHOT_ID)).toMatchObject({ id: SNAPSHOT_ID, arn: CLUSTER_SNAPSHOT_ARN, kind: 'aurora-cluster', source: CLUSTER_ID, status: 'available' });
    expect(await backups.find(`${SNAPSHOT_ID}-gone`)).toBeUndefined();
  });

  it('creates a tagged cluster snapshot of the configured cluster', async () => {
    rds.on(CreateDBClusterSnapshotCommand).resolves({ DBClusterSnapshot: { DBClusterSnapshotIdentifier: SNAPSHOT_ID, DBClusterIdentifier: CLUSTER_ID, Status: 'creating' } });
    expect(await backups.create(SNAPSHOT_ID, tags)).toMatchObject({ id: SNAPSHOT_ID, kind: 'aurora-cluster', status: 'creating' });
    expect(rds.commandCalls(CreateDBClusterSnapshotCommand)[0].args[0].input).toEqual({
      DBClusterSnapshotIdentifier: SNAPSHOT_ID,
      DBClusterIdentifier: CLUSTER_ID,
      Tags: [{ Key: 'deploy-runbook:target', Value: 'shop-api' }],
    });
  });

  it('returns the existing cluster snapshot when a concurrent attempt created it first', async () => {
    rds.on(CreateDBClusterSnapshotCommand).rejects(new DBClusterSnapshotAlreadyExistsFault({ message: 'already exists', $metadata }));
    describesClusterSnapshots(rds, { DBClusterSnapshotIdentifier: SNAPSHOT_ID, DBClusterIdentifier: CLUSTER_ID, Status: 'creating' });
    expect(await backups.create(SNAPSHOT_ID, tags)).toMatchObject({ id: SNAPSHOT_ID, status: 'creating' });
    expect(rds).toHaveReceivedCommandTimes(DescribeDBClusterSnapshotsCommand, 1);
  });

  it('fails when RDS says the cluster snapshot exists but does not list it', async () => {
    rds.on(CreateDBClusterSnapshotCommand).rejects(new DBClusterSnapshotAlreadyExistsFault({ message: 'already exists', $metadata }));
    rds.on(DescribeDBClusterSnapshotsCommand).rejects(new DBClusterSnapshotNotFoundFault({ message: 'not found', $metadata }));
    await expect(backups.create(SNAPSHOT_ID, tags)).rejects.toThrow(new SnapshotFailedError(`cluster snapshot ${SNAPSHOT_ID} was reported as existing but cannot be found`));
  });

  it('fails when the cluster is not in a state to snapshot, naming it', async () => {
    rds.on(CreateDBClusterSnapshotCommand).rejects(new InvalidDBClusterStateFault({ message: 'DB cluster is not available', $metadata }));
    await expect(backups.create(SNAPSHOT_ID, tags)).rejects.toThrow(`Aurora DB cluster ${CLUSTER_ID} is not in a state to snapshot`);
  });

  it('fails when the cluster snapshot is gone', async () => {
    rds.on(DescribeDBClusterSnapshotsCommand).rejects(new DBClusterSnapshotNotFoundFault({ message: 'not found', $metadata }));
    await expect(backups.verify(snapshotRef({ kind: 'aurora-cluster', source: CLUSTER_ID }), clusterInfo)).rejects.toThrow(
      new SnapshotFailedError(`cluster snapshot ${SNAPSHOT_ID} no longer exists`),
    );
  });

  it('verifies encryption, KMS key and source cluster', async () => {
    describesClusterSnapshots(rds, { DBClusterSnapshotIdentifier: SNAPSHOT_ID, DBClusterIdentifier: CLUSTER_ID, Status: 'available', StorageEncrypted: true, KmsKeyId: KMS_KEY });
    expect(await backups.verify(snapshotRef({ kind: 'aurora-cluster', source: CLUSTER_ID }), clusterInfo)).toEqual([
      'status is available',
      `taken from cluster ${CLUSTER_ID}`,
      'encrypted, like its source',
      `encrypted with KMS key ${KMS_KEY}`,
    ]);
  });

  it('fails verification naming every mismatch at once', async () => {
    describesClusterSnapshots(rds, { DBClusterSnapshotIdentifier: SNAPSHOT_ID, DBClusterIdentifier: 'shop-staging', Status: 'available', StorageEncrypted: false });
    await expect(backups.verify(snapshotRef({ kind: 'aurora-cluster' }), clusterInfo)).rejects.toThrow(
      new SnapshotFailedError(
        `snapshot ${SNAPSHOT_ID} failed verification: taken from cluster "shop-staging", not the configured "${CLUSTER_ID}"; ` +
          `is not encrypted although cluster ${CLUSTER_ID} is; KMS key is "none", not the configured database.kmsKeyArn "${KMS_KEY}"`,
      ),
    );
  });
});
