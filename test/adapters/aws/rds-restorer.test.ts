import {
  type DBInstance,
  InstanceQuotaExceededFault,
  InvalidDBInstanceStateFault,
  ModifyDBInstanceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  StorageQuotaExceededFault,
} from '@aws-sdk/client-rds';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RdsInstanceRestorer, captureInstanceSettings } from '../../../adapters/aws/rds-restorer';
import { RESTORED_FROM_TAG, failedCopyName, restoredTags } from '../../../adapters/aws/restore-progress';
import { RestoreFailedError } from '../../../core/errors';
import type { RestoreState } from '../../../core/model';
import { FakeRds, restoreLoop } from './fake-rds';
import { INSTANCE_ID, KMS_KEY, OTHER_KMS_KEY, SNAPSHOT_ID, TestClock, rdsDatabase, snapshotRef } from './rds-fixtures';

const $metadata = {};
const FAILED_COPY = 'shop-prod-db-failed-20250314092653';
const snapshot = snapshotRef();

function originalInstance(overrides: Partial<DBInstance> = {}): DBInstance {
  return {
    DBInstanceIdentifier: INSTANCE_ID,
    DBInstanceStatus: 'available',
    DBInstanceClass: 'db.r6g.large',
    Engine: 'postgres',
    EngineVersion: '16.4',
    DBSubnetGroup: { DBSubnetGroupName: 'shop-prod-private' },
    VpcSecurityGroups: [
      { VpcSecurityGroupId: 'sg-0a1b2c3d4e5f60718', Status: 'active' },
      { VpcSecurityGroupId: 'sg-0f9e8d7c6b5a40312', Status: 'active' },
    ],
    DBParameterGroups: [{ DBParameterGroupName: 'shop-postgres16', ParameterApplyStatus: 'in-sync' }],
    OptionGroupMemberships: [{ OptionGroupName: 'default:postgres-16', Status: 'in-sync' }],
    MultiAZ: false,
    AvailabilityZone: 'eu-west-1b',
    StorageType: 'gp3',
    AllocatedStorage: 500,
    Iops: 12000,
    StorageThroughput: 500,
    KmsKeyId: KMS_KEY,
    StorageEncrypted: true,
    DeletionProtection: true,
    PubliclyAccessible: false,
    Endpoint: { Address: `${INSTANCE_ID}.c9akciq32.eu-west-1.rds.amazonaws.com`, Port: 5432 },
    CopyTagsToSnapshot: true,
    IAMDatabaseAuthenticationEnabled: true,
    AutoMinorVersionUpgrade: false,
    EnabledCloudwatchLogsExports: ['postgresql'],
    BackupRetentionPeriod: 7,
    PreferredBackupWindow: '02:00-03:00',
    TagList: [
      { Key: 'team', Value: 'checkout' },
      { Key: 'aws:cloudformation:stack-name', Value: 'shop-data' },
    ],
    ...overrides,
  };
}

/** The settings the restore must copy from `originalInstance()`. */
const COPIED_SETTINGS = {
  DBInstanceClass: 'db.r6g.large',
  DBSubnetGroupName: 'shop-prod-private',
  VpcSecurityGroupIds: ['sg-0a1b2c3d4e5f60718', 'sg-0f9e8d7c6b5a40312'],
  DBParameterGroupName: 'shop-postgres16',
  OptionGroupName: 'default:postgres-16',
  MultiAZ: false,
  AvailabilityZone: 'eu-west-1b',
  StorageType: 'gp3',
  AllocatedStorage: 500,
  Iops: 12000,
  StorageThroughput: 500,
  DeletionProtection: true,
  PubliclyAccessible: false,
  Port: 5432,
  CopyTagsToSnapshot: true,
  EnableIAMDatabaseAuthentication: true,
  AutoMinorVersionUpgrade: false,
  EnableCloudwatchLogsExports: ['postgresql'],
  BackupRetentionPeriod: 7,
  PreferredBackupWindow: '02:00-03:00',
};

function setup(original: DBInstance | null = originalInstance()) {
  const rds = new FakeRds();
  if (original) rds.instances.set(INSTANCE_ID, original);
  rds.snapshots.set(SNAPSHOT_ID, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available', Engine: 'postgres', Encrypted: true, KmsKeyId: KMS_KEY });
  const clock = new TestClock('2025-03-14T09:26:53.000Z');
  const restorer = new RdsInstanceRestorer(rds.client, rdsDatabase, clock);
  return { rds, clock, restorer, ...restoreLoop(rds, restorer, clock, snapshot, 20) };
}

describe('RdsInstanceRestorer: the rename-swap', () => {
  it('renames the original aside, restores the snapshot under its name and verifies it, one change per call', async () => {
    const { rds, runToDone } = setup();
    const states = await runToDone();

    expect(states.map((state) => state.phase)).toEqual(['rename', 'wait-renamed', 'wait-renamed', 'restore', 'wait-available', 'wait-available', 'verify', 'done']);
    expect(rds.callLog()).toEqual([
      `DescribeDBSnapshots ${SNAPSHOT_ID}`,
      `DescribeDBInstances ${INSTANCE_ID}`,
      `DescribeDBInstances ${FAILED_COPY}`,
      `DescribeDBInstances ${INSTANCE_ID}`,
      `ModifyDBInstance ${INSTANCE_ID}`,
      `DescribeDBInstances ${INSTANCE_ID}`,
      `DescribeDBInstances ${FAILED_COPY}`,
      `DescribeDBInstances ${INSTANCE_ID}`,
      `DescribeDBInstances ${FAILED_COPY}`,
      `DescribeDBInstances ${INSTANCE_ID}`,
      `RestoreDBInstanceFromDBSnapshot ${INSTANCE_ID}`,
      `DescribeDBInstances ${INSTANCE_ID}`,
      `DescribeDBInstances ${INSTANCE_ID}`,
      `DescribeDBInstances ${INSTANCE_ID}`,
    ]);
    expect(rds.mutations()).toEqual([
      ['ModifyDBInstance', { DBInstanceIdentifier: INSTANCE_ID, NewDBInstanceIdentifier: FAILED_COPY, ApplyImmediately: true }],
      [
        'RestoreDBInstanceFromDBSnapshot',
        {
          ...COPIED_SETTINGS,
          DBInstanceIdentifier: INSTANCE_ID,
          DBSnapshotIdentifier: SNAPSHOT_ID,
          Tags: [
            { Key: 'team', Value: 'checkout' },
            { Key: RESTORED_FROM_TAG, Value: SNAPSHOT_ID },
          ],
        },
      ],
    ]);
  });

  it('reports where the broken database was kept, which snapshot was restored and each step with its time', async () => {
    const { runToDone } = setup();
    const done = (await runToDone()).at(-1);
    expect(done).toMatchObject({
      restored: true,
      decision: 'restored',
      phase: 'done',
      failedCopy: FAILED_COPY,
      snapshotId: SNAPSHOT_ID,
      startedAt: '2025-03-14T09:26:53.000Z',
      finishedAt: '2025-03-14T09:30:23.000Z',
    });
    expect(done?.steps).toEqual([
      { phase: 'capture', at: '2025-03-14T09:26:53.000Z', detail: `captured the settings of ${INSTANCE_ID} (db.r6g.large); it will be kept as ${FAILED_COPY}` },
      { phase: 'rename', at: '2025-03-14T09:27:23.000Z', detail: `renamed ${INSTANCE_ID} to ${FAILED_COPY}` },
      { phase: 'wait-renamed', at: '2025-03-14T09:28:23.000Z', detail: `${FAILED_COPY} is available and the name ${INSTANCE_ID} is free` },
      { phase: 'restore', at: '2025-03-14T09:28:53.000Z', detail: `started restoring ${INSTANCE_ID} from snapshot ${SNAPSHOT_ID}` },
      { phase: 'wait-available', at: '2025-03-14T09:29:53.000Z', detail: `${INSTANCE_ID} is available` },
      {
        phase: 'verify',
        at: '2025-03-14T09:30:23.000Z',
        detail: `verified ${INSTANCE_ID}: available at ${INSTANCE_ID}.c9akciq32.eu-west-1.rds.amazonaws.com:5432, restored from ${SNAPSHOT_ID}; the broken database is kept as ${FAILED_COPY}`,
      },
    ]);
  });

  it('keeps the broken database with its deletion protection, and never deletes anything', async () => {
    const { rds, runToDone } = setup();
    await runToDone();
    expect(rds.instances.get(FAILED_COPY)).toMatchObject({ DBInstanceStatus: 'available', DeletionProtection: true, KmsKeyId: KMS_KEY });
    expect(rds.commandLogContains('Delete')).toBe(false);
  });

  it('returns a finished restore unchanged without calling RDS', async () => {
    const { rds, restorer, runToDone } = setup();
    const done = (await runToDone()).at(-1) as RestoreState;
    rds.mock.resetHistory();
    expect(await restorer.advance(snapshot, done)).toBe(done);
    expect(rds.mock.calls()).toEqual([]);
  });

  describe('after a crash, the repeated call changes nothing twice', () => {
    const CALLS = 8;
    for (const retry of ['at once', 'after a wait'] as const) {
      for (let crashAt = 0; crashAt < CALLS; crashAt += 1) {
        it(`repeats call ${crashAt + 1} ${retry}`, async () => {
          const { rds, runWithLostResult } = setup();
          const done = (await runWithLostResult(crashAt, retry === 'after a wait')).at(-1);

          expect(done).toMatchObject({ phase: 'done', restored: true });
          expect(rds.instances.get(done?.failedCopy ?? '')).toMatchObject({ DBInstanceStatus: 'available', DeletionProtection: true });
          expect(rds.mock).toHaveReceivedCommandTimes(ModifyDBInstanceCommand, 1);
          expect(rds.mock).toHaveReceivedCommandTimes(RestoreDBInstanceFromDBSnapshotCommand, 1);
          expect(rds.instances.get(INSTANCE_ID)?.TagList).toContainEqual({ Key: RESTORED_FROM_TAG, Value: SNAPSHOT_ID });
        });
      }
    }
  });

  it('does not rename twice when RDS still shows the original available with the rename pending', async () => {
    const { rds, restorer, step } = setup();
    const captured = await step(null);
    await restorer.advance(snapshot, captured);
    (rds.instances.get(INSTANCE_ID) as DBInstance).DBInstanceStatus = 'available';
    const next = await restorer.advance(snapshot, captured);
    expect(next.phase).toBe('wait-renamed');
    expect(next.steps.at(-1)?.detail).toBe(`${INSTANCE_ID} was already being renamed to ${FAILED_COPY}`);
    expect(rds.mock).toHaveReceivedCommandTimes(ModifyDBInstanceCommand, 1);
  });

  it('recognises its own restore when RDS still reported the name free before the repeated call', async () => {
    const { rds, restorer, runTo } = setup();
    const state = await runTo('restore');
    await restorer.advance(snapshot, state);
    rds.staleReads.add(INSTANCE_ID);
    const next = await restorer.advance(snapshot, state);
    expect(next.phase).toBe('wait-available');
    expect(next.steps.at(-1)?.detail).toBe(`${INSTANCE_ID} was already being restored from ${SNAPSHOT_ID}`);
    expect(rds.mock).toHaveReceivedCommandTimes(RestoreDBInstanceFromDBSnapshotCommand, 2);
    expect(rds.instances.get(INSTANCE_ID)?.TagList).toContainEqual({ Key: RESTORED_FROM_TAG, Value: SNAPSHOT_ID });
  });

  it('keeps waiting while RDS does not list the instance it just started restoring', async () => {
    const { rds, step, runTo } = setup();
    const state = await runTo('wait-available');
    rds.staleReads.add(INSTANCE_ID);
    expect(await step(state)).toBe(state);
  });

  it('waits without renaming while the original is busy with a backup', async () => {
    const { rds, step } = setup(originalInstance({ DBInstanceStatus: 'backing-up' }));
    const captured = await step(null);
    expect(await step(captured)).toBe(captured);
    expect(rds.mock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
    (rds.instances.get(INSTANCE_ID) as DBInstance).DBInstanceStatus = 'available';
    expect((await step(captured)).phase).toBe('wait-renamed');
  });
});

describe('RdsInstanceRestorer: failures', () => {
  it('fails when the snapshot is missing, before touching the database', async () => {
    const { rds, restorer } = setup();
    rds.snapshots.clear();
    await expect(restorer.advance(snapshot, null)).rejects.toThrow(
      new RestoreFailedError(`snapshot ${SNAPSHOT_ID} does not exist (DBSnapshotNotFound): nothing was changed`),
    );
    expect(rds.mutations()).toEqual([]);
  });

  it('fails when the snapshot was taken from another instance', async () => {
    const { rds, restorer } = setup();
    rds.snapshots.set(SNAPSHOT_ID, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: 'shop-staging-db', Status: 'available' });
    await expect(restorer.advance(snapshot, null)).rejects.toThrow(`was taken from DB instance "shop-staging-db", not "${INSTANCE_ID}"`);
    expect(rds.mutations()).toEqual([]);
  });

  it('fails when the snapshot is not available', async () => {
    const { rds, restorer } = setup();
    rds.snapshots.set(SNAPSHOT_ID, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'creating' });
    await expect(restorer.advance(snapshot, null)).rejects.toThrow(`snapshot ${SNAPSHOT_ID} is in status "creating"`);
  });

  it('fails when the original instance does not exist', async () => {
    const { restorer } = setup(null);
    await expect(restorer.advance(snapshot, null)).rejects.toThrow(`DB instance ${INSTANCE_ID} does not exist`);
  });

  it('fails when the original is in a status waiting will not fix, naming it and the status', async () => {
    const { rds, step } = setup(originalInstance({ DBInstanceStatus: 'storage-full' }));
    const captured = await step(null);
    await expect(step(captured)).rejects.toThrow(new RestoreFailedError(`cannot rename DB instance ${INSTANCE_ID}: it is in status "storage-full"`));
    expect(rds.mutations()).toEqual([]);
  });

  it('fails when RDS refuses the rename with InvalidDBInstanceState, naming the instance and its status', async () => {
    const { rds, step } = setup();
    rds.mock.on(ModifyDBInstanceCommand).rejects(new InvalidDBInstanceStateFault({ message: 'Instance is not in available state', $metadata }));
    const captured = await step(null);
    await expect(step(captured)).rejects.toThrow(
      `cannot rename DB instance ${INSTANCE_ID} (status "available") to ${FAILED_COPY}: InvalidDBInstanceStateFault: Instance is not in available state`,
    );
  });

  it.each([
    ['InstanceQuotaExceeded', new InstanceQuotaExceededFault({ message: 'DB instance quota exceeded', $metadata })],
    ['StorageQuotaExceeded', new StorageQuotaExceededFault({ message: 'Storage quota exceeded', $metadata })],
  ])('fails when the restore hits %s', async (_, fault) => {
    const { rds, step, runTo } = setup();
    rds.mock.on(RestoreDBInstanceFromDBSnapshotCommand).rejects(fault);
    const state = await runTo('restore');
    await expect(step(state)).rejects.toThrow(`cannot restore ${INSTANCE_ID} from ${SNAPSHOT_ID}: an account quota is exceeded (${fault.name}: ${fault.message})`);
  });

  it('fails when the snapshot was deleted after the original was renamed', async () => {
    const { rds, step, runTo } = setup();
    const state = await runTo('restore');
    rds.snapshots.clear();
    const error = await step(state).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestoreFailedError);
    expect((error as Error).message).toMatch(`cannot restore ${INSTANCE_ID}: snapshot ${SNAPSHOT_ID} no longer exists (DBSnapshotNotFoundFault`);
    expect(rds.instances.get(FAILED_COPY)).toMatchObject({ DBInstanceIdentifier: FAILED_COPY, DBInstanceClass: COPIED_SETTINGS.DBInstanceClass });
    expect(rds.instances.has(INSTANCE_ID)).toBe(false);
  });

  it('refuses to touch an instance that took the original name meanwhile', async () => {
    const { rds, step, runTo } = setup();
    const state = await runTo('restore');
    rds.instances.set(INSTANCE_ID, originalInstance({ TagList: [] }));
    await expect(step(state)).rejects.toThrow(`DB instance ${INSTANCE_ID} exists again but was not restored from snapshot ${SNAPSHOT_ID}: refusing to touch it`);
    expect(rds.mock).not.toHaveReceivedCommand(RestoreDBInstanceFromDBSnapshotCommand);
  });

  it('fails when the restored instance ends in an incompatible status', async () => {
    const { rds, step, runTo } = setup();
    const state = await runTo('wait-available');
    rds.tick();
    (rds.instances.get(INSTANCE_ID) as DBInstance).DBInstanceStatus = 'incompatible-restore';
    await expect(step(state)).rejects.toThrow(`the restored DB instance ${INSTANCE_ID} is in status "incompatible-restore"`);
  });

  it('fails verification when the restored instance uses another KMS key', async () => {
    const { rds, step, runTo } = setup();
    const state = await runTo('verify');
    (rds.instances.get(INSTANCE_ID) as DBInstance).KmsKeyId = OTHER_KMS_KEY;
    await expect(step(state)).rejects.toThrow(`the restored DB instance ${INSTANCE_ID} failed verification: KMS key is "${OTHER_KMS_KEY}", not "${KMS_KEY}"`);
  });

  it('fails when a state has lost the settings the capture recorded', async () => {
    const { restorer } = setup(null);
    const broken = { restored: false, decision: 'restoring' as const, phase: 'restore', failedCopy: FAILED_COPY, snapshotId: SNAPSHOT_ID, steps: [], startedAt: null, finishedAt: null };
    await expect(restorer.advance(snapshot, broken)).rejects.toThrow('restore.captured is missing or malformed in phase "restore"');
  });

  it('fails when the phase is not one of its steps', async () => {
    const { restorer } = setup();
    const unknown = { restored: false, decision: 'restoring' as const, phase: 'restore-cluster', failedCopy: null, snapshotId: null, steps: [], startedAt: null, finishedAt: null };
    await expect(restorer.advance(snapshot, unknown)).rejects.toThrow('restore.phase "restore-cluster" is not a step of an RDS DB instance restore');
  });
});

describe('copied settings', () => {
  it('copies every setting the restore needs', () => {
    expect(captureInstanceSettings(originalInstance())).toEqual({
      ...COPIED_SETTINGS,
      Tags: [
        { Key: 'team', Value: 'checkout' },
        { Key: 'aws:cloudformation:stack-name', Value: 'shop-data' },
      ],
    });
  });

  it('leaves the availability zone to RDS for a Multi-AZ instance', () => {
    const settings = captureInstanceSettings(originalInstance({ MultiAZ: true }));
    expect(settings.MultiAZ).toBe(true);
    expect(settings).not.toHaveProperty('AvailabilityZone');
  });

  it.each([
    ['gp2', 500, 1500, undefined, {}],
    ['gp3', 100, 3000, 125, {}],
    ['gp3', 400, 12000, 500, { Iops: 12000, StorageThroughput: 500 }],
    ['io1', 100, 5000, undefined, { Iops: 5000 }],
    ['io2', 100, 8000, undefined, { Iops: 8000 }],
  ])('passes IOPS and throughput for %s storage of %i GiB only when RDS accepts them', (StorageType, AllocatedStorage, Iops, StorageThroughput, expected) => {
    const settings = captureInstanceSettings(originalInstance({ StorageType, AllocatedStorage, Iops, StorageThroughput }));
    expect({ Iops: settings.Iops, StorageThroughput: settings.StorageThroughput }).toEqual({ Iops: undefined, StorageThroughput: undefined, ...expected });
  });

  it('tags the restored copy with its snapshot, without AWS-reserved tags or an older restored-from tag', () => {
    const tags = restoredTags(
      [
        { Key: 'team', Value: 'checkout' },
        { Key: 'aws:cloudformation:logical-id', Value: 'Database' },
        { Key: RESTORED_FROM_TAG, Value: 'deploy-runbook-shop-api-older' },
      ],
      SNAPSHOT_ID,
    );
    expect(tags).toEqual([
      { Key: 'team', Value: 'checkout' },
      { Key: RESTORED_FROM_TAG, Value: SNAPSHOT_ID },
    ]);
  });
});

describe('failedCopyName', () => {
  it('appends -failed- and the UTC time to the identifier', () => {
    expect(failedCopyName(INSTANCE_ID, new Date('2025-03-14T09:26:53.999Z'))).toBe(FAILED_COPY);
  });

  it('is always a valid RDS identifier of at most 63 characters that keeps the timestamp', () => {
    const identifier = fc
      .array(fc.stringMatching(/^[a-z0-9]{1,12}$/), { minLength: 1, maxLength: 8 })
      .map((parts) => `d${parts.join('-')}`.slice(0, 63).replace(/-+$/, ''));
    const at = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true });
    fc.assert(
      fc.property(identifier, at, (id, when) => {
        const name = failedCopyName(id, when);
        expect(name.length).toBeLessThanOrEqual(63);
        expect(name).toMatch(/^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$/);
        expect(name.endsWith(`-failed-${when.toISOString().replace(/\D/g, '').slice(0, 14)}`)).toBe(true);
      }),
    );
  });
});
