import { describe, expect, it } from 'vitest';
import { AuroraClusterRestorer } from '../../../adapters/aws/aurora-restorer';
import { AuroraClusterBackups, RdsInstanceBackups } from '../../../adapters/aws/rds-backups';
import { awsDatabaseAdapters } from '../../../adapters/aws/rds-database-adapters';
import { RdsInstanceRestorer } from '../../../adapters/aws/rds-restorer';
import { FakeRds } from './fake-rds';
import { CLUSTER_ID, INSTANCE_ID, SNAPSHOT_ID, auroraConfig, config, snapshotRef } from './rds-fixtures';

const WRITER = `${CLUSTER_ID}-writer`;

describe('awsDatabaseAdapters', () => {
  it('pairs instance snapshots with the instance restorer for an rds-instance database, both on the configured instance', async () => {
    const rds = new FakeRds();
    rds.instances.set(INSTANCE_ID, { DBInstanceIdentifier: INSTANCE_ID, DBInstanceStatus: 'available', Engine: 'postgres' });
    rds.snapshots.set(SNAPSHOT_ID, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available' });
    const adapters = awsDatabaseAdapters(config().database, rds.client);

    expect(adapters?.backups).toBeInstanceOf(RdsInstanceBackups);
    expect(adapters?.restorer).toBeInstanceOf(RdsInstanceRestorer);
    await adapters?.restorer.advance(snapshotRef(), null);
    expect(rds.callLog()).toEqual(expect.arrayContaining([`DescribeDBSnapshots ${SNAPSHOT_ID}`, `DescribeDBInstances ${INSTANCE_ID}`]));
    expect(await adapters?.backups.describe()).toMatchObject({ kind: 'rds-instance', identifier: INSTANCE_ID, status: 'available' });
  });

  it('pairs cluster snapshots with the cluster restorer for an aurora-cluster database, both on the configured cluster', async () => {
    const rds = new FakeRds();
    rds.clusters.set(CLUSTER_ID, { DBClusterIdentifier: CLUSTER_ID, Status: 'available', Engine: 'aurora-postgresql', DBClusterMembers: [{ DBInstanceIdentifier: WRITER, IsClusterWriter: true }] });
    rds.instances.set(WRITER, { DBInstanceIdentifier: WRITER, DBInstanceStatus: 'available', DBClusterIdentifier: CLUSTER_ID, Engine: 'aurora-postgresql' });
    rds.clusterSnapshots.set(SNAPSHOT_ID, { DBClusterSnapshotIdentifier: SNAPSHOT_ID, DBClusterIdentifier: CLUSTER_ID, Status: 'available' });
    const adapters = awsDatabaseAdapters(auroraConfig().database, rds.client);

    expect(adapters?.backups).toBeInstanceOf(AuroraClusterBackups);
    expect(adapters?.restorer).toBeInstanceOf(AuroraClusterRestorer);
    await adapters?.restorer.advance(snapshotRef({ kind: 'aurora-cluster', source: CLUSTER_ID }), null);
    expect(rds.callLog()).toEqual(expect.arrayContaining([`DescribeDBClusterSnapshots ${SNAPSHOT_ID}`, `DescribeDBClusters ${CLUSTER_ID}`]));
    expect(await adapters?.backups.describe()).toMatchObject({ kind: 'aurora-cluster', identifier: CLUSTER_ID, status: 'available' });
  });

  it('has none for the rehearsal-only postgres kind or without a database', () => {
    const rds = new FakeRds();
    expect(awsDatabaseAdapters(config({ database: { kind: 'postgres' } }).database, rds.client)).toBeUndefined();
    expect(awsDatabaseAdapters(null, rds.client)).toBeUndefined();
  });
});
