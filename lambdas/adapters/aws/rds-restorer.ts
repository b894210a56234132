import { type DBInstance, type RDSClient, RestoreDBInstanceFromDBSnapshotCommand } from '@aws-sdk/client-rds';
import { z } from 'zod';
import { type Clock, systemClock } from '../../ports/clock';
import type { DatabaseRestorer } from '../../ports/database-restorer';
import { RestoreFailedError } from '../../shared/errors';
import type { RestoreState, SnapshotRef } from '../../shared/model';
import type { RdsInstanceDatabaseConfig } from './rds-backups';
import { findDbSnapshot, findInstance, isFault, tagValue } from './rds-lookups';
import {
  RESTORED_FROM_TAG,
  beginRestore,
  definedOnly,
  failedCopyName,
  finishStep,
  instanceRenamed,
  isStuck,
  renameInstanceAside,
  restoreError,
  restoredTags,
} from './restore-progress';

/** Below this size RDS only accepts gp3's baseline IOPS and throughput, and rejects explicit values. */
const GP3_PROVISIONED_MIN_GIB = 400;

/** The original instance's settings, named as RestoreDBInstanceFromDBSnapshot takes them. */
const InstanceSettings = z.object({
  DBInstanceClass: z.string().optional(),
  DBSubnetGroupName: z.string().optional(),
  VpcSecurityGroupIds: z.array(z.string()).optional(),
  DBParameterGroupName: z.string().optional(),
  OptionGroupName: z.string().optional(),
  MultiAZ: z.boolean().optional(),
  AvailabilityZone: z.string().optional(),
  StorageType: z.string().optional(),
  AllocatedStorage: z.number().optional(),
  Iops: z.number().optional(),
  StorageThroughput: z.number().optional(),
  DeletionProtection: z.boolean().optional(),
  PubliclyAccessible: z.boolean().optional(),
  Port: z.number().optional(),
  CopyTagsToSnapshot: z.boolean().optional(),
  EnableIAMDatabaseAuthentication: z.boolean().optional(),
  AutoMinorVersionUpgrade: z.boolean().optional(),
  EnableCloudwatchLogsExports: z.array(z.string()).optional(),
  BackupRetentionPeriod: z.number().optional(),
  PreferredBackupWindow: z.string().optional(),
  Tags: z.array(z.object({ Key: z.string(), Value: z.string() })).optional(),
});
type InstanceSettings = z.output<typeof InstanceSettings>;

/** `restore.captured` of an RDS instance restore. */
const Captured = z.object({
  settings: InstanceSettings,
  /** A restore takes the snapshot's key (it has no KmsKeyId parameter): verification compares against this. */
  kmsKeyId: z.string().nullable(),
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
    Tags: instance.TagList?.flatMap((tag) => (tag.Key !== undefined && tag.Value !== undefined ? [{ Key: tag.Key, Value: tag.Value }] : [])),
  });
}

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

  async advance(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    const current = state?.phase ? state : beginRestore(snapshot, this.clock.now());
    switch (current.phase) {
      case 'capture':
        return this.capture(snapshot, current);
      case 'rename':
        return this.rename(current);
      case 'wait-renamed':
        return this.waitRenamed(current);
      case 'restore':
        return this.restore(snapshot, current);
      case 'wait-available':
        return this.waitAvailable(current);
      case 'verify':
        return this.verify(snapshot, current);
      case 'done':
        return current;
      default:
        throw new RestoreFailedError(`restore.phase "${current.phase}" is not a step of an RDS DB instance restore`);
    }
  }

  private get original(): string {
    return this.database.instanceIdentifier;
  }

  /** Checks the snapshot before anything is touched, then records the original's settings and the name to keep it under. */
  private async capture(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const found = await findDbSnapshot(this.rds, snapshot.id);
    if (!found) throw new RestoreFailedError(`snapshot ${snapshot.id} does not exist (DBSnapshotNotFound): nothing was changed`);
    if (found.Status !== 'available') throw new RestoreFailedError(`snapshot ${snapshot.id} is in status "${found.Status}", not "available": nothing was changed`);
    if (found.DBInstanceIdentifier !== this.original) {
      throw new RestoreFailedError(`snapshot ${snapshot.id} was taken from DB instance "${found.DBInstanceIdentifier}", not "${this.original}": nothing was changed`);
    }
    const instance = await findInstance(this.rds, this.original);
    if (!instance) throw new RestoreFailedError(`DB instance ${this.original} does not exist: there is nothing to copy its settings from`);
    const now = this.clock.now();
    const captured: Captured = { settings: captureInstanceSettings(instance), kmsKeyId: instance.KmsKeyId ?? null };
    const failedCopy = failedCopyName(this.original, now);
    const detail = `captured the settings of ${this.original} (${captured.settings.DBInstanceClass ?? 'unknown class'}); it will be kept as ${failedCopy}`;
    return finishStep(state, detail, 'rename', now, { failedCopy, captured });
  }

  private async rename(state: RestoreState): Promise<RestoreState> {
    const failedCopy = this.failedCopyOf(state);
    const outcome = await renameInstanceAside(this.rds, this.original, failedCopy);
    if (outcome === 'waiting') return state;
    const detail = outcome === 'renamed' ? `renamed ${this.original} to ${failedCopy}` : `${this.original} was already being renamed to ${failedCopy}`;
    return finishStep(state, detail, 'wait-renamed', this.clock.now());
  }

  private async waitRenamed(state: RestoreState): Promise<RestoreState> {
    const failedCopy = this.failedCopyOf(state);
    if (!(await instanceRenamed(this.rds, this.original, failedCopy))) return state;
    return finishStep(state, `${failedCopy} is available and the name ${this.original} is free`, 'restore', this.clock.now());
  }

  private async restore(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const already = () => finishStep(state, `${this.original} was already being restored from ${snapshot.id}`, 'wait-available', this.clock.now());
    if (await this.restoreStarted(snapshot)) return already();
    const { settings } = this.capturedOf(state);
    try {
      await this.rds.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          ...settings,
          DBInstanceIdentifier: this.original,
          DBSnapshotIdentifier: snapshot.id,
          Tags: restoredTags(settings.Tags, snapshot.id),
        }),
      );
    } catch (error) {
      // Right after a restore starts RDS may still report the name free: a repeated call then meets its own instance.
      if (isFault(error, 'DBInstanceAlreadyExistsFault') && (await this.restoreStarted(snapshot))) return already();
      throw restoreError(error, this.original, snapshot.id);
    }
    return finishStep(state, `started restoring ${this.original} from snapshot ${snapshot.id}`, 'wait-available', this.clock.now());
  }

  /** True when the original name holds the instance this restore started; throws when something else took the name. */
  private async restoreStarted(snapshot: SnapshotRef): Promise<boolean> {
    const existing = await findInstance(this.rds, this.original);
    if (!existing) return false;
    if (tagValue(existing.TagList, RESTORED_FROM_TAG) !== snapshot.id) {
      throw new RestoreFailedError(`DB instance ${this.original} exists again but was not restored from snapshot ${snapshot.id}: refusing to touch it`);
    }
    return true;
  }

  private async waitAvailable(state: RestoreState): Promise<RestoreState> {
    // RDS may not list an instance it has just started restoring: keep waiting until it does.
    const status = (await findInstance(this.rds, this.original))?.DBInstanceStatus;
    if (isStuck(status)) throw new RestoreFailedError(`the restored DB instance ${this.original} is in status "${status}"`);
    if (status !== 'available') return state;
    return finishStep(state, `${this.original} is available`, 'verify', this.clock.now());
  }

  private async verify(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const { settings, kmsKeyId } = this.capturedOf(state);
    const instance = await findInstance(this.rds, this.original);
    if (!instance) throw new RestoreFailedError(`the restored DB instance ${this.original} failed verification: it does not exist`);
    const problems: string[] = [];
    if (instance.DBInstanceStatus !== 'available') problems.push(`status is "${instance.DBInstanceStatus}"`);
    const restoredFrom = tagValue(instance.TagList, RESTORED_FROM_TAG);
    if (restoredFrom !== snapshot.id) problems.push(`tag ${RESTORED_FROM_TAG} is "${restoredFrom ?? 'missing'}"`);
    if (!instance.Endpoint?.Address) problems.push('it has no endpoint');
    if (settings.DBInstanceClass !== undefined && instance.DBInstanceClass !== settings.DBInstanceClass) {
      problems.push(`class is "${instance.DBInstanceClass}", not "${settings.DBInstanceClass}"`);
    }
    if (kmsKeyId !== null && instance.KmsKeyId !== kmsKeyId) problems.push(`KMS key is "${instance.KmsKeyId ?? 'none'}", not "${kmsKeyId}"`);
    if (problems.length > 0) throw new RestoreFailedError(`the restored DB instance ${this.original} failed verification: ${problems.join('; ')}`);
    const endpoint = `${instance.Endpoint?.Address}:${instance.Endpoint?.Port}`;
    return finishStep(state, `verified ${this.original}: available at ${endpoint}, restored from ${snapshot.id}; the broken database is kept as ${state.failedCopy}`, 'done', this.clock.now());
  }

  private failedCopyOf(state: RestoreState): string {
    if (!state.failedCopy) throw new RestoreFailedError(`restore.failedCopy is missing in phase "${state.phase}": the capture step did not record it`);
    return state.failedCopy;
  }

  private capturedOf(state: RestoreState): Captured {
    const parsed = Captured.safeParse(state.captured);
    if (!parsed.success) throw new RestoreFailedError(`restore.captured is missing or malformed in phase "${state.phase}": the capture step did not record the original's settings`);
    return parsed.data;
  }
}
