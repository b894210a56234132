import {
  CreateDBInstanceCommand,
  type DBCluster,
  type DBInstance,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { AuroraClusterDrill, DRILL_EXECUTION_TAG, DRILL_OF_TAG, RdsInstanceDrill } from '../../../adapters/aws/rds-drill';
import { RESTORED_FROM_TAG } from '../../../adapters/aws/restore-progress';
import { RestoreFailedError } from '../../../core/errors';
import type { RestoreState } from '../../../core/model';
import { FakeRds, restoreLoop } from './fake-rds';
import { AURORA_WRITER, CLUSTER_ID, INSTANCE_ID, KMS_KEY, SNAPSHOT_ID, TestClock, auroraCluster, deployment, snapshotRef } from './rds-fixtures';

/** `<instance>-drill-<execution start>`: deployment.startedAt is 2025-03-14T09:00:00Z. */
const SCRATCH = 'shop-prod-db-drill-20250314090000';
const CLUSTER_SCRATCH = 'shop-prod-drill-20250314090000';
const SUFFIX = 'c9akciq32.eu-west-1.rds.amazonaws.com';
const OWN_TAGS = [
  { Key: DRILL_OF_TAG, Value: deployment.target },
  { Key: DRILL_EXECUTION_TAG, Value: deployment.executionId },
  { Key: RESTORED_FROM_TAG, Value: SNAPSHOT_ID },
];
const snapshot = snapshotRef();

function sourceInstance(): DBInstance {
  return {
    DBInstanceIdentifier: INSTANCE_ID,
    DBInstanceStatus: 'available',
    DBInstanceClass: 'db.r6g.large',
    Engine: 'postgres',
    DBSubnetGroup: { DBSubnetGroupName: 'shop-prod-private' },
    VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0a1b2c3d4e5f60718', Status: 'active' }],
    DBParameterGroups: [{ DBParameterGroupName: 'shop-postgres16', ParameterApplyStatus: 'in-sync' }],
    OptionGroupMemberships: [{ OptionGroupName: 'default:postgres-16', Status: 'in-sync' }],
    MultiAZ: true,
    StorageType: 'gp3',
    AllocatedStorage: 100,
    KmsKeyId: KMS_KEY,
    DeletionProtection: true,
    PubliclyAccessible: true,
    Endpoint: { Address: `${INSTANCE_ID}.${SUFFIX}`, Port: 5433 },
    CopyTagsToSnapshot: true,
    EnabledCloudwatchLogsExports: ['postgresql'],
    BackupRetentionPeriod: 7,
    PreferredBackupWindow: '02:00-03:00',
    TagList: [{ Key: 'backup-plan', Value: 'daily' }],
  };
}

function instanceSetup() {
  const rds = new FakeRds();
  rds.instances.set(INSTANCE_ID, sourceInstance());
  rds.snapshots.set(SNAPSHOT_ID, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available', Engine: 'postgres', Encrypted: true, KmsKeyId: KMS_KEY });
  const clock = new TestClock('2025-03-14T09:26:53.000Z');
  const drill = new RdsInstanceDrill(rds.client, INSTANCE_ID, deployment, clock);
  return { rds, clock, drill, ...restoreLoop(rds, { advance: (s, state) => drill.restoreScratch(s, state) }, clock, snapshot, 20) };
}

describe('RdsInstanceDrill: the fresh snapshot restored into a scratch instance', () => {
  it('restores into <instance>-drill-<execution start> with the source network and groups, private, unprotected, tagged as this drill, and polls until available', async () => {
    const { rds, runToDone } = instanceSetup();
    const states = await runToDone();

    expect(states.map((state) => state.phase)).toEqual(['restore', 'wait-available', 'wait-available', 'done']);
    expect(rds.callLog()).toEqual([
      `DescribeDBSnapshots ${SNAPSHOT_ID}`,
      `DescribeDBInstances ${INSTANCE_ID}`,
      `DescribeDBInstances ${SCRATCH}`,
      `RestoreDBInstanceFromDBSnapshot ${SCRATCH}`,
      `DescribeDBInstances ${SCRATCH}`,
      `DescribeDBInstances ${SCRATCH}`,
    ]);
    expect(rds.mutations()).toEqual([
      [
        'RestoreDBInstanceFromDBSnapshot',
        {
          DBInstanceClass: 'db.r6g.large',
          DBSubnetGroupName: 'shop-prod-private',
          VpcSecurityGroupIds: ['sg-0a1b2c3d4e5f60718'],
          DBParameterGroupName: 'shop-postgres16',
          OptionGroupName: 'default:postgres-16',
          StorageType: 'gp3',
          AllocatedStorage: 100,
          Port: 5433,
          DeletionProtection: false,
          PubliclyAccessible: false,
          MultiAZ: false,
          BackupRetentionPeriod: 0,
          DBInstanceIdentifier: SCRATCH,
          DBSnapshotIdentifier: SNAPSHOT_ID,
          Tags: OWN_TAGS,
        },
      ],
    ]);
    expect(states.at(-1)).toMatchObject({ phase: 'done', scratch: SCRATCH, scratchHost: `${SCRATCH}.${SUFFIX}`, failedCopy: null });
    expect(rds.instances.get(INSTANCE_ID)).toEqual(sourceInstance());
  });

  it('restores once when a call is repeated after its result was lost, at any step', async () => {
    for (let crashAt = 0; crashAt < 4; crashAt += 1) {
      const { rds, runWithLostResult } = instanceSetup();
      const done = (await runWithLostResult(crashAt, crashAt % 2 === 1)).at(-1);
      expect(done, `lost call ${crashAt + 1}`).toMatchObject({ phase: 'done', scratch: SCRATCH });
      expect(rds.mock).toHaveReceivedCommandTimes(RestoreDBInstanceFromDBSnapshotCommand, 1);
    }
  });

  it('finds its own copy again when the drill starts over from nothing: the name comes from the execution start', async () => {
    const { rds, clock, drill, runToDone } = instanceSetup();
    await runToDone();
    clock.advance(600);
    const again = await drill.restoreScratch(snapshot, null);
    const next = await drill.restoreScratch(snapshot, again);
    expect(next.steps.at(-1)?.detail).toBe(`${SCRATCH} was already being restored from ${SNAPSHOT_ID}`);
    expect(rds.mock).toHaveReceivedCommandTimes(RestoreDBInstanceFromDBSnapshotCommand, 1);
  });

  it('fails when an instance under the drill name is not tagged as this execution\'s copy, restoring nothing', async () => {
    const { rds, step } = instanceSetup();
    rds.instances.set(SCRATCH, { DBInstanceIdentifier: SCRATCH, DBInstanceStatus: 'available', TagList: [{ Key: DRILL_OF_TAG, Value: deployment.target }, { Key: DRILL_EXECUTION_TAG, Value: 'another-execution' }] });
    const captured = await step(null);
    await expect(step(captured)).rejects.toThrow(`refusing to use DB instance ${SCRATCH}: it is not tagged as this execution's drill copy (${DRILL_OF_TAG} "shop-api", ${DRILL_EXECUTION_TAG} "another-execution")`);
    expect(rds.mock).not.toHaveReceivedCommand(RestoreDBInstanceFromDBSnapshotCommand);
  });

  it('fails before anything is created when the snapshot was taken from another instance', async () => {
    const { rds, step } = instanceSetup();
    rds.snapshots.set(SNAPSHOT_ID, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: 'billing-db', Status: 'available' });
    await expect(step(null)).rejects.toThrow(`snapshot ${SNAPSHOT_ID} was taken from DB instance "billing-db", not "${INSTANCE_ID}": nothing was changed`);
    expect(rds.mutations()).toEqual([]);
  });
});

describe('RdsInstanceDrill: discarding the scratch instance', () => {
  it('deletes the copy without a final snapshot, passed or failed, and never the source', async () => {
    const { rds, clock, drill, runToDone } = instanceSetup();
    const done = (await runToDone()).at(-1) as RestoreState;
    const discarded = await drill.discardScratch(snapshot, done);

    expect(rds.mutations().slice(1)).toEqual([['DeleteDBInstance', { DBInstanceIdentifier: SCRATCH, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }]]);
    expect(discarded).toMatchObject({ phase: 'discarded', scratch: SCRATCH, finishedAt: clock.now().toISOString() });
    expect(discarded.steps.at(-1)?.detail).toBe(`deleted the drill copy ${SCRATCH}; ${INSTANCE_ID} was not touched`);
    rds.tick();
    expect(rds.instances.has(SCRATCH)).toBe(false);
    expect(rds.instances.get(INSTANCE_ID)).toEqual(sourceInstance());
  });

  it('finds the copy by its name when the drill failed before its first answer (state null)', async () => {
    const { rds, drill, runToDone } = instanceSetup();
    await runToDone();
    const discarded = await drill.discardScratch(snapshot, null);
    expect(rds.mock).toHaveReceivedCommandWith(DeleteDBInstanceCommand, { DBInstanceIdentifier: SCRATCH });
    expect(discarded).toMatchObject({ phase: 'discarded', scratch: SCRATCH });
  });

  it('deletes nothing when no copy was created, and does not delete twice', async () => {
    const { rds, drill, runToDone } = instanceSetup();
    expect((await drill.discardScratch(snapshot, null)).steps.at(-1)?.detail).toBe(`${SCRATCH} does not exist (never created, or already deleted); ${INSTANCE_ID} was not touched`);
    const done = (await runToDone()).at(-1) as RestoreState;
    await drill.discardScratch(snapshot, done);
    const again = await drill.discardScratch(snapshot, done);
    expect(again.steps.at(-1)?.detail).toBe(`${SCRATCH} was already being deleted; ${INSTANCE_ID} was not touched`);
    expect(rds.mock).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
  });

  it.each([
    ['the live instance', INSTANCE_ID],
    ["another execution's drill copy", 'shop-prod-db-drill-20250313090000'],
    ['a name that is not a drill copy', 'shop-prod-db-failed-20250314090000'],
  ])('fails when asked to delete %s, naming it, and deletes nothing', async (_what, named) => {
    const { rds, drill, runToDone } = instanceSetup();
    const done = (await runToDone()).at(-1) as RestoreState;
    const attempt = drill.discardScratch(snapshot, { ...done, scratch: named });
    await expect(attempt).rejects.toThrow(RestoreFailedError);
    await expect(drill.discardScratch(snapshot, { ...done, scratch: named })).rejects.toThrow(`refusing to delete DB instance "${named}": the drill of ${SNAPSHOT_ID} only deletes its own copy ${SCRATCH}, never ${INSTANCE_ID}`);
    expect(rds.mock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('fails when the instance under the drill name lacks this execution\'s tag, and deletes nothing', async () => {
    const { rds, drill } = instanceSetup();
    rds.instances.set(SCRATCH, { DBInstanceIdentifier: SCRATCH, DBInstanceStatus: 'available', TagList: [{ Key: 'team', Value: 'checkout' }] });
    await expect(drill.discardScratch(snapshot, null)).rejects.toThrow(`refusing to delete DB instance ${SCRATCH}: it is not tagged as this execution's drill copy (${DRILL_OF_TAG} "missing", ${DRILL_EXECUTION_TAG} "missing")`);
    expect(rds.mock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });
});

const clusterSnapshot = snapshotRef({ kind: 'aurora-cluster', source: CLUSTER_ID });

function sourceCluster(): DBCluster {
  return auroraCluster({
    StorageEncrypted: undefined,
    IAMDatabaseAuthenticationEnabled: undefined,
    EnabledCloudwatchLogsExports: undefined,
    ServerlessV2ScalingConfiguration: undefined,
    DBClusterMembers: [{ DBInstanceIdentifier: AURORA_WRITER, IsClusterWriter: true }],
    TagList: [{ Key: 'team', Value: 'checkout' }],
  });
}

function clusterSetup() {
  const rds = new FakeRds();
  rds.clusters.set(CLUSTER_ID, sourceCluster());
  rds.instances.set('shop-prod-writer', {
    DBInstanceIdentifier: 'shop-prod-writer',
    DBInstanceStatus: 'available',
    DBInstanceClass: 'db.r6g.large',
    Engine: 'aurora-postgresql',
    DBClusterIdentifier: CLUSTER_ID,
    DBParameterGroups: [{ DBParameterGroupName: 'shop-aurora-instance-pg16', ParameterApplyStatus: 'in-sync' }],
    PubliclyAccessible: true,
    TagList: [{ Key: 'team', Value: 'checkout' }],
  });
  rds.clusterSnapshots.set(SNAPSHOT_ID, { DBClusterSnapshotIdentifier: SNAPSHOT_ID, DBClusterIdentifier: CLUSTER_ID, Status: 'available', Engine: 'aurora-postgresql', StorageEncrypted: true, KmsKeyId: KMS_KEY });
  const clock = new TestClock('2025-03-14T09:26:53.000Z');
  const drill = new AuroraClusterDrill(rds.client, CLUSTER_ID, deployment, clock);
  return { rds, clock, drill, ...restoreLoop(rds, { advance: (s, state) => drill.restoreScratch(s, state) }, clock, clusterSnapshot, 20) };
}

describe('AuroraClusterDrill: the fresh cluster snapshot restored into a scratch cluster with one writer', () => {
  it('restores the cluster and creates its writer with the source network and groups, private, unprotected, tagged; checks reach the cluster endpoint', async () => {
    const { rds, runToDone } = clusterSetup();
    const states = await runToDone();

    expect(states.map((state) => state.phase)).toEqual(['restore-cluster', 'wait-cluster-available', 'create-writer', 'wait-writer-available', 'done']);
    expect(rds.mutations()).toEqual([
      [
        'RestoreDBClusterFromSnapshot',
        {
          Engine: 'aurora-postgresql',
          EngineVersion: '16.4',
          DBSubnetGroupName: 'shop-prod-private',
          VpcSecurityGroupIds: ['sg-0a1b2c3d4e5f60718'],
          DBClusterParameterGroupName: 'shop-aurora-pg16',
          KmsKeyId: KMS_KEY,
          DeletionProtection: false,
          Port: 5432,
          DBClusterIdentifier: CLUSTER_SCRATCH,
          SnapshotIdentifier: SNAPSHOT_ID,
          Tags: OWN_TAGS,
        },
      ],
      [
        'CreateDBInstance',
        {
          DBInstanceClass: 'db.r6g.large',
          Engine: 'aurora-postgresql',
          DBParameterGroupName: 'shop-aurora-instance-pg16',
          PubliclyAccessible: false,
          DBInstanceIdentifier: CLUSTER_SCRATCH,
          DBClusterIdentifier: CLUSTER_SCRATCH,
          Tags: OWN_TAGS,
        },
      ],
    ]);
    expect(states.at(-1)).toMatchObject({ phase: 'done', scratch: CLUSTER_SCRATCH, scratchHost: `${CLUSTER_SCRATCH}.cluster-${SUFFIX}` });
    expect(rds.clusters.get(CLUSTER_ID)).toEqual(sourceCluster());
  });

  it('creates the cluster and the writer once when calls are repeated after lost results', async () => {
    for (let crashAt = 0; crashAt < 4; crashAt += 1) {
      const { rds, runWithLostResult } = clusterSetup();
      expect((await runWithLostResult(crashAt, crashAt % 2 === 0)).at(-1), `lost call ${crashAt + 1}`).toMatchObject({ phase: 'done' });
      expect(rds.mock).toHaveReceivedCommandTimes(RestoreDBClusterFromSnapshotCommand, 1);
      expect(rds.mock).toHaveReceivedCommandTimes(CreateDBInstanceCommand, 1);
    }
  });

  it('deletes the writer, then the cluster, without final snapshots; the source cluster is untouched', async () => {
    const { rds, drill, runToDone } = clusterSetup();
    const done = (await runToDone()).at(-1) as RestoreState;
    const discarded = await drill.discardScratch(clusterSnapshot, done);

    expect(rds.mutations().slice(2)).toEqual([
      ['DeleteDBInstance', { DBInstanceIdentifier: CLUSTER_SCRATCH, SkipFinalSnapshot: true }],
      ['DeleteDBCluster', { DBClusterIdentifier: CLUSTER_SCRATCH, SkipFinalSnapshot: true }],
    ]);
    expect(discarded.steps.at(-1)?.detail).toBe(`deleted writer ${CLUSTER_SCRATCH}, deleted the drill copy cluster ${CLUSTER_SCRATCH}; ${CLUSTER_ID} was not touched`);
    rds.tick();
    expect([rds.clusters.has(CLUSTER_SCRATCH), rds.instances.has(CLUSTER_SCRATCH)]).toEqual([false, false]);
    expect(rds.clusters.get(CLUSTER_ID)).toEqual(sourceCluster());
  });

  it('deletes the cluster alone when the drill failed before its writer existed', async () => {
    const { rds, drill, runTo } = clusterSetup();
    const waiting = await runTo('create-writer');
    await drill.discardScratch(clusterSnapshot, waiting);
    expect(rds.mutations().slice(1)).toEqual([['DeleteDBCluster', { DBClusterIdentifier: CLUSTER_SCRATCH, SkipFinalSnapshot: true }]]);
  });

  it('fails when an instance under the drill name sits in another cluster, and deletes nothing', async () => {
    const { rds, drill } = clusterSetup();
    rds.instances.set(CLUSTER_SCRATCH, { DBInstanceIdentifier: CLUSTER_SCRATCH, DBInstanceStatus: 'available', DBClusterIdentifier: CLUSTER_ID, TagList: OWN_TAGS });
    await expect(drill.discardScratch(clusterSnapshot, null)).rejects.toThrow(`refusing to delete DB instance ${CLUSTER_SCRATCH}: it belongs to cluster "${CLUSTER_ID}", not the drill copy ${CLUSTER_SCRATCH}`);
    expect(rds.mock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(rds.mock).not.toHaveReceivedCommand(DeleteDBClusterCommand);
  });

  it('fails when asked to delete the live cluster, naming it', async () => {
    const { rds, drill } = clusterSetup();
    await expect(drill.discardScratch(clusterSnapshot, { restored: false, decision: 'restoring', phase: 'done', failedCopy: null, scratch: CLUSTER_ID, snapshotId: SNAPSHOT_ID, steps: [], startedAt: null, finishedAt: null })).rejects.toThrow(
      `refusing to delete DB cluster "${CLUSTER_ID}": the drill of ${SNAPSHOT_ID} only deletes its own copy ${CLUSTER_SCRATCH}, never ${CLUSTER_ID}`,
    );
    expect(rds.mutations()).toEqual([]);
  });
});
