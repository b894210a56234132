import { DescribeDBInstancesCommand, ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { AuroraClusterRestorer } from '../../../lambdas/adapters/aws/aurora-restorer';
import { RdsInstanceRestorer } from '../../../lambdas/adapters/aws/rds-restorer';
import { awsRestorerFor, handler } from '../../../lambdas/restore-database/handler';
import { InvalidInputError } from '../../../lambdas/shared/errors';
import { INSTANCE_ID, SNAPSHOT_ID, auroraConfig, clientConfig, config, deployment, describesSnapshots, execution, snapshotRef } from '../adapters/rds-fixtures';

describe('restore-database handler', () => {
  const client = new RDSClient(clientConfig);

  it('restores an rds-instance database with the RDS instance restorer', () => {
    expect(awsRestorerFor(config().database, client)).toBeInstanceOf(RdsInstanceRestorer);
  });

  it('restores an aurora-cluster database with the Aurora cluster restorer', () => {
    expect(awsRestorerFor(auroraConfig().database, client)).toBeInstanceOf(AuroraClusterRestorer);
  });

  it('fails when the database kind only exists in the rehearsal', () => {
    expect(() => awsRestorerFor(config({ database: { kind: 'postgres' } }).database, client)).toThrow(InvalidInputError);
    expect(() => awsRestorerFor(null, client)).toThrow('config.database.kind "none" cannot be restored on AWS');
  });
});

describe('restore-database handler, invoked', () => {
  const mock = mockClient(RDSClient);
  afterAll(() => mock.restore());

  it('parses the AdvanceRestore event and takes the first step of the swap', async () => {
    describesSnapshots(mock, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available' });
    mock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: INSTANCE_ID, DBInstanceStatus: 'available', DBInstanceClass: 'db.t4g.medium' }] });
    const context = { functionName: 'restore-database', awsRequestId: '3b1f0c2a-9d8e-4f7a-b6c5-4d3e2f1a0b9c' } as Context;
    const result = await handler({ config: config(), deployment, snapshot: snapshotRef(), restore: null, execution }, context);
    expect(result).toMatchObject({ decision: 'restoring', phase: 'rename', snapshotId: SNAPSHOT_ID, failedCopy: expect.stringMatching(/^shop-prod-db-failed-\d{14}$/) });
    expect(mock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });
});
