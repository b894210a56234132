import {
  type DBCluster,
  type DBClusterSnapshot,
  DBClusterSnapshotNotFoundFault,
  type DBSnapshot,
  DBSnapshotNotFoundFault,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { parseConfig } from '../../../config/load';
import type { RunbookConfig, RunbookConfigInput } from '../../../config/schema';
import exampleConfig from '../../../config/example.json';
import type { AuroraClusterDatabaseConfig, RdsInstanceDatabaseConfig } from '../../../adapters/aws/rds-backups';
import type { Clock } from '../../../core/ports/clock';
import type { DatabaseInfo, Deployment, Execution, Preflight, SnapshotRef } from '../../../core/model';
import { deploymentFor, snapshotRefOf } from '../../support/builders';

/** Shared by the snapshot, alarm and restore tests: the example target on an RDS instance or an Aurora cluster. */

export const region = 'eu-west-1';
export const credentials = { accessKeyId: 'AKIDTESTONLY', secretAccessKey: 'test-secret-not-real' };
export const clientConfig = { region, credentials };

export const KMS_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/0c6e4bd4-53b5-4e7f-9a1c-6a1d2f9e8b11';
export const OTHER_KMS_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/99999999-0000-4000-8000-000000000000';
export const INSTANCE_ID = 'shop-prod-db';
export const CLUSTER_ID = 'shop-prod';
export const SNAPSHOT_ID = 'deploy-runbook-8-shop-api-release-v1-5-0-1a2b3c4d';

export function config(overrides: Partial<RunbookConfigInput> = {}): RunbookConfig {
  return parseConfig({ ...exampleConfig, ...overrides });
}

export const auroraConfig = (): RunbookConfig =>
  config({ database: { kind: 'aurora-cluster', clusterIdentifier: CLUSTER_ID, kmsKeyArn: KMS_KEY } });

export const rdsDatabase = config().database as RdsInstanceDatabaseConfig;
export const auroraDatabase = auroraConfig().database as AuroraClusterDatabaseConfig;

/** A clock the test moves: each `advance` is a Wait state passing. */
export class TestClock implements Clock {
  private current: Date;
  constructor(start = '2025-03-14T09:26:53.000Z') {
    this.current = new Date(start);
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

export const deployment: Deployment = deploymentFor(
  { id: 'arn:aws:states:eu-west-1:123456789012:execution:shop-api-runbook:release-v1.5.0', name: 'release-v1.5.0', startedAt: '2025-03-14T09:00:00.000Z' },
  { id: 'release-v1-5-0-1a2b3c4d', version: 'v1.5.0', requestedBy: 'ci' },
);

export const execution: Execution = {
  id: deployment.executionId,
  name: 'release-v1.5.0',
  startedAt: deployment.startedAt,
};

export const instanceInfo: DatabaseInfo = {
  kind: 'rds-instance',
  identifier: INSTANCE_ID,
  arn: `arn:aws:rds:eu-west-1:123456789012:db:${INSTANCE_ID}`,
  engine: 'postgres',
  engineVersion: '16.4',
  status: 'available',
  encrypted: true,
  sizeBytes: 100 * 1024 ** 3,
};

export function preflight(database: DatabaseInfo | null = instanceInfo): Preflight {
  return {
    running: { version: 'v1.4.2', image: null, ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:41' },
    baseline: { takenAt: '2025-03-14T09:01:00.000Z', alarms: [], metrics: [] },
    database,
    checks: [],
    checkedAt: '2025-03-14T09:01:00.000Z',
  };
}

export function snapshotRef(overrides: Partial<SnapshotRef> = {}): SnapshotRef {
  return snapshotRefOf(SNAPSHOT_ID, { source: INSTANCE_ID, ...overrides });
}

/**
 * DescribeDBSnapshots as RDS answers it: each snapshot only to its own identifier, DBSnapshotNotFound to
 * any other, so a describe of the wrong identifier fails the test instead of finding the snapshot anyway.
 */
export function describesSnapshots(rds: AwsClientStub<RDSClient>, ...snapshots: DBSnapshot[]): void {
  rds.on(DescribeDBSnapshotsCommand).callsFake(async ({ DBSnapshotIdentifier: id }) => {
    const found = snapshots.find((snapshot) => snapshot.DBSnapshotIdentifier === id);
    if (!found) throw new DBSnapshotNotFoundFault({ message: `DBSnapshot ${id} not found.`, $metadata: {} });
    return { DBSnapshots: [found] };
  });
}

/** DescribeDBClusterSnapshots as RDS answers it: each cluster snapshot only to its own identifier. */
export function describesClusterSnapshots(rds: AwsClientStub<RDSClient>, ...snapshots: DBClusterSnapshot[]): void {
  rds.on(DescribeDBClusterSnapshotsCommand).callsFake(async ({ DBClusterSnapshotIdentifier: id }) => {
    const found = snapshots.find((snapshot) => snapshot.DBClusterSnapshotIdentifier === id);
    if (!found) throw new DBClusterSnapshotNotFoundFault({ message: `DBClusterSnapshot ${id} not found.`, $metadata: {} });
    return { DBClusterSnapshots: [found] };
  });
}

/** The writer and a reader of the Aurora cluster the fixtures describe. */
export const AURORA_WRITER = 'shop-prod-writer';
export const AURORA_READER = 'shop-prod-reader-1';

/** The source Aurora cluster, as DescribeDBClusters answers it: settings a restore or a drill must carry over. */
export function auroraCluster(overrides: Partial<DBCluster> = {}): DBCluster {
  return {
    DBClusterIdentifier: CLUSTER_ID,
    Status: 'available',
    Engine: 'aurora-postgresql',
    EngineVersion: '16.4',
    DBSubnetGroup: 'shop-prod-private',
    VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0a1b2c3d4e5f60718', Status: 'active' }],
    DBClusterParameterGroup: 'shop-aurora-pg16',
    KmsKeyId: KMS_KEY,
    StorageEncrypted: true,
    DeletionProtection: true,
    Port: 5432,
    IAMDatabaseAuthenticationEnabled: false,
    CopyTagsToSnapshot: true,
    EnabledCloudwatchLogsExports: ['postgresql'],
    BackupRetentionPeriod: 14,
    PreferredBackupWindow: '01:00-02:00',
    ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 16 },
    Endpoint: `${CLUSTER_ID}.cluster-c9akciq32.eu-west-1.rds.amazonaws.com`,
    DBClusterMembers: [
      { DBInstanceIdentifier: AURORA_READER, IsClusterWriter: false },
      { DBInstanceIdentifier: AURORA_WRITER, IsClusterWriter: true },
    ],
    TagList: [
      { Key: 'team', Value: 'checkout' },
      { Key: 'aws:cloudformation:stack-name', Value: 'shop-data' },
    ],
    ...overrides,
  };
}
