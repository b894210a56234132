import { DescribeDBInstancesCommand, ModifyDBInstanceCommand, RDSClient, RestoreDBInstanceFromDBSnapshotCommand } from '@aws-sdk/client-rds';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/restore-database/handler';
import { INSTANCE_ID, SNAPSHOT_ID, config, deployment, describesSnapshots, snapshotRef } from '../../adapters/aws/rds-fixtures';

const mock = mockClient(RDSClient);
afterEach(() => mock.reset());
afterAll(() => mock.restore());

describe('restore-database handler, invoked', () => {
  it('parses the AdvanceRestore event and takes the first step of the swap', async () => {
    describesSnapshots(mock, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available' });
    mock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: INSTANCE_ID, DBInstanceStatus: 'available', DBInstanceClass: 'db.t4g.medium' }] });
    const context = { functionName: 'restore-database', awsRequestId: '3b1f0c2a-9d8e-4f7a-b6c5-4d3e2f1a0b9c' } as Context;
    const result = await handler({ config: config(), deployment, snapshot: snapshotRef(), restore: null }, context);
    expect(result).toMatchObject({ decision: 'restoring', phase: 'rename', snapshotId: SNAPSHOT_ID, failedCopy: expect.stringMatching(/^shop-prod-db-failed-\d{14}$/) });
    expect(mock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('takes the first step of an RDS drill into the scratch instance named after the execution start, never the swap', async () => {
    describesSnapshots(mock, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available' });
    mock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID }).resolves({ DBInstances: [{ DBInstanceIdentifier: INSTANCE_ID, DBInstanceStatus: 'available', DBInstanceClass: 'db.t4g.medium' }] });
    const context = { functionName: 'restore-database', awsRequestId: '3b1f0c2a-9d8e-4f7a-b6c5-4d3e2f1a0b9d' } as Context;
    const drillConfig = config({ database: { kind: 'rds-instance', instanceIdentifier: INSTANCE_ID, connection: { secretsManager: 'shop/prod/db' } } });
    const result = await handler({ operation: 'drill', config: drillConfig, deployment, snapshot: snapshotRef(), restore: null }, context);
    expect(result).toMatchObject({ decision: 'restoring', phase: 'restore', scratch: 'shop-prod-db-drill-20250314090000', scratchHost: null, failedCopy: null });
    expect(mock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
    expect(mock).not.toHaveReceivedCommand(RestoreDBInstanceFromDBSnapshotCommand);
  });
});
