import { CreateDBSnapshotCommand, DBSnapshotNotFoundFault, DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DatabaseSnapshotEvent } from '../../../core/tasks/database-snapshot/database-snapshot';
import { handler } from '../../../lambdas/database-snapshot/handler';
import { INSTANCE_ID, SNAPSHOT_ID, config, deployment } from '../../adapters/aws/rds-fixtures';

const context = { functionName: 'database-snapshot', awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef' } as Context;

describe('database-snapshot handler', () => {
  const rds = mockClient(RDSClient);
  afterEach(() => rds.reset());
  afterAll(() => rds.restore());

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
