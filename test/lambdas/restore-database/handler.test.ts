import { DescribeDBInstancesCommand, ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AuroraClusterRestorer } from '../../../adapters/aws/aurora-restorer';
import { RdsInstanceRestorer } from '../../../adapters/aws/rds-restorer';
import { awsRestorerFor, handler } from '../../../lambdas/restore-database/handler';
import { InvalidInputError } from '../../../core/errors';
import { FakeRds } from '../../adapters/aws/fake-rds';
import { CLUSTER_ID, INSTANCE_ID, SNAPSHOT_ID, auroraConfig, clientConfig, config, deployment, describesSnapshots, snapshotRef } from '../../adapters/aws/rds-fixtures';

const WRITER = `${CLUSTER_ID}-writer`;
const mock = mockClient(RDSClient);
afterEach(() => mock.reset());
afterAll(() => mock.restore());

describe('restore-database handler', () => {
  const client = new RDSClient(clientConfig);

  it('restores an rds-instance database with the RDS instance restorer, starting from the configured instance', async () => {
    const fake = new FakeRds();
    fake.instances.set(INSTANCE_ID, { DBInstanceIdentifier: INSTANCE_ID, DBInstanceStatus: 'available', Engine: 'postgres' });
    fake.snapshots.set(SNAPSHOT_ID, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available' });
    const restorer = awsRestorerFor(config().database, fake.client);

    expect(restorer).toBeInstanceOf(RdsInstanceRestorer);
    await restorer.advance(snapshotRef(), null);
    expect(fake.callLog()).toEqual(expect.arrayContaining([`DescribeDBSnapshots ${SNAPSHOT_ID}`, `DescribeDBInstances ${INSTANCE_ID}`]));
  });

  it('restores an aurora-cluster database with the Aurora cluster restorer, starting from the configured cluster', async () => {
    const fake = new FakeRds();
    fake.clusters.set(CLUSTER_ID, { DBClusterIdentifier: CLUSTER_ID, Status: 'available', Engine: 'aurora-postgresql', DBClusterMembers: [{ DBInstanceIdentifier: WRITER, IsClusterWriter: true }] });
    fake.instances.set(WRITER, { DBInstanceIdentifier: WRITER, DBInstanceStatus: 'available', DBClusterIdentifier: CLUSTER_ID, Engine: 'aurora-postgresql' });
    fake.clusterSnapshots.set(SNAPSHOT_ID, { DBClusterSnapshotIdentifier: SNAPSHOT_ID, DBClusterIdentifier: CLUSTER_ID, Status: 'available' });
    const restorer = awsRestorerFor(auroraConfig().database, fake.client);

    expect(restorer).toBeInstanceOf(AuroraClusterRestorer);
    await restorer.advance(snapshotRef({ kind: 'aurora-cluster', source: CLUSTER_ID }), null);
    expect(fake.callLog()).toEqual(expect.arrayContaining([`DescribeDBClusterSnapshots ${SNAPSHOT_ID}`, `DescribeDBClusters ${CLUSTER_ID}`]));
  });

  it('fails when the database kind only exists in the rehearsal', () => {
    expect(() => awsRestorerFor(config({ database: { kind: 'postgres' } }).database, client)).toThrow(InvalidInputError);
    expect(() => awsRestorerFor(null, client)).toThrow('config.database.kind "none" cannot be restored on AWS');
  });
});

describe('restore-database handler, invoked', () => {
  it('parses the AdvanceRestore event and takes the first step of the swap', async () => {
    describesSnapshots(mock, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available' });
    mock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: INSTANCE_ID, DBInstanceStatus: 'available', DBInstanceClass: 'db.t4g.medium' }] });
    const context = { functionName: 'restore-database', awsRequestId: '3b1f0c2a-9d8e-4f7a-b6c5-4d3e2f1a0b9c' } as Context;
    const result = await handler({ config: config(), deployment, snapshot: snapshotRef(), restore: null }, context);
    expect(result).toMatchObject({ decision: 'restoring', phase: 'rename', snapshotId: SNAPSHOT_ID, failedCopy: expect.stringMatching(/^shop-prod-db-failed-\d{14}$/) });
    expect(mock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });
});
