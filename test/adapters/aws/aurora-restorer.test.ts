import {
  CreateDBInstanceCommand,
  type DBCluster,
  DBClusterQuotaExceededFault,
  type DBInstance,
  InstanceQuotaExceededFault,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  RestoreDBClusterFromSnapshotCommand,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { AuroraClusterRestorer, captureClusterSettings } from '../../../adapters/aws/aurora-restorer';
import { RESTORED_FROM_TAG } from '../../../adapters/aws/restore-progress';
import { RestoreFailedError } from '../../../core/errors';
import type { RestoreState } from '../../../core/model';
import { FakeRds, restoreLoop } from './fake-rds';
import { AURORA_READER, AURORA_WRITER, CLUSTER_ID, KMS_KEY, SNAPSHOT_ID, TestClock, auroraCluster, auroraDatabase, snapshotRef } from './rds-fixtures';

const $metadata = {};
const WRITER = AURORA_WRITER;
const READER = AURORA_READER;
const FAILED_CLUSTER = 'shop-prod-failed-20250314092653';
const FAILED_WRITER = 'shop-prod-writer-failed-20250314092653';
const snapshot = snapshotRef({ kind: 'aurora-cluster', source: CLUSTER_ID, arn: `arn:aws:rds:eu-west-1:123456789012:cluster-snapshot:${SNAPSHOT_ID}` });

function clusterInstance(id: string, overrides: Partial<DBInstance> = {}): DBInstance {
  return {
    DBInstanceIdentifier: id,
    DBInstanceStatus: 'available',
    DBInstanceClass: 'db.serverless',
    Engine: 'aurora-postgresql',
    DBClusterIdentifier: CLUSTER_ID,
    DBParameterGroups: [{ DBParameterGroupName: 'shop-aurora-instance-pg16', ParameterApplyStatus: 'in-sync' }],
    PubliclyAccessible: false,
    AutoMinorVersionUpgrade: true,
    TagList: [{ Key: 'team', Value: 'checkout' }],
    ...overrides,
  };
}

function setup(cluster: DBCluster = auroraCluster()) {
  const rds = new FakeRds();
  rds.clusters.set(CLUSTER_ID, cluster);
  rds.instances.set(WRITER, clusterInstance(WRITER));
  rds.instances.set(READER, clusterInstance(READER));
  rds.clusterSnapshots.set(SNAPSHOT_ID, {
    DBClusterSnapshotIdentifier: SNAPSHOT_ID,
    DBClusterIdentifier: CLUSTER_ID,
    Status: 'available',
    Engine: 'aurora-postgresql',
    StorageEncrypted: true,
    KmsKeyId: KMS_KEY,
  });
  const clock = new TestClock('2025-03-14T09:26:53.000Z');
  const restorer = new AuroraClusterRestorer(rds.client, auroraDatabase, clock);
  return { rds, clock, restorer, ...restoreLoop(rds, restorer, clock, snapshot, 30) };
}

describe('AuroraClusterRestorer: the rename-swap', () => {
  it('moves the cluster and its writer aside, restores the cluster, adds the writer and verifies, one change per call', async () => {
    const { rds, runToDone } = setup();
    const states = await runToDone();

    expect(states.map((state) => state.phase)).toEqual([
      'rename-cluster',
      'wait-cluster-renamed',
      'wait-cluster-renamed',
      'rename-writer',
      'wait-writer-renamed',
      'wait-writer-renamed',
      'restore-cluster',
      'wait-cluster-available',
      'create-writer',
      'wait-writer-available',
      'verify',
      'done',
    ]);
    expect(rds.mutations()).toEqual([
      ['ModifyDBCluster', { DBClusterIdentifier: CLUSTER_ID, NewDBClusterIdentifier: FAILED_CLUSTER, ApplyImmediately: true }],
      ['ModifyDBInstance', { DBInstanceIdentifier: WRITER, NewDBInstanceIdentifier: FAILED_WRITER, ApplyImmediately: true }],
      [
        'RestoreDBClusterFromSnapshot',
        {
          Engine: 'aurora-postgresql',
          EngineVersion: '16.4',
          DBSubnetGroupName: 'shop-prod-private',
          VpcSecurityGroupIds: ['sg-0a1b2c3d4e5f60718'],
          DBClusterParameterGroupName: 'shop-aurora-pg16',
          KmsKeyId: KMS_KEY,
          DeletionProtection: true,
          Port: 5432,
          EnableIAMDatabaseAuthentication: false,
          CopyTagsToSnapshot: true,
          EnableCloudwatchLogsExports: ['postgresql'],
          BackupRetentionPeriod: 14,
          PreferredBackupWindow: '01:00-02:00',
          ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 16 },
          DBClusterIdentifier: CLUSTER_ID,
          SnapshotIdentifier: SNAPSHOT_ID,
          Tags: [
            { Key: 'team', Value: 'checkout' },
            { Key: RESTORED_FROM_TAG, Value: SNAPSHOT_ID },
          ],
        },
      ],
      [
        'CreateDBInstance',
        {
          DBInstanceIdentifier: WRITER,
          DBInstanceClass: 'db.serverless',
          Engine: 'aurora-postgresql',
          DBParameterGroupName: 'shop-aurora-instance-pg16',
          PubliclyAccessible: false,
          AutoMinorVersionUpgrade: true,
          DBClusterIdentifier: CLUSTER_ID,
          Tags: [
            { Key: 'team', Value: 'checkout' },
            { Key: RESTORED_FROM_TAG, Value: SNAPSHOT_ID },
          ],
        },
      ],
    ]);
  });

  it('reports where the broken cluster was kept and each step with its time', async () => {
    const { rds, runToDone } = setup();
    const done = (await runToDone()).at(-1) as RestoreState;
    expect(done).toMatchObject({ restored: true, decision: 'restored', failedCopy: FAILED_CLUSTER, snapshotId: SNAPSHOT_ID, finishedAt: '2025-03-14T09:32:23.000Z' });
    expect(done.steps.map((s) => [s.phase, s.at])).toEqual([
      ['capture', '2025-03-14T09:26:53.000Z'],
      ['rename-cluster', '2025-03-14T09:27:23.000Z'],
      ['wait-cluster-renamed', '2025-03-14T09:28:23.000Z'],
      ['rename-writer', '2025-03-14T09:28:53.000Z'],
      ['wait-writer-renamed', '2025-03-14T09:29:53.000Z'],
      ['restore-cluster', '2025-03-14T09:30:23.000Z'],
      ['wait-cluster-available', '2025-03-14T09:30:53.000Z'],
      ['create-writer', '2025-03-14T09:31:23.000Z'],
      ['wait-writer-available', '2025-03-14T09:31:53.000Z'],
      ['verify', '2025-03-14T09:32:23.000Z'],
    ]);
    expect(done.steps[0].detail).toBe(`captured the settings of ${CLUSTER_ID} and its writer ${WRITER} (db.serverless); they will be kept as ${FAILED_CLUSTER} and ${FAILED_WRITER}`);
    expect(rds.clusters.get(FAILED_CLUSTER)?.DBClusterMembers).toEqual([
      { DBInstanceIdentifier: READER, IsClusterWriter: false },
      { DBInstanceIdentifier: FAILED_WRITER, IsClusterWriter: true },
    ]);
    expect(rds.clusters.get(CLUSTER_ID)?.DBClusterMembers).toEqual([{ DBInstanceIdentifier: WRITER, IsClusterWriter: true }]);
  });

  describe('after a crash, the repeated call changes nothing twice', () => {
    const CALLS = 12;
    for (const retry of ['at once', 'after a wait'] as const) {
      for (let crashAt = 0; crashAt < CALLS; crashAt += 1) {
        it(`repeats call ${crashAt + 1} ${retry}`, async () => {
          const { rds, runWithLostResult } = setup();
          expect((await runWithLostResult(crashAt, retry === 'after a wait')).at(-1)).toMatchObject({ phase: 'done', restored: true });
          expect(rds.mock).toHaveReceivedCommandTimes(ModifyDBClusterCommand, 1);
          expect(rds.mock).toHaveReceivedCommandTimes(ModifyDBInstanceCommand, 1);
          expect(rds.mock).toHaveReceivedCommandTimes(RestoreDBClusterFromSnapshotCommand, 1);
          expect(rds.mock).toHaveReceivedCommandTimes(CreateDBInstanceCommand, 1);
        });
      }
    }
  });
});

describe('AuroraClusterRestorer: failures', () => {
  it('fails when the cluster snapshot is missing, before touching the cluster', async () => {
    const { rds, restorer } = setup();
    rds.clusterSnapshots.clear();
    await expect(restorer.advance(snapshot, null)).rejects.toThrow(
      new RestoreFailedError(`cluster snapshot ${SNAPSHOT_ID} does not exist (DBClusterSnapshotNotFound): nothing was changed`),
    );
    expect(rds.mutations()).toEqual([]);
  });

  it('fails when the cluster has no writer to copy', async () => {
    const { rds, restorer } = setup(auroraCluster({ DBClusterMembers: [] }));
    await expect(restorer.advance(snapshot, null)).rejects.toThrow(`DB cluster ${CLUSTER_ID} has no writer instance to copy: nothing was changed`);
    expect(rds.mutations()).toEqual([]);
  });

  it('fails when the cluster cannot read its KMS key, naming the status', async () => {
    const { step } = setup(auroraCluster({ Status: 'inaccessible-encryption-credentials' }));
    const captured = await step(null);
    await expect(step(captured)).rejects.toThrow(`cannot rename DB cluster ${CLUSTER_ID}: it is in status "inaccessible-encryption-credentials"`);
  });

  it('fails when the cluster quota is exceeded', async () => {
    const { rds, runTo, step } = setup();
    rds.mock.on(RestoreDBClusterFromSnapshotCommand).rejects(new DBClusterQuotaExceededFault({ message: 'DB cluster quota exceeded', $metadata }));
    const state = await runTo('restore-cluster');
    await expect(step(state)).rejects.toThrow(`cannot restore DB cluster ${CLUSTER_ID} from ${SNAPSHOT_ID}: an account quota is exceeded (DBClusterQuotaExceededFault: DB cluster quota exceeded)`);
  });

  it('fails when the instance quota is exceeded for the new writer', async () => {
    const { rds, runTo, step } = setup();
    rds.mock.on(CreateDBInstanceCommand).rejects(new InstanceQuotaExceededFault({ message: 'DB instance quota exceeded', $metadata }));
    const state = await runTo('create-writer');
    await expect(step(state)).rejects.toThrow(RestoreFailedError);
  });

  it('refuses to touch an instance that took the writer name meanwhile', async () => {
    const { rds, runTo, step } = setup();
    const state = await runTo('create-writer');
    rds.instances.set(WRITER, clusterInstance(WRITER, { DBClusterIdentifier: 'shop-other' }));
    await expect(step(state)).rejects.toThrow(`DB instance ${WRITER} exists again but is not the writer this restore created in ${CLUSTER_ID}: refusing to touch it`);
    expect(rds.mock).not.toHaveReceivedCommand(CreateDBInstanceCommand);
  });

  it('refuses to touch a cluster that took the original name meanwhile', async () => {
    const { rds, runTo, step } = setup();
    const state = await runTo('restore-cluster');
    rds.clusters.set(CLUSTER_ID, auroraCluster({ TagList: [] }));
    await expect(step(state)).rejects.toThrow(`DB cluster ${CLUSTER_ID} exists again but was not restored from snapshot ${SNAPSHOT_ID}: refusing to touch it`);
  });

  it('fails verification when the new instance is not the writer', async () => {
    const { rds, runTo, step } = setup();
    const state = await runTo('verify');
    (rds.clusters.get(CLUSTER_ID) as DBCluster).DBClusterMembers = [{ DBInstanceIdentifier: WRITER, IsClusterWriter: false }];
    await expect(step(state)).rejects.toThrow(`the restored DB cluster ${CLUSTER_ID} failed verification: ${WRITER} is not its writer`);
  });
});

describe('copied cluster settings', () => {
  it('leaves out what the cluster does not use', () => {
    const settings = captureClusterSettings(auroraCluster({ ServerlessV2ScalingConfiguration: undefined, EnabledCloudwatchLogsExports: [], KmsKeyId: undefined }));
    expect(settings).not.toHaveProperty('ServerlessV2ScalingConfiguration');
    expect(settings).not.toHaveProperty('EnableCloudwatchLogsExports');
    expect(settings).not.toHaveProperty('KmsKeyId');
  });
});
