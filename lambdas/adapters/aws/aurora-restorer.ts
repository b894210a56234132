import {
  CreateDBInstanceCommand,
  type DBCluster,
  type DBInstance,
  ModifyDBClusterCommand,
  type RDSClient,
  RestoreDBClusterFromSnapshotCommand,
} from '@aws-sdk/client-rds';
import { z } from 'zod';
import { type Clock, systemClock } from '../../ports/clock';
import type { DatabaseRestorer } from '../../ports/database-restorer';
import { RestoreFailedError } from '../../shared/errors';
import type { RestoreState, SnapshotRef } from '../../shared/model';
import type { AuroraClusterDatabaseConfig } from './rds-backups';
import { describeError, findCluster, findClusterSnapshot, findInstance, isFault, tagValue } from './rds-lookups';
import {
  RESTORED_FROM_TAG,
  type RenameOutcome,
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

const TagList = z.array(z.object({ Key: z.string(), Value: z.string() })).optional();

/** The original cluster's settings, named as RestoreDBClusterFromSnapshot takes them. */
const ClusterSettings = z.object({
  Engine: z.string(),
  EngineVersion: z.string().optional(),
  DBSubnetGroupName: z.string().optional(),
  VpcSecurityGroupIds: z.array(z.string()).optional(),
  DBClusterParameterGroupName: z.string().optional(),
  KmsKeyId: z.string().optional(),
  DeletionProtection: z.boolean().optional(),
  Port: z.number().optional(),
  EnableIAMDatabaseAuthentication: z.boolean().optional(),
  CopyTagsToSnapshot: z.boolean().optional(),
  EnableCloudwatchLogsExports: z.array(z.string()).optional(),
  BackupRetentionPeriod: z.number().optional(),
  PreferredBackupWindow: z.string().optional(),
  ServerlessV2ScalingConfiguration: z
    .object({ MinCapacity: z.number().optional(), MaxCapacity: z.number().optional(), SecondsUntilAutoPause: z.number().optional() })
    .optional(),
  Tags: TagList,
});
type ClusterSettings = z.output<typeof ClusterSettings>;

/** The original writer instance's settings, named as CreateDBInstance takes them. */
const WriterSettings = z.object({
  DBInstanceIdentifier: z.string(),
  DBInstanceClass: z.string(),
  Engine: z.string(),
  DBParameterGroupName: z.string().optional(),
  PubliclyAccessible: z.boolean().optional(),
  AutoMinorVersionUpgrade: z.boolean().optional(),
  Tags: TagList,
});
type WriterSettings = z.output<typeof WriterSettings>;

/** `restore.captured` of an Aurora cluster restore. */
const Captured = z.object({
  cluster: ClusterSettings,
  writer: WriterSettings,
  /** Instance identifiers are unique in the region, so the old writer moves aside too. */
  failedWriter: z.string(),
});
type Captured = z.output<typeof Captured>;

function plainTags(tags: DBCluster['TagList']): ClusterSettings['Tags'] {
  return tags?.flatMap((tag) => (tag.Key !== undefined && tag.Value !== undefined ? [{ Key: tag.Key, Value: tag.Value }] : []));
}

/** Reads the original cluster's settings so the restored cluster matches it. */
export function captureClusterSettings(cluster: DBCluster): ClusterSettings {
  const scaling = cluster.ServerlessV2ScalingConfiguration;
  return definedOnly({
    Engine: cluster.Engine ?? '',
    EngineVersion: cluster.EngineVersion,
    DBSubnetGroupName: cluster.DBSubnetGroup,
    VpcSecurityGroupIds: cluster.VpcSecurityGroups?.flatMap((group) => (group.VpcSecurityGroupId ? [group.VpcSecurityGroupId] : [])),
    DBClusterParameterGroupName: cluster.DBClusterParameterGroup,
    KmsKeyId: cluster.KmsKeyId,
    DeletionProtection: cluster.DeletionProtection,
    Port: cluster.Port,
    EnableIAMDatabaseAuthentication: cluster.IAMDatabaseAuthenticationEnabled,
    CopyTagsToSnapshot: cluster.CopyTagsToSnapshot,
    EnableCloudwatchLogsExports: cluster.EnabledCloudwatchLogsExports?.length ? cluster.EnabledCloudwatchLogsExports : undefined,
    BackupRetentionPeriod: cluster.BackupRetentionPeriod,
    PreferredBackupWindow: cluster.PreferredBackupWindow,
    ServerlessV2ScalingConfiguration: scaling
      ? definedOnly({ MinCapacity: scaling.MinCapacity, MaxCapacity: scaling.MaxCapacity, SecondsUntilAutoPause: scaling.SecondsUntilAutoPause })
      : undefined,
    Tags: plainTags(cluster.TagList),
  });
}

/** Reads the writer's settings so the restored cluster gets the same writer. */
export function captureWriterSettings(writer: DBInstance, engine: string): WriterSettings {
  return definedOnly({
    DBInstanceIdentifier: writer.DBInstanceIdentifier ?? '',
    DBInstanceClass: writer.DBInstanceClass ?? '',
    Engine: writer.Engine ?? engine,
    DBParameterGroupName: writer.DBParameterGroups?.[0]?.DBParameterGroupName,
    PubliclyAccessible: writer.PubliclyAccessible,
    AutoMinorVersionUpgrade: writer.AutoMinorVersionUpgrade,
    Tags: plainTags(writer.TagList),
  });
}

/**
 * Restores an Aurora DB cluster from the pre-deploy cluster snapshot by rename-swap, one step per call:
 * capture → rename-cluster → wait-cluster-renamed → rename-writer → wait-writer-renamed →
 * restore-cluster → wait-cluster-available → create-writer → wait-writer-available → verify → done.
 * Each call makes at most one change and looks at what AWS shows first, so a repeated call is harmless.
 */
export class AuroraClusterRestorer implements DatabaseRestorer {
  constructor(
    private readonly rds: RDSClient,
    private readonly database: AuroraClusterDatabaseConfig,
    private readonly clock: Clock = systemClock,
  ) {}

  async advance(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    const current = state?.phase ? state : beginRestore(snapshot, this.clock.now());
    switch (current.phase) {
      case 'capture':
        return this.capture(snapshot, current);
      case 'rename-cluster':
        return this.renameCluster(current);
      case 'wait-cluster-renamed':
        return this.waitClusterRenamed(current);
      case 'rename-writer':
        return this.renameWriter(current);
      case 'wait-writer-renamed':
        return this.waitWriterRenamed(current);
      case 'restore-cluster':
        return this.restoreCluster(snapshot, current);
      case 'wait-cluster-available':
        return this.waitClusterAvailable(current);
      case 'create-writer':
        return this.createWriter(snapshot, current);
      case 'wait-writer-available':
        return this.waitWriterAvailable(current);
      case 'verify':
        return this.verify(snapshot, current);
      case 'done':
        return current;
      default:
        throw new RestoreFailedError(`restore.phase "${current.phase}" is not a step of an Aurora DB cluster restore`);
    }
  }

  private get original(): string {
    return this.database.clusterIdentifier;
  }

  /** Checks the snapshot before anything is touched, then records the cluster's and writer's settings and the names to keep them under. */
  private async capture(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const found = await findClusterSnapshot(this.rds, snapshot.id);
    if (!found) throw new RestoreFailedError(`cluster snapshot ${snapshot.id} does not exist (DBClusterSnapshotNotFound): nothing was changed`);
    if (found.Status !== 'available') throw new RestoreFailedError(`cluster snapshot ${snapshot.id} is in status "${found.Status}", not "available": nothing was changed`);
    if (found.DBClusterIdentifier !== this.original) {
      throw new RestoreFailedError(`cluster snapshot ${snapshot.id} was taken from DB cluster "${found.DBClusterIdentifier}", not "${this.original}": nothing was changed`);
    }
    const cluster = await findCluster(this.rds, this.original);
    if (!cluster) throw new RestoreFailedError(`DB cluster ${this.original} does not exist: there is nothing to copy its settings from`);
    const writerId = cluster.DBClusterMembers?.find((member) => member.IsClusterWriter)?.DBInstanceIdentifier;
    const writer = writerId === undefined ? undefined : await findInstance(this.rds, writerId);
    if (!writer) throw new RestoreFailedError(`DB cluster ${this.original} has no writer instance to copy: nothing was changed`);
    const now = this.clock.now();
    const clusterSettings = captureClusterSettings(cluster);
    const captured: Captured = {
      cluster: clusterSettings,
      writer: captureWriterSettings(writer, clusterSettings.Engine),
      failedWriter: failedCopyName(writer.DBInstanceIdentifier ?? '', now),
    };
    const failedCopy = failedCopyName(this.original, now);
    const detail = `captured the settings of ${this.original} and its writer ${captured.writer.DBInstanceIdentifier} (${captured.writer.DBInstanceClass}); they will be kept as ${failedCopy} and ${captured.failedWriter}`;
    return finishStep(state, detail, 'rename-cluster', now, { failedCopy, captured });
  }

  private async renameCluster(state: RestoreState): Promise<RestoreState> {
    const failedCopy = this.failedCopyOf(state);
    const outcome = await renameClusterAside(this.rds, this.original, failedCopy);
    if (outcome === 'waiting') return state;
    const detail = outcome === 'renamed' ? `renamed cluster ${this.original} to ${failedCopy}` : `cluster ${this.original} was already being renamed to ${failedCopy}`;
    return finishStep(state, detail, 'wait-cluster-renamed', this.clock.now());
  }

  private async waitClusterRenamed(state: RestoreState): Promise<RestoreState> {
    const failedCopy = this.failedCopyOf(state);
    if (await findCluster(this.rds, this.original)) return state;
    if ((await findCluster(this.rds, failedCopy))?.Status !== 'available') return state;
    return finishStep(state, `cluster ${failedCopy} is available and the name ${this.original} is free`, 'rename-writer', this.clock.now());
  }

  private async renameWriter(state: RestoreState): Promise<RestoreState> {
    const { writer, failedWriter } = this.capturedOf(state);
    const outcome = await renameInstanceAside(this.rds, writer.DBInstanceIdentifier, failedWriter);
    if (outcome === 'waiting') return state;
    const detail = outcome === 'renamed' ? `renamed writer ${writer.DBInstanceIdentifier} to ${failedWriter}` : `writer ${writer.DBInstanceIdentifier} was already being renamed to ${failedWriter}`;
    return finishStep(state, detail, 'wait-writer-renamed', this.clock.now());
  }

  private async waitWriterRenamed(state: RestoreState): Promise<RestoreState> {
    const { writer, failedWriter } = this.capturedOf(state);
    if (!(await instanceRenamed(this.rds, writer.DBInstanceIdentifier, failedWriter))) return state;
    return finishStep(state, `writer ${failedWriter} is available and the name ${writer.DBInstanceIdentifier} is free`, 'restore-cluster', this.clock.now());
  }

  private async restoreCluster(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const already = () => finishStep(state, `cluster ${this.original} was already being restored from ${snapshot.id}`, 'wait-cluster-available', this.clock.now());
    if (await this.clusterRestoreStarted(snapshot)) return already();
    const { cluster } = this.capturedOf(state);
    try {
      await this.rds.send(
        new RestoreDBClusterFromSnapshotCommand({
          ...cluster,
          DBClusterIdentifier: this.original,
          SnapshotIdentifier: snapshot.id,
          Tags: restoredTags(cluster.Tags, snapshot.id),
        }),
      );
    } catch (error) {
      // Right after a restore starts RDS may still report the name free: a repeated call then meets its own cluster.
      if (isFault(error, 'DBClusterAlreadyExistsFault') && (await this.clusterRestoreStarted(snapshot))) return already();
      throw restoreError(error, `DB cluster ${this.original}`, snapshot.id);
    }
    return finishStep(state, `started restoring cluster ${this.original} from snapshot ${snapshot.id}`, 'wait-cluster-available', this.clock.now());
  }

  /** True when the original name holds the cluster this restore started; throws when something else took the name. */
  private async clusterRestoreStarted(snapshot: SnapshotRef): Promise<boolean> {
    const existing = await findCluster(this.rds, this.original);
    if (!existing) return false;
    if (tagValue(existing.TagList, RESTORED_FROM_TAG) !== snapshot.id) {
      throw new RestoreFailedError(`DB cluster ${this.original} exists again but was not restored from snapshot ${snapshot.id}: refusing to touch it`);
    }
    return true;
  }

  private async waitClusterAvailable(state: RestoreState): Promise<RestoreState> {
    // RDS may not list a cluster it has just started restoring: keep waiting until it does.
    const status = (await findCluster(this.rds, this.original))?.Status;
    if (isStuck(status)) throw new RestoreFailedError(`the restored DB cluster ${this.original} is in status "${status}"`);
    if (status !== 'available') return state;
    return finishStep(state, `cluster ${this.original} is available`, 'create-writer', this.clock.now());
  }

  private async createWriter(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const { writer } = this.capturedOf(state);
    const id = writer.DBInstanceIdentifier;
    const already = () => finishStep(state, `writer ${id} was already being created`, 'wait-writer-available', this.clock.now());
    if (await this.writerCreated(id, snapshot)) return already();
    try {
      await this.rds.send(new CreateDBInstanceCommand({ ...writer, DBClusterIdentifier: this.original, Tags: restoredTags(writer.Tags, snapshot.id) }));
    } catch (error) {
      if (isFault(error, 'DBInstanceAlreadyExistsFault') && (await this.writerCreated(id, snapshot))) return already();
      throw restoreError(error, `writer ${id} of DB cluster ${this.original}`, snapshot.id);
    }
    return finishStep(state, `started creating writer ${id} (${writer.DBInstanceClass}) in cluster ${this.original}`, 'wait-writer-available', this.clock.now());
  }

  /** True when `id` is the writer this restore created; throws when another instance took the name. */
  private async writerCreated(id: string, snapshot: SnapshotRef): Promise<boolean> {
    const existing = await findInstance(this.rds, id);
    if (!existing) return false;
    if (existing.DBClusterIdentifier !== this.original || tagValue(existing.TagList, RESTORED_FROM_TAG) !== snapshot.id) {
      throw new RestoreFailedError(`DB instance ${id} exists again but is not the writer this restore created in ${this.original}: refusing to touch it`);
    }
    return true;
  }

  private async waitWriterAvailable(state: RestoreState): Promise<RestoreState> {
    const id = this.capturedOf(state).writer.DBInstanceIdentifier;
    const status = (await findInstance(this.rds, id))?.DBInstanceStatus;
    if (isStuck(status)) throw new RestoreFailedError(`the new writer ${id} is in status "${status}"`);
    if (status !== 'available') return state;
    return finishStep(state, `writer ${id} is available`, 'verify', this.clock.now());
  }

  private async verify(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const { cluster: settings, writer } = this.capturedOf(state);
    const cluster = await findCluster(this.rds, this.original);
    if (!cluster) throw new RestoreFailedError(`the restored DB cluster ${this.original} failed verification: it does not exist`);
    const problems: string[] = [];
    if (cluster.Status !== 'available') problems.push(`status is "${cluster.Status}"`);
    const restoredFrom = tagValue(cluster.TagList, RESTORED_FROM_TAG);
    if (restoredFrom !== snapshot.id) problems.push(`tag ${RESTORED_FROM_TAG} is "${restoredFrom ?? 'missing'}"`);
    if (!cluster.Endpoint) problems.push('it has no endpoint');
    const isWriter = cluster.DBClusterMembers?.some((member) => member.IsClusterWriter && member.DBInstanceIdentifier === writer.DBInstanceIdentifier);
    if (!isWriter) problems.push(`${writer.DBInstanceIdentifier} is not its writer`);
    if (settings.KmsKeyId !== undefined && cluster.KmsKeyId !== settings.KmsKeyId) problems.push(`KMS key is "${cluster.KmsKeyId ?? 'none'}", not "${settings.KmsKeyId}"`);
    if (problems.length > 0) throw new RestoreFailedError(`the restored DB cluster ${this.original} failed verification: ${problems.join('; ')}`);
    const detail = `verified ${this.original}: available at ${cluster.Endpoint}:${cluster.Port}, writer ${writer.DBInstanceIdentifier}, restored from ${snapshot.id}; the broken cluster is kept as ${state.failedCopy}`;
    return finishStep(state, detail, 'done', this.clock.now());
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

/** Renames DB cluster `original` to `failed` (kept, never deleted), unless AWS shows the rename done or under way. */
async function renameClusterAside(rds: RDSClient, original: string, failed: string): Promise<RenameOutcome> {
  if (await findCluster(rds, failed)) return 'already-renamed';
  const cluster = await findCluster(rds, original);
  if (!cluster) throw new RestoreFailedError(`cannot rename DB cluster ${original} to ${failed}: neither exists`);
  if (cluster.PendingModifiedValues?.DBClusterIdentifier === failed) return 'already-renamed';
  if (cluster.Status !== 'available') {
    if (isStuck(cluster.Status)) throw new RestoreFailedError(`cannot rename DB cluster ${original}: it is in status "${cluster.Status}"`);
    return 'waiting';
  }
  try {
    await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: original, NewDBClusterIdentifier: failed, ApplyImmediately: true }));
  } catch (error) {
    // The name carries this restore's timestamp: if it is taken, an earlier call of this restore took it.
    if (isFault(error, 'DBClusterAlreadyExistsFault')) return 'already-renamed';
    if (isFault(error, 'InvalidDBClusterStateFault')) {
      throw new RestoreFailedError(`cannot rename DB cluster ${original} (status "${cluster.Status}") to ${failed}: ${describeError(error)}`, { cause: error });
    }
    throw error;
  }
  return 'renamed';
}
