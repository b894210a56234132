import { type DBInstance, type RDSClient, RestoreDBInstanceFromDBSnapshotCommand } from '@aws-sdk/client-rds';
import * as z from 'zod/mini';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { DatabaseRestorer } from '../../core/ports/database-restorer';
import { RestoreFailedError } from '../../core/errors';
import type { RestoreState, SnapshotRef } from '../../core/model';
import type { RdsInstanceDatabaseConfig } from './rds-backups';
import { findDbSnapshot, findInstance } from './rds-lookups';
import { definedOnly, failedCopyName, finishStep, instanceRenamed, renameInstanceAside, restoredTags } from './restore-progress';
import {
  type SnapshotNames,
  advanceRestore,
  afterRename,
  capturedOf,
  checkSnapshotBeforeRestore,
  createOnce,
  failedCopyOf,
  finishWhen,
  finishWhenAvailable,
  isOwnRestore,
  verifyRestored,
  plainTags,
} from './restore-steps';

/**
 * The IAM action behind each AWS call RdsInstanceRestorer makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const RDS_RESTORER_IAM = {
  restoreDBInstanceFromDBSnapshot: 'rds:RestoreDBInstanceFromDBSnapshot',
  /** The restore copies the failed instance's tags: tagging on create is authorised as rds:AddTagsToResource. */
  tagOnRestore: 'rds:AddTagsToResource',
  /** Restoring a snapshot encrypted with a customer-managed key lets RDS use the key through a grant. */
  grantKey: 'kms:CreateGrant',
  describeKey: 'kms:DescribeKey',
} as const;

/** Below this size RDS only accepts gp3's baseline IOPS and throughput, and rejects explicit values. */
const GP3_PROVISIONED_MIN_GIB = 400;

/** The original instance's settings, named as RestoreDBInstanceFromDBSnapshot takes them. */
const InstanceSettings = z.object({
  DBInstanceClass: z.optional(z.string()),
  DBSubnetGroupName: z.optional(z.string()),
  VpcSecurityGroupIds: z.optional(z.array(z.string())),
  DBParameterGroupName: z.optional(z.string()),
  OptionGroupName: z.optional(z.string()),
  MultiAZ: z.optional(z.boolean()),
  AvailabilityZone: z.optional(z.string()),
  StorageType: z.optional(z.string()),
  AllocatedStorage: z.optional(z.number()),
  Iops: z.optional(z.number()),
  StorageThroughput: z.optional(z.number()),
  DeletionProtection: z.optional(z.boolean()),
  PubliclyAccessible: z.optional(z.boolean()),
  Port: z.optional(z.number()),
  CopyTagsToSnapshot: z.optional(z.boolean()),
  EnableIAMDatabaseAuthentication: z.optional(z.boolean()),
  AutoMinorVersionUpgrade: z.optional(z.boolean()),
  EnableCloudwatchLogsExports: z.optional(z.array(z.string())),
  BackupRetentionPeriod: z.optional(z.number()),
  PreferredBackupWindow: z.optional(z.string()),
  Tags: z.optional(z.array(z.object({ Key: z.string(), Value: z.string() }))),
});
type InstanceSettings = z.output<typeof InstanceSettings>;

/** `restore.captured` of an RDS instance restore. */
const Captured = z.object({
  settings: InstanceSettings,
  /** A restore takes the snapshot's key (it has no KmsKeyId parameter): verification compares against this. */
  kmsKeyId: z.nullable(z.string()),
});
type Captured = z.output<typeof Captured>;

/** Reads the original instance's settings so the restored copy matches it. */
export function captureInstanceSettings(instance: DBInstance): InstanceSettings {
  const storageType = instance.StorageType;
  const provisioned = storageType === 'io1' || storageType === 'io2' || (storageType === 'gp3' && (instance.AllocatedStorage ?? 0) >= GP3_PROVISIONED_MIN_GIB);
  return definedOnly({
    DBInstanceClass: instance.DBInstanceClass,
    DBSubnetGroupName: instance.DBSubnetGroup?.DBSubnetGroupName,
    VpcSecurityGroupIds: instance.VpcSecurityGroups?.flatMap((group) => (group.VpcSecurityGroupId ? [group.VpcSecurityGroupId] : [])),
    DBParameterGroupName: instance.DBParameterGroups?.[0]?.DBParameterGroupName,
    OptionGroupName: instance.OptionGroupMemberships?.[0]?.OptionGroupName,
    MultiAZ: instance.MultiAZ,
    // A Multi-AZ instance picks its own zones; naming one is rejected.
    AvailabilityZone: instance.MultiAZ ? undefined : instance.AvailabilityZone,
    StorageType: storageType,
    AllocatedStorage: instance.AllocatedStorage,
    Iops: provisioned ? instance.Iops : undefined,
    StorageThroughput: provisioned && storageType === 'gp3' ? instance.StorageThroughput : undefined,
    DeletionProtection: instance.DeletionProtection,
    PubliclyAccessible: instance.PubliclyAccessible,
    Port: instance.Endpoint?.Port ?? instance.DbInstancePort,
    CopyTagsToSnapshot: instance.CopyTagsToSnapshot,
    EnableIAMDatabaseAuthentication: instance.IAMDatabaseAuthenticationEnabled,
    AutoMinorVersionUpgrade: instance.AutoMinorVersionUpgrade,
    EnableCloudwatchLogsExports: instance.EnabledCloudwatchLogsExports?.length ? instance.EnabledCloudwatchLogsExports : undefined,
    BackupRetentionPeriod: instance.BackupRetentionPeriod,
    PreferredBackupWindow: instance.PreferredBackupWindow,
    Tags: plainTags(instance.TagList),
  });
}

/** How this restore names its snapshot in messages. */
const SNAPSHOT: SnapshotNames = { noun: 'snapshot', notFound: 'DBSnapshotNotFound' };

/**
 * Restores an RDS DB instance from the pre-deploy snapshot by rename-swap, one step per call:
 * capture → rename → wait-renamed → restore → wait-available → verify → done.
 * Each call makes at most one change, and looks at what AWS shows before making it, so a call
 * repeated after a crash never renames or restores twice.
 */
export class RdsInstanceRestorer implements DatabaseRestorer {
  constructor(
    private readonly rds: RDSClient,
    private readonly database: RdsInstanceDatabaseConfig,
    private readonly clock: Clock = systemClock,
  ) {}

  advance(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    return advanceRestore(snapshot, state, this.clock, 'RDS DB instance restore', {
      capture: (current) => this.capture(snapshot, current),
      rename: (current) => this.rename(current),
      'wait-renamed': (current) => this.waitRenamed(current),
      restore: (current) => this.restore(snapshot, current),
      'wait-available': (current) => this.waitAvailable(current),
      verify: (current) => this.verify(snapshot, current),
    });
  }

  private get original(): string {
    return this.database.instanceIdentifier;
  }

  /** Checks the snapshot before anything is touched, then records the original's settings and the name to keep it under. */
  private async capture(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const found = await findDbSnapshot(this.rds, snapshot.id);
    checkSnapshotBeforeRestore(found && { status: found.Status, source: found.DBInstanceIdentifier }, snapshot.id, SNAPSHOT, 'DB instance', this.original);
    const instance = await findInstance(this.rds, this.original);
    if (!instance) throw new RestoreFailedError(`DB instance ${this.original} does not exist: there is nothing to copy its settings from`);
    const now = this.clock.now();
    const captured: Captured = { settings: captureInstanceSettings(instance), kmsKeyId: instance.KmsKeyId ?? null };
    const failedCopy = failedCopyName(this.original, now);
    const detail = `captured the settings of ${this.original} (${captured.settings.DBInstanceClass ?? 'unknown class'}); it will be kept as ${failedCopy}`;
    return finishStep(state, detail, 'rename', now, { failedCopy, captured });
  }

  private async rename(state: RestoreState): Promise<RestoreState> {
    const failedCopy = failedCopyOf(state);
    const outcome = await renameInstanceAside(this.rds, this.original, failedCopy);
    return afterRename(state, outcome, this.original, failedCopy, 'wait-renamed', this.clock);
  }

  private async waitRenamed(state: RestoreState): Promise<RestoreState> {
    const failedCopy = failedCopyOf(state);
    const renamed = await instanceRenamed(this.rds, this.original, failedCopy);
    return finishWhen(renamed, state, `${failedCopy} is available and the name ${this.original} is free`, 'restore', this.clock);
  }

  private async restore(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const outcome = await createOnce({
      created: async () => isOwnRestore(await findInstance(this.rds, this.original), `DB instance ${this.original}`, snapshot.id),
      create: () => {
        const { settings } = capturedOf(state, Captured);
        return this.rds.send(
          new RestoreDBInstanceFromDBSnapshotCommand({
            ...settings,
            DBInstanceIdentifier: this.original,
            DBSnapshotIdentifier: snapshot.id,
            Tags: restoredTags(settings.Tags, snapshot.id),
          }),
        );
      },
      alreadyExistsFault: 'DBInstanceAlreadyExistsFault',
      target: this.original,
      snapshotId: snapshot.id,
    });
    const detail = outcome === 'created' ? `started restoring ${this.original} from snapshot ${snapshot.id}` : `${this.original} was already being restored from ${snapshot.id}`;
    return finishStep(state, detail, 'wait-available', this.clock.now());
  }

  private async waitAvailable(state: RestoreState): Promise<RestoreState> {
    const status = (await findInstance(this.rds, this.original))?.DBInstanceStatus;
    return finishWhenAvailable(state, status, { creating: `the restored DB instance ${this.original}`, ready: this.original }, 'verify', this.clock);
  }

  private async verify(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const { settings, kmsKeyId } = capturedOf(state, Captured);
    const what = `the restored DB instance ${this.original}`;
    const instance = await findInstance(this.rds, this.original);
    if (!instance) throw new RestoreFailedError(`${what} failed verification: it does not exist`);
    const classChanged = settings.DBInstanceClass !== undefined && instance.DBInstanceClass !== settings.DBInstanceClass;
    verifyRestored(
      what,
      { status: instance.DBInstanceStatus, tags: instance.TagList, hasEndpoint: Boolean(instance.Endpoint?.Address), kmsKeyId: instance.KmsKeyId },
      { snapshotId: snapshot.id, kmsKeyId: kmsKeyId ?? undefined },
      classChanged ? [`class is "${instance.DBInstanceClass}", not "${settings.DBInstanceClass}"`] : [],
    );
    const endpoint = `${instance.Endpoint?.Address}:${instance.Endpoint?.Port}`;
    return finishStep(state, `verified ${this.original}: available at ${endpoint}, restored from ${snapshot.id}; the broken database is kept as ${state.failedCopy}`, 'done', this.clock.now());
  }
}
