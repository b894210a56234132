import {
  CreateDBInstanceCommand,
  type DBCluster,
  type DBInstance,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  type RDSClient,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import * as z from 'zod/mini';
import type { DatabaseConfig } from '../../config/schema';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { ScratchRestorer } from '../../core/ports/database-restorer';
import { isDrillInstanceName } from '../../core/restore-drill';
import { RestoreFailedError } from '../../core/errors';
import type { Deployment, RestoreState, SnapshotRef } from '../../core/model';
import { captureClusterSettings, captureWriterSettings } from './aurora-restorer';
import { captureInstanceSettings } from './rds-restorer';
import { describeError, findCluster, findClusterSnapshot, findDbSnapshot, findInstance, isFault, tagValue } from './rds-lookups';
import { definedOnly, drillCopyName, finishStep, restoredTags } from './restore-progress';
import { type SnapshotNames, advanceRestore, capturedOf, checkSnapshotBeforeRestore, createOnce, finishWhenAvailable, plainTags, verifyRestored } from './restore-steps';

/**
 * The IAM action behind each AWS call the restore drill of an RDS instance or Aurora cluster makes, implicit ones
 * included: written beside the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const RDS_DRILL_IAM = {
  restoreDBInstanceFromDBSnapshot: 'rds:RestoreDBInstanceFromDBSnapshot',
  restoreDBClusterFromSnapshot: 'rds:RestoreDBClusterFromSnapshot',
  createDBInstance: 'rds:CreateDBInstance',
  /** The scratch copy is tagged as it is created: tagging on create is authorised as rds:AddTagsToResource. */
  tagOnCreate: 'rds:AddTagsToResource',
  deleteDBInstance: 'rds:DeleteDBInstance',
  deleteDBCluster: 'rds:DeleteDBCluster',
  /** Restoring a snapshot encrypted with a customer-managed key lets RDS use the key through a grant. */
  grantKey: 'kms:CreateGrant',
  describeKey: 'kms:DescribeKey',
} as const;

/** Marks a scratch copy as a drill's of this runbook (the value is the runbook's name): the IAM condition of the drill's deletes. */
export const DRILL_OF_TAG = 'deploy-runbook:drill-of';
/** The execution that created the scratch copy: only that execution's DiscardDrillCopy deletes it. */
export const DRILL_EXECUTION_TAG = 'deploy-runbook:drill-execution';

/** Who drills: the runbook (its name tags the copy) and the execution, whose start time names the copy. */
export type DrillOwner = Pick<Deployment, 'target' | 'executionId' | 'startedAt'>;

/** The tags of every drill copy: restored from the snapshot, of this runbook, by this execution; none of the live database's. */
function drillTags(owner: DrillOwner, snapshotId: string): { Key: string; Value: string }[] {
  return plainTags(restoredTags(
    [
      { Key: DRILL_OF_TAG, Value: owner.target },
      { Key: DRILL_EXECUTION_TAG, Value: owner.executionId },
    ],
    snapshotId,
  )) ?? [];
}

/** Why a resource named as this drill's copy is not one this execution made, or null when it is. */
function notOwnCopy(tags: readonly Tag[] | undefined, owner: DrillOwner): string | null {
  const drillOf = tagValue(tags, DRILL_OF_TAG);
  const execution = tagValue(tags, DRILL_EXECUTION_TAG);
  if (drillOf === owner.target && execution === owner.executionId) return null;
  return `it is not tagged as this execution's drill copy (${DRILL_OF_TAG} "${drillOf ?? 'missing'}", ${DRILL_EXECUTION_TAG} "${execution ?? 'missing'}")`;
}

/** The first state of a discard, when the drill stopped before its first answer: the copy is found by its name and tags. */
function discardedState(snapshot: SnapshotRef, state: RestoreState | null, scratch: string, detail: string, at: Date): RestoreState {
  const steps = state?.steps ?? [];
  return {
    restored: state?.restored ?? false,
    decision: state?.decision ?? 'restoring',
    phase: 'discarded',
    failedCopy: null,
    scratch,
    scratchHost: state?.scratchHost ?? null,
    snapshotId: snapshot.id,
    steps: [...steps, { phase: 'discard', at: at.toISOString(), detail }],
    startedAt: state?.startedAt ?? null,
    finishedAt: at.toISOString(),
  };
}

/** Common to both drills: the scratch name from the execution's start, and the checks before anything is deleted. */
abstract class RdsDrill implements ScratchRestorer {
  /** `original`: the live instance or cluster identifier, never touched. */
  constructor(
    protected readonly rds: RDSClient,
    protected readonly original: string,
    protected readonly owner: DrillOwner,
    protected readonly clock: Clock = systemClock,
  ) {}
  /** `DB instance` or `DB cluster`, as messages name it. */
  protected abstract readonly noun: string;

  abstract restoreScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState>;
  /** Deletes the copy found under `scratch` (checked as this execution's); returns what it did. */
  protected abstract deleteCopy(scratch: string): Promise<string>;

  /** `<original>-drill-<execution start>`: the same on every call of this execution, so a re-run finds its own copy. */
  protected get scratch(): string {
    return drillCopyName(this.original, new Date(this.owner.startedAt));
  }

  /**
   * Deletes the drill's copy, whether its check passed or failed: only the identifier this execution derives, shaped
   * as a drill copy, never the live database, and only when it carries this execution's drill tags. Anything else is
   * refused by name and left as it is.
   */
  async discardScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    if (state?.phase === 'discarded') return state;
    const scratch = this.scratch;
    const named = state?.scratch ?? scratch;
    if (named !== scratch || !isDrillInstanceName(named, this.original)) {
      throw new RestoreFailedError(`refusing to delete ${this.noun} ${JSON.stringify(named)}: the drill of ${snapshot.id} only deletes its own copy ${scratch}, never ${this.original}`);
    }
    const detail = await this.deleteCopy(scratch);
    return discardedState(snapshot, state, scratch, `${detail}; ${this.original} was not touched`, this.clock.now());
  }

  /** Refuses to go on with a resource under the drill's name that this execution did not create. */
  protected ensureOwn(tags: readonly Tag[] | undefined, scratch: string, doing: string): void {
    const problem = notOwnCopy(tags, this.owner);
    if (problem) throw new RestoreFailedError(`refusing to ${doing} ${this.noun} ${scratch}: ${problem}`);
  }

  /** The delete call; a copy RDS is already deleting, or that is gone, counts as deleted. */
  protected async deleteOnce(scratch: string, send: () => Promise<unknown>, notFoundFault: string): Promise<'deleted' | 'gone'> {
    try {
      await send();
      return 'deleted';
    } catch (error) {
      if (isFault(error, notFoundFault)) return 'gone';
      throw new RestoreFailedError(`could not delete the drill copy ${this.noun} ${scratch}: ${describeError(error)}`, { cause: error });
    }
  }

  /** True when the copy exists and is this execution's (creating it again is then skipped); throws when another holds the name. */
  protected own(found: { readonly TagList?: Tag[] } | undefined, scratch: string): boolean {
    if (!found) return false;
    this.ensureOwn(found.TagList, scratch, 'use');
    return true;
  }
}

const DB_SNAPSHOT: SnapshotNames = { noun: 'snapshot', notFound: 'DBSnapshotNotFound' };
const CLUSTER_SNAPSHOT: SnapshotNames = { noun: 'cluster snapshot', notFound: 'DBClusterSnapshotNotFound' };

const InstanceCaptured = z.object({
  /** RestoreDBInstanceFromDBSnapshot's parameters, the scratch's identifier and tags included. */
  restore: z.looseObject({ DBInstanceIdentifier: z.string(), DBSnapshotIdentifier: z.string() }),
  kmsKeyId: z.nullable(z.string()),
});

/**
 * The restore drill of an RDS DB instance: restores the fresh snapshot into `<instance>-drill-<ts>` beside the live
 * instance (capture → restore → wait-available → done), then deletes that copy. The copy has the source's subnet
 * group, security groups, parameter and option groups and port, so the checks reach it as they reach the source;
 * it is private, single-AZ, without deletion protection or automated backups, and tagged as this execution's.
 */
export class RdsInstanceDrill extends RdsDrill {
  protected readonly noun = 'DB instance';

  restoreScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    return advanceRestore(snapshot, state, this.clock, 'RDS restore drill', {
      capture: (current) => this.capture(snapshot, current),
      restore: (current) => this.restore(snapshot, current),
      'wait-available': (current) => this.waitAvailable(snapshot, current),
    });
  }

  private async capture(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const found = await findDbSnapshot(this.rds, snapshot.id);
    checkSnapshotBeforeRestore(found && { status: found.Status, source: found.DBInstanceIdentifier }, snapshot.id, DB_SNAPSHOT, 'DB instance', this.original);
    const instance = await findInstance(this.rds, this.original);
    if (!instance) throw new RestoreFailedError(`DB instance ${this.original} does not exist: there are no settings to give the drill copy`);
    const scratch = this.scratch;
    const restore = definedOnly({
      ...scratchSettings(instance),
      DBInstanceIdentifier: scratch,
      DBSnapshotIdentifier: snapshot.id,
      Tags: drillTags(this.owner, snapshot.id),
    });
    const detail = `captured the network and settings of ${this.original}; the drill copy will be ${scratch}`;
    return finishStep(state, detail, 'restore', this.clock.now(), { scratch, scratchHost: null, captured: { restore, kmsKeyId: instance.KmsKeyId ?? null } });
  }

  private async restore(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const scratch = this.scratch;
    const outcome = await createOnce({
      created: async () => this.own(await findInstance(this.rds, scratch), scratch),
      create: () => this.rds.send(new RestoreDBInstanceFromDBSnapshotCommand(capturedOf(state, InstanceCaptured).restore)),
      alreadyExistsFault: 'DBInstanceAlreadyExistsFault',
      target: `drill copy ${scratch}`,
      snapshotId: snapshot.id,
    });
    const detail = outcome === 'created' ? `started restoring snapshot ${snapshot.id} into ${scratch}` : `${scratch} was already being restored from ${snapshot.id}`;
    return finishStep(state, detail, 'wait-available', this.clock.now());
  }

  private async waitAvailable(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const scratch = this.scratch;
    const instance = await findInstance(this.rds, scratch);
    const waited = finishWhenAvailable(state, instance?.DBInstanceStatus, { creating: `the drill copy ${scratch}`, ready: scratch }, 'done', this.clock);
    if (waited.phase !== 'done' || !instance) return waited;
    this.ensureOwn(instance.TagList, scratch, 'check');
    const { kmsKeyId } = capturedOf(state, InstanceCaptured);
    verifyRestored(
      `the drill copy ${scratch}`,
      { status: instance.DBInstanceStatus, tags: instance.TagList, hasEndpoint: Boolean(instance.Endpoint?.Address), kmsKeyId: instance.KmsKeyId },
      { snapshotId: snapshot.id, kmsKeyId: kmsKeyId ?? undefined },
      [],
    );
    return { ...waited, scratchHost: instance.Endpoint?.Address ?? null };
  }

  protected async deleteCopy(scratch: string): Promise<string> {
    const instance = await findInstance(this.rds, scratch);
    if (!instance) return `${scratch} does not exist (never created, or already deleted)`;
    this.ensureOwn(instance.TagList, scratch, 'delete');
    if (instance.DBInstanceStatus === 'deleting') return `${scratch} was already being deleted`;
    // A drill copy is a throwaway restore of a snapshot that stays: a final snapshot would only duplicate it.
    const sent = await this.deleteOnce(scratch, () => this.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: scratch, SkipFinalSnapshot: true, DeleteAutomatedBackups: true })), 'DBInstanceNotFoundFault');
    return sent === 'deleted' ? `deleted the drill copy ${scratch}` : `${scratch} was already deleted`;
  }
}

/** The live instance's settings as the scratch copy takes them: same network and groups; private, single-AZ, no backups, unprotected. */
function scratchSettings(instance: DBInstance): Record<string, unknown> {
  const { Tags: _tags, MultiAZ: _multiAz, BackupRetentionPeriod: _retention, PreferredBackupWindow: _window, CopyTagsToSnapshot: _copy, EnableCloudwatchLogsExports: _logs, ...kept } = captureInstanceSettings(instance);
  // Retention 0: no automated backups of a copy that lives minutes (and no backing-up status to wait through).
  return { ...kept, DeletionProtection: false, PubliclyAccessible: false, MultiAZ: false, BackupRetentionPeriod: 0 };
}

const ClusterCaptured = z.object({
  /** RestoreDBClusterFromSnapshot's parameters, the scratch's identifier and tags included. */
  cluster: z.looseObject({ DBClusterIdentifier: z.string(), SnapshotIdentifier: z.string(), Engine: z.string() }),
  /** CreateDBInstance's parameters of the scratch cluster's one writer. */
  writer: z.looseObject({ DBInstanceIdentifier: z.string(), DBClusterIdentifier: z.string(), DBInstanceClass: z.string(), Engine: z.string() }),
  kmsKeyId: z.nullable(z.string()),
});

/**
 * The restore drill of an Aurora DB cluster: restores the fresh cluster snapshot into the cluster
 * `<cluster>-drill-<ts>` and creates one writer in it under the same identifier (instance and cluster identifiers are
 * separate namespaces): capture → restore-cluster → wait-cluster-available → create-writer → wait-writer-available →
 * done; then deletes the writer and the cluster. Same subnet group, security groups and parameter groups as the
 * source; private, without deletion protection, tagged as this execution's.
 */
export class AuroraClusterDrill extends RdsDrill {
  protected readonly noun = 'DB cluster';

  restoreScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    return advanceRestore(snapshot, state, this.clock, 'Aurora restore drill', {
      capture: (current) => this.capture(snapshot, current),
      'restore-cluster': (current) => this.restoreCluster(snapshot, current),
      'wait-cluster-available': (current) => this.waitCluster(current),
      'create-writer': (current) => this.createWriter(snapshot, current),
      'wait-writer-available': (current) => this.waitWriter(snapshot, current),
    });
  }

  private async capture(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const found = await findClusterSnapshot(this.rds, snapshot.id);
    checkSnapshotBeforeRestore(found && { status: found.Status, source: found.DBClusterIdentifier }, snapshot.id, CLUSTER_SNAPSHOT, 'DB cluster', this.original);
    const cluster = await findCluster(this.rds, this.original);
    if (!cluster) throw new RestoreFailedError(`DB cluster ${this.original} does not exist: there are no settings to give the drill copy`);
    const writerId = cluster.DBClusterMembers?.find((member) => member.IsClusterWriter)?.DBInstanceIdentifier;
    const writer = writerId === undefined ? undefined : await findInstance(this.rds, writerId);
    if (!writer) throw new RestoreFailedError(`DB cluster ${this.original} has no writer instance whose class the drill copy could take: nothing was created`);
    const scratch = this.scratch;
    const tags = drillTags(this.owner, snapshot.id);
    const clusterSettings = scratchClusterSettings(cluster);
    const captured = {
      cluster: definedOnly({ ...clusterSettings, DBClusterIdentifier: scratch, SnapshotIdentifier: snapshot.id, Tags: tags }),
      writer: definedOnly({ ...scratchWriterSettings(writer, String(clusterSettings.Engine)), DBInstanceIdentifier: scratch, DBClusterIdentifier: scratch, Tags: tags }),
      kmsKeyId: cluster.KmsKeyId ?? null,
    };
    const detail = `captured the network and settings of ${this.original} and its writer ${writerId}; the drill copy will be cluster ${scratch} with writer ${scratch}`;
    return finishStep(state, detail, 'restore-cluster', this.clock.now(), { scratch, scratchHost: null, captured });
  }

  private async restoreCluster(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const scratch = this.scratch;
    const outcome = await createOnce({
      created: async () => this.own(await findCluster(this.rds, scratch), scratch),
      create: () => this.rds.send(new RestoreDBClusterFromSnapshotCommand(capturedOf(state, ClusterCaptured).cluster)),
      alreadyExistsFault: 'DBClusterAlreadyExistsFault',
      target: `drill copy cluster ${scratch}`,
      snapshotId: snapshot.id,
    });
    const detail = outcome === 'created' ? `started restoring cluster snapshot ${snapshot.id} into cluster ${scratch}` : `cluster ${scratch} was already being restored from ${snapshot.id}`;
    return finishStep(state, detail, 'wait-cluster-available', this.clock.now());
  }

  private async waitCluster(state: RestoreState): Promise<RestoreState> {
    const scratch = this.scratch;
    const status = (await findCluster(this.rds, scratch))?.Status;
    return finishWhenAvailable(state, status, { creating: `the drill copy cluster ${scratch}`, ready: `cluster ${scratch}` }, 'create-writer', this.clock);
  }

  private async createWriter(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const scratch = this.scratch;
    const outcome = await createOnce({
      created: async () => this.ownWriter(await findInstance(this.rds, scratch), scratch),
      create: () => this.rds.send(new CreateDBInstanceCommand(capturedOf(state, ClusterCaptured).writer)),
      alreadyExistsFault: 'DBInstanceAlreadyExistsFault',
      target: `writer ${scratch} of the drill copy`,
      snapshotId: snapshot.id,
    });
    const detail = outcome === 'created' ? `started creating writer ${scratch} in cluster ${scratch}` : `writer ${scratch} was already being created`;
    return finishStep(state, detail, 'wait-writer-available', this.clock.now());
  }

  /** The writer under the drill's name must be this execution's and sit in the drill's cluster. */
  private ownWriter(found: DBInstance | undefined, scratch: string): boolean {
    if (!this.own(found, scratch)) return false;
    if (found?.DBClusterIdentifier !== scratch) throw new RestoreFailedError(`refusing to use DB instance ${scratch}: it belongs to cluster "${found?.DBClusterIdentifier ?? 'none'}", not the drill copy ${scratch}`);
    return true;
  }

  private async waitWriter(snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const scratch = this.scratch;
    const status = (await findInstance(this.rds, scratch))?.DBInstanceStatus;
    const waited = finishWhenAvailable(state, status, { creating: `the drill copy's writer ${scratch}`, ready: `writer ${scratch}` }, 'done', this.clock);
    if (waited.phase !== 'done') return waited;
    const cluster = await findCluster(this.rds, scratch);
    if (!cluster) throw new RestoreFailedError(`the drill copy cluster ${scratch} failed verification: it does not exist`);
    this.ensureOwn(cluster.TagList, scratch, 'check');
    const isWriter = cluster.DBClusterMembers?.some((member) => member.IsClusterWriter && member.DBInstanceIdentifier === scratch);
    verifyRestored(
      `the drill copy cluster ${scratch}`,
      { status: cluster.Status, tags: cluster.TagList, hasEndpoint: Boolean(cluster.Endpoint), kmsKeyId: cluster.KmsKeyId },
      { snapshotId: snapshot.id, kmsKeyId: capturedOf(state, ClusterCaptured).kmsKeyId ?? undefined },
      isWriter ? [] : [`${scratch} is not its writer`],
    );
    return { ...waited, scratchHost: cluster.Endpoint ?? null };
  }

  /** The writer first, then the cluster: RDS deletes a cluster whose instances are all deleting. */
  protected async deleteCopy(scratch: string): Promise<string> {
    const cluster = await findCluster(this.rds, scratch);
    const writer = await findInstance(this.rds, scratch);
    if (!cluster && !writer) return `cluster ${scratch} does not exist (never created, or already deleted)`;
    if (writer) {
      this.ensureOwn(writer.TagList, scratch, 'delete');
      if (writer.DBClusterIdentifier !== scratch) throw new RestoreFailedError(`refusing to delete DB instance ${scratch}: it belongs to cluster "${writer.DBClusterIdentifier ?? 'none'}", not the drill copy ${scratch}`);
    }
    if (cluster) this.ensureOwn(cluster.TagList, scratch, 'delete');
    const done: string[] = [];
    if (writer && writer.DBInstanceStatus !== 'deleting') {
      const sent = await this.deleteOnce(scratch, () => this.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: scratch, SkipFinalSnapshot: true })), 'DBInstanceNotFoundFault');
      if (sent === 'deleted') done.push(`deleted writer ${scratch}`);
    }
    if (cluster && cluster.Status !== 'deleting') {
      // A drill copy is a throwaway restore of a snapshot that stays: a final snapshot would only duplicate it.
      const sent = await this.deleteOnce(scratch, () => this.rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: scratch, SkipFinalSnapshot: true })), 'DBClusterNotFoundFault');
      if (sent === 'deleted') done.push(`deleted the drill copy cluster ${scratch}`);
    }
    return done.length > 0 ? done.join(', ') : `cluster ${scratch} was already being deleted`;
  }
}

/** The live cluster's settings as the scratch cluster takes them: same network and groups and key; unprotected, its own tags. */
function scratchClusterSettings(cluster: DBCluster): Record<string, unknown> {
  const { Tags: _tags, PreferredBackupWindow: _window, CopyTagsToSnapshot: _copy, EnableCloudwatchLogsExports: _logs, BackupRetentionPeriod: _retention, ...kept } = captureClusterSettings(cluster);
  return { ...kept, DeletionProtection: false };
}

/** The live writer's class and parameter group for the scratch writer; private. */
function scratchWriterSettings(writer: DBInstance, engine: string): Record<string, unknown> {
  const { Tags: _tags, DBInstanceIdentifier: _id, ...kept } = captureWriterSettings(writer, engine);
  return { ...kept, PubliclyAccessible: false };
}

/** The drill of the configured RDS instance or Aurora cluster, or null for a database kind drilled otherwise. */
export function rdsDrillOf(database: DatabaseConfig | null, rds: RDSClient, owner: DrillOwner): ScratchRestorer | null {
  if (database?.kind === 'rds-instance') return new RdsInstanceDrill(rds, database.instanceIdentifier, owner);
  if (database?.kind === 'aurora-cluster') return new AuroraClusterDrill(rds, database.clusterIdentifier, owner);
  return null;
}
