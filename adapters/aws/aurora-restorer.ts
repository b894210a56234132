import {
  CreateDBInstanceCommand,
  type DBCluster,
  type DBInstance,
  ModifyDBClusterCommand,
  type RDSClient,
  RestoreDBClusterFromSnapshotCommand,
} from '@aws-sdk/client-rds';
import * as z from 'zod/mini';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { DatabaseRestorer } from '../../core/ports/database-restorer';
import { RestoreFailedError } from '../../core/errors';
import type { RestoreState, SnapshotRef } from '../../core/model';
import type { AuroraClusterDatabaseConfig } from './rds-backups';
import { describeError, findCluster, findClusterSnapshot, findInstance, isFault, tagValue } from './rds-lookups';
import {
  RESTORED_FROM_TAG,
  type RenameOutcome,
  definedOnly,
  failedCopyName,
  finishStep,
  instanceRenamed,
  isStuck,
  renameInstanceAside,
  restoredTags,
} from './restore-progress';
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
 * The IAM action behind each AWS call AuroraClusterRestorer makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const AURORA_RESTORER_IAM = {
  modifyDBCluster: 'rds:ModifyDBCluster',
  restoreDBClusterFromSnapshot: 'rds:RestoreDBClusterFromSnapshot',
  createDBInstance: 'rds:CreateDBInstance',
  /** The restore and the new writer copy the failed cluster's tags: tagging on create is rds:AddTagsToResource. */
  tagOnRestore: 'rds:AddTagsToResource',
  /** Restoring a snapshot encrypted with a customer-managed key lets RDS use the key through a grant. */
  grantKey: 'kms:CreateGrant',
  describeKey: 'kms:DescribeKey',
} as const;

const TagList = z.optional(z.array(z.object({ Key: z.string(), Value: z.string() })));

/** The original cluster's settings, named as RestoreDBClusterFromSnapshot takes them. */
const ClusterSettings = z.object({
  Engine: z.string(),
  EngineVersion: z.optional(z.string()),
  DBSubnetGroupName: z.optional(z.string()),
  VpcSecurityGroupIds: z.optional(z.array(z.string())),
  DBClusterParameterGroupName: z.optional(z.string()),
  KmsKeyId: z.optional(z.string()),
  DeletionProtection: z.optional(z.boolean()),
  Port: z.optional(z.number()),
  EnableIAMDatabaseAuthentication: z.optional(z.boolean()),
  CopyTagsToSnapshot: z.optional(z.boolean()),
  EnableCloudwatchLogsExports: z.optional(z.array(z.string())),
  BackupRetentionPeriod: z.optional(z.number()),
  PreferredBackupWindow: z.optional(z.string()),
  ServerlessV2ScalingConfiguration: z.optional(
    z.object({ MinCapacity: z.optional(z.number()), MaxCapacity: z.optional(z.number()), SecondsUntilAutoPause: z.optional(z.number()) }),
  ),
  Tags: TagList,
});
type ClusterSettings = z.output<typeof ClusterSettings>;

/** The original writer instance's settings, named as CreateDBInstance takes them. */
const WriterSettings = z.object({
  DBInstanceIdentifier: z.string(),
  DBInstanceClass: z.string(),
  Engine: z.string(),
  DBParameterGroupName: z.optional(z.string()),
  PubliclyAccessible: z.optional(z.boolean()),
  AutoMinorVersionUpgrade: z.optional(z.boolean()),
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

/** How this restore names its snapshot in messages. */
const SNAPSHOT: SnapshotNames = { noun: 'cluster snapshot', notFound: 'DBClusterSnapshotNotFound' };

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

  advance(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    return advanceRestore(snapshot, state, this.clock, 'Aurora DB cluster restore', {
      capture: (current) => this.capture(snapshot, current),
      'rename-cluster': (current) => this.renameCluster(current),
      'wait-cluster-renamed': (current) => this.waitClusterRenamed(current),
      'rename-writer': (current) => this.renameWriter(current),
      'wait-writer-renamed': (current) => this.waitWriterRenamed(current),
      'restore-cluster': (current) => this.restoreCluster(snapshot, current),
      'wait-cluster-available': (current) => this.waitClusterAvailable(current),
      'create-writer': (current) => this.createWriter(snapshot, current),
      'wait-writer-available': (current) => this.waitWriterAvailable(current),
      verify: (current) => this.verify(snapshot, current),
    });
  }

  private get original(): string {
    return this.database.clusterIdentifier;
  }

  /** Checks the snapshot before anything is touched, then records the cluster's and writer's settings and the names to keep them under. */
  private async capture(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const found = await findClusterSnapshot(this.rds, snapshot.id);
    checkSnapshotBeforeRestore(found && { status: found.Status, source: found.DBClusterIdentifier }, snapshot.id, SNAPSHOT, 'DB cluster', this.original);
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
    const failedCopy = failedCopyOf(state);
    const outcome = await renameClusterAside(this.rds, this.original, failedCopy);
    return afterRename(state, outcome, `cluster ${this.original}`, failedCopy, 'wait-cluster-renamed', this.clock);
  }

  private async waitClusterRenamed(state: RestoreState): Promise<RestoreState> {
    const failedCopy = failedCopyOf(state);
    const renamed = await clusterRenamed(this.rds, this.original, failedCopy);
    return finishWhen(renamed, state, `cluster ${failedCopy} is available and the name ${this.original} is free`, 'rename-writer', this.clock);
  }

  private async renameWriter(state: RestoreState): Promise<RestoreState> {
    const { writer, failedWriter } = capturedOf(state, Captured);
    const outcome = await renameInstanceAside(this.rds, writer.DBInstanceIdentifier, failedWriter);
    return afterRename(state, outcome, `writer ${writer.DBInstanceIdentifier}`, failedWriter, 'wait-writer-renamed', this.clock);
  }

  private async waitWriterRenamed(state: RestoreState): Promise<RestoreState> {
    const { writer, failedWriter } = capturedOf(state, Captured);
    const renamed = await instanceRenamed(this.rds, writer.DBInstanceIdentifier, failedWriter);
    return finishWhen(renamed, state, `writer ${failedWriter} is available and the name ${writer.DBInstanceIdentifier} is free`, 'restore-cluster', this.clock);
  }

  private async restoreCluster(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const outcome = await createOnce({
      created: async () => isOwnRestore(await findCluster(this.rds, this.original), `DB cluster ${this.original}`, snapshot.id),
      create: () => {
        const { cluster } = capturedOf(state, Captured);
        return this.rds.send(
          new RestoreDBClusterFromSnapshotCommand({
            ...cluster,
            DBClusterIdentifier: this.original,
            SnapshotIdentifier: snapshot.id,
            Tags: restoredTags(cluster.Tags, snapshot.id),
          }),
        );
      },
      alreadyExistsFault: 'DBClusterAlreadyExistsFault',
      target: `DB cluster ${this.original}`,
      snapshotId: snapshot.id,
    });
    const detail =
      outcome === 'created' ? `started restoring cluster ${this.original} from snapshot ${snapshot.id}` : `cluster ${this.original} was already being restored from ${snapshot.id}`;
    return finishStep(state, detail, 'wait-cluster-available', this.clock.now());
  }

  private async waitClusterAvailable(state: RestoreState): Promise<RestoreState> {
    const status = (await findCluster(this.rds, this.original))?.Status;
    return finishWhenAvailable(state, status, { creating: `the restored DB cluster ${this.original}`, ready: `cluster ${this.original}` }, 'create-writer', this.clock);
  }

  private async createWriter(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const { writer } = capturedOf(state, Captured);
    const id = writer.DBInstanceIdentifier;
    const outcome = await createOnce({
      created: () => this.writerCreated(id, snapshot),
      create: () => this.rds.send(new CreateDBInstanceCommand({ ...writer, DBClusterIdentifier: this.original, Tags: restoredTags(writer.Tags, snapshot.id) })),
      alreadyExistsFault: 'DBInstanceAlreadyExistsFault',
      target: `writer ${id} of DB cluster ${this.original}`,
      snapshotId: snapshot.id,
    });
    const detail = outcome === 'created' ? `started creating writer ${id} (${writer.DBInstanceClass}) in cluster ${this.original}` : `writer ${id} was already being created`;
    return finishStep(state, detail, 'wait-writer-available', this.clock.now());
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
    const id = capturedOf(state, Captured).writer.DBInstanceIdentifier;
    const status = (await findInstance(this.rds, id))?.DBInstanceStatus;
    return finishWhenAvailable(state, status, { creating: `the new writer ${id}`, ready: `writer ${id}` }, 'verify', this.clock);
  }

  private async verify(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const { cluster: settings, writer } = capturedOf(state, Captured);
    const what = `the restored DB cluster ${this.original}`;
    const cluster = await findCluster(this.rds, this.original);
    if (!cluster) throw new RestoreFailedError(`${what} failed verification: it does not exist`);
    const isWriter = cluster.DBClusterMembers?.some((member) => member.IsClusterWriter && member.DBInstanceIdentifier === writer.DBInstanceIdentifier);
    verifyRestored(
      what,
      { status: cluster.Status, tags: cluster.TagList, hasEndpoint: Boolean(cluster.Endpoint), kmsKeyId: cluster.KmsKeyId },
      { snapshotId: snapshot.id, kmsKeyId: settings.KmsKeyId },
      isWriter ? [] : [`${writer.DBInstanceIdentifier} is not its writer`],
    );
    const detail = `verified ${this.original}: available at ${cluster.Endpoint}:${cluster.Port}, writer ${writer.DBInstanceIdentifier}, restored from ${snapshot.id}; the broken cluster is kept as ${state.failedCopy}`;
    return finishStep(state, detail, 'done', this.clock.now());
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

/** True once `original` is free and the renamed cluster `failed` is available again. */
async function clusterRenamed(rds: RDSClient, original: string, failed: string): Promise<boolean> {
  if (await findCluster(rds, original)) return false;
  return (await findCluster(rds, failed))?.Status === 'available';
}
