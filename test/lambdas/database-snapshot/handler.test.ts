import { CreateDBSnapshotCommand, DBSnapshotNotFoundFault, DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AuroraClusterBackups, RdsInstanceBackups } from '../../../adapters/aws/rds-backups';
import type { DatabaseSnapshotEvent } from '../../../core/tasks/database-snapshot/database-snapshot';
import { awsBackupsFor, handler } from '../../../lambdas/database-snapshot/handler';
import { InvalidInputError } from '../../../core/errors';
import { FakeRds } from '../../adapters/aws/fake-rds';
import { CLUSTER_ID, INSTANCE_ID, SNAPSHOT_ID, auroraConfig, config, deployment } from '../../adapters/aws/rds-fixtures';

const context = { functionName: 'database-snapshot', awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef' } as Context;

describe('database-snapshot handler', () => {
  const rds = mockClient(RDSClient);
  afterEach(() => rds.reset());
  afterAll(() => rds.restore());

  it('uses RDS instance backups of the configured instance for an rds-instance database', async () => {
    const fake = new FakeRds();
    fake.instances.set(INSTANCE_ID, { DBInstanceIdentifier: INSTANCE_ID, DBInstanceStatus: 'available', Engine: 'postgres' });
    const backups = awsBackupsFor(config().database, fake.client);

    expect(backups).toBeInstanceOf(RdsInstanceBackups);
    expect(await backups.describe()).toMatchObject({ kind: 'rds-instance', identifier: INSTANCE_ID });
  });

  it('uses Aurora cluster backups of the configured cluster for an aurora-cluster database', async () => {
    const fake = new FakeRds();
    fake.clusters.set(CLUSTER_ID, { DBClusterIdentifier: CLUSTER_ID, Status: 'available', Engine: 'aurora-postgresql' });
    const backups = awsBackupsFor(auroraConfig().database, fake.client);

    expect(backups).toBeInstanceOf(AuroraClusterBackups);
    expect(await backups.describe()).toMatchObject({ kind: 'aurora-cluster', identifier: CLUSTER_ID });
  });

  it('fails when the database kind only exists in the rehearsal', () => {
    const local = config({ database: { kind: 'postgres' } }).database;
    expect(() => awsBackupsFor(local)).toThrow(new InvalidInputError('config.database.kind "postgres" cannot be snapshotted on AWS: use rds-instance or aurora-cluster (postgres is for the local rehearsal)'));
  });

  it('parses the TakeSnapshot event and creates the snapshot through RDS', async () => {
    rds.on(DescribeDBSnapshotsCommand).rejects(new DBSnapshotNotFoundFault({ message: 'not found', $metadata: {} }));
    rds.on(CreateDBSnapshotCommand).resolves({ DBSnapshot: { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'creating' } });
    const result = await handler({ operation: 'take', config: config(), deployment }, context);
    expect(result).toMatchObject({ id: SNAPSHOT_ID, kind: 'rds-instance', source: INSTANCE_ID, status: 'creating' });
    expect(rds).toHaveReceivedCommandWith(CreateDBSnapshotCommand, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID });
  });

  it('fails when the TakeSnapshot event has no deployment', async () => {
    const incomplete = { operation: 'take', config: config() } as unknown as DatabaseSnapshotEvent;
    await expect(handler(incomplete, context)).rejects.toMatchObject({ name: 'ParseError' });
    expect(rds).not.toHaveReceivedAnyCommand();
  });
});
