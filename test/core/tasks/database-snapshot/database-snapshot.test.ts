import { CreateDBSnapshotCommand, DescribeDBSnapshotsCommand, DBSnapshotNotFoundFault, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DatabaseSnapshotEvent, runDatabaseSnapshot } from '../../../../core/tasks/database-snapshot/database-snapshot';
import { RdsInstanceBackups } from '../../../../adapters/aws/rds-backups';
import type { DatabaseBackups, SnapshotQuota } from '../../../../core/ports/database-backups';
import { InvalidInputError, SnapshotFailedError } from '../../../../core/errors';
import type { DatabaseInfo, SnapshotRef } from '../../../../core/model';
import {
  INSTANCE_ID,
  KMS_KEY,
  SNAPSHOT_ID,
  TestClock,
  clientConfig,
  config,
  deployment,
  describesSnapshots,
  instanceInfo,
  preflight,
  rdsDatabase,
  snapshotRef,
} from '../../../adapters/aws/rds-fixtures';

/** An in-memory DatabaseBackups: the task logic must work with any implementation of the port. */
class MemoryBackups implements DatabaseBackups {
  readonly snapshots = new Map<string, SnapshotRef>();
  readonly created: Array<{ id: string; tags: Record<string, string> }> = [];
  readonly verified: Array<{ id: string; source: DatabaseInfo }> = [];
  described = 0;
  verifyResult: () => string[] = () => ['status is available', 'encrypted, like its source'];

  async describe(): Promise<DatabaseInfo> {
    this.described += 1;
    return instanceInfo;
  }
  async quota(): Promise<SnapshotQuota | null> {
    return null;
  }
  async find(id: string): Promise<SnapshotRef | undefined> {
    return this.snapshots.get(id);
  }
  async create(id: string, tags: Record<string, string>): Promise<SnapshotRef> {
    this.created.push({ id, tags });
    const ref = snapshotRef({ id, status: 'creating', completedAt: null, verification: [], startedAt: '2025-03-14T09:02:00.000Z' });
    this.snapshots.set(id, ref);
    return ref;
  }
  async verify(snapshot: SnapshotRef, source: DatabaseInfo): Promise<string[]> {
    this.verified.push({ id: snapshot.id, source });
    return this.verifyResult();
  }
}

const clock = new TestClock('2025-03-14T09:10:00.000Z');
const take = () => DatabaseSnapshotEvent.parse({ operation: 'take', config: config(), deployment });
const check = (snapshot: SnapshotRef, database: DatabaseInfo | null = instanceInfo) =>
  DatabaseSnapshotEvent.parse({ operation: 'check', config: config(), deployment, source: preflight(database).database, snapshot });

describe('runDatabaseSnapshot: take', () => {
  let backups: MemoryBackups;
  beforeEach(() => {
    backups = new MemoryBackups();
  });

  it('creates the deployment snapshot, tagged with target, deployment and version', async () => {
    const result = await runDatabaseSnapshot(take(), { backups, clock });
    expect(backups.created).toEqual([
      {
        id: SNAPSHOT_ID,
        tags: { 'deploy-runbook:target': 'shop-api', 'deploy-runbook:deployment': deployment.id, 'deploy-runbook:version': 'v1.5.0' },
      },
    ]);
    expect(result).toMatchObject({ id: SNAPSHOT_ID, status: 'creating' });
  });

  it('reuses the snapshot a previous attempt created instead of creating a second one', async () => {
    const existing = snapshotRef({ status: 'creating', completedAt: null });
    backups.snapshots.set(SNAPSHOT_ID, existing);
    expect(await runDatabaseSnapshot(take(), { backups, clock })).toEqual(existing);
    expect(backups.created).toEqual([]);
  });

  it('leaves the version tag out when the deployment has no version', async () => {
    const event = DatabaseSnapshotEvent.parse({ operation: 'take', config: config(), deployment: { ...deployment, version: null } });
    await runDatabaseSnapshot(event, { backups, clock });
    expect(backups.created[0].tags).toEqual({ 'deploy-runbook:target': 'shop-api', 'deploy-runbook:deployment': deployment.id });
  });

  it('fails when the configuration has no database', async () => {
    const event = DatabaseSnapshotEvent.parse({ operation: 'take', config: config({ database: null }), deployment });
    await expect(runDatabaseSnapshot(event, { backups, clock })).rejects.toThrow(InvalidInputError);
    expect(backups.created).toEqual([]);
  });

  it('fails when the operation is neither take nor check', () => {
    expect(DatabaseSnapshotEvent.safeParse({ operation: 'restore', config: config(), deployment }).success).toBe(false);
  });
});

describe('runDatabaseSnapshot: check', () => {
  let backups: MemoryBackups;
  beforeEach(() => {
    backups = new MemoryBackups();
  });

  it('returns a snapshot still being created as creating, without verifying it', async () => {
    backups.snapshots.set(SNAPSHOT_ID, snapshotRef({ status: 'creating', completedAt: null, verification: [], startedAt: '2025-03-14T09:02:30.000Z' }));
    const result = await runDatabaseSnapshot(check(snapshotRef({ status: 'creating', completedAt: null })), { backups, clock });
    expect(result).toMatchObject({ status: 'creating', completedAt: null, verification: [], startedAt: '2025-03-14T09:02:00.000Z' });
    expect(backups.verified).toEqual([]);
  });

  it('verifies an available snapshot against the pre-flight database and records when it completed', async () => {
    backups.snapshots.set(SNAPSHOT_ID, snapshotRef({ completedAt: null, verification: [] }));
    const result = await runDatabaseSnapshot(check(snapshotRef({ status: 'creating', completedAt: null })), { backups, clock });
    expect(backups.verified).toEqual([{ id: SNAPSHOT_ID, source: instanceInfo }]);
    expect(result).toMatchObject({ status: 'available', verification: ['status is available', 'encrypted, like its source'], completedAt: '2025-03-14T09:10:00.000Z' });
  });

  it('fails when the pre-flight recorded no database to verify the snapshot against, without describing it again', async () => {
    backups.snapshots.set(SNAPSHOT_ID, snapshotRef({ completedAt: null }));
    await expect(runDatabaseSnapshot(check(snapshotRef({ status: 'creating' }), null), { backups, clock })).rejects.toThrow(
      new SnapshotFailedError(`snapshot ${SNAPSHOT_ID} cannot be verified: the preflight recorded no database to compare it with`),
    );
    expect(backups.described).toBe(0);
    expect(backups.verified).toEqual([]);
  });

  it('fails when the snapshot no longer exists', async () => {
    await expect(runDatabaseSnapshot(check(snapshotRef({ status: 'creating' })), { backups, clock })).rejects.toThrow(
      new SnapshotFailedError(`snapshot ${SNAPSHOT_ID} no longer exists`),
    );
  });

  it('fails when the snapshot ended in a failed status, naming the status', async () => {
    backups.snapshots.set(SNAPSHOT_ID, snapshotRef({ status: 'failed' }));
    await expect(runDatabaseSnapshot(check(snapshotRef({ status: 'creating' })), { backups, clock })).rejects.toThrow(/status "failed"/);
  });

  it('fails when verification fails', async () => {
    backups.snapshots.set(SNAPSHOT_ID, snapshotRef());
    backups.verifyResult = () => {
      throw new SnapshotFailedError('snapshot failed verification: is not encrypted');
    };
    await expect(runDatabaseSnapshot(check(snapshotRef({ status: 'creating' })), { backups, clock })).rejects.toThrow(SnapshotFailedError);
  });
});

describe('runDatabaseSnapshot with the RDS instance backups', () => {
  it('takes, polls and verifies one snapshot through the exact RDS calls', async () => {
    const client = new RDSClient(clientConfig);
    const rds = mockClient(client);
    const backups = new RdsInstanceBackups(client, rdsDatabase, clock);
    rds.on(DescribeDBSnapshotsCommand).rejectsOnce(new DBSnapshotNotFoundFault({ message: 'not found', $metadata: {} }));
    rds.on(CreateDBSnapshotCommand).resolves({ DBSnapshot: { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'creating' } });

    const started = await runDatabaseSnapshot(take(), { backups, clock });
    expect(started.status).toBe('creating');
    expect(rds).toHaveReceivedCommandWith(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SNAPSHOT_ID });
    expect(rds).toHaveReceivedCommandTimes(CreateDBSnapshotCommand, 1);
    expect(rds.commandCalls(CreateDBSnapshotCommand)[0].args[0].input).toEqual({
      DBSnapshotIdentifier: SNAPSHOT_ID,
      DBInstanceIdentifier: INSTANCE_ID,
      Tags: [
        { Key: 'deploy-runbook:target', Value: 'shop-api' },
        { Key: 'deploy-runbook:deployment', Value: deployment.id },
        { Key: 'deploy-runbook:version', Value: 'v1.5.0' },
      ],
    });

    describesSnapshots(rds, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available', Encrypted: true, KmsKeyId: KMS_KEY });
    const checked = await runDatabaseSnapshot(check(started), { backups, clock });
    expect(checked.status).toBe('available');
    expect(checked.verification).toEqual(['status is available', `taken from instance ${INSTANCE_ID}`, 'encrypted, like its source', `encrypted with KMS key ${KMS_KEY}`]);
    expect(rds).toHaveReceivedCommandTimes(CreateDBSnapshotCommand, 1);
  });
});
