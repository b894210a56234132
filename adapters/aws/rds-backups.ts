import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  type DBClusterSnapshot,
  type DBSnapshot,
  DescribeAccountAttributesCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import type { DatabaseConfig } from '../../config/schema';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { DatabaseBackups, SnapshotQuota } from '../../core/ports/database-backups';
import { PreflightFailedError, SnapshotFailedError } from '../../core/errors';
import type { DatabaseInfo, SnapshotRef } from '../../core/model';
import { describeError, findCluster, findClusterSnapshot, findDbSnapshot, findInstance, isFault, toTagList } from './rds-lookups';
import { type SnapshotExpectations, type SnapshotFacts, gibToBytes, snapshotStatus, verifySnapshot } from './snapshot-checks';

/**
 * The IAM action behind each AWS call the snapshot adapters makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const RDS_BACKUPS_IAM = {
  createDBSnapshot: 'rds:CreateDBSnapshot',
  createDBClusterSnapshot: 'rds:CreateDBClusterSnapshot',
  /** Create…Snapshot with tags: tagging on create is authorised as rds:AddTagsToResource. */
  tagOnCreate: 'rds:AddTagsToResource',
  describeAccountAttributes: 'rds:DescribeAccountAttributes',
} as const;

/** `config.database` when it names an RDS DB instance. */
export type RdsInstanceDatabaseConfig = Extract<DatabaseConfig, { kind: 'rds-instance' }>;
/** `config.database` when it names an Aurora DB cluster. */
export type AuroraClusterDatabaseConfig = Extract<DatabaseConfig, { kind: 'aurora-cluster' }>;

/** Manual snapshots count against an account quota; RDS names it per snapshot kind. */
async function accountQuota(rds: RDSClient, name: 'ManualSnapshots' | 'ManualClusterSnapshots'): Promise<SnapshotQuota | null> {
  const { AccountQuotas } = await rds.send(new DescribeAccountAttributesCommand({}));
  const quota = AccountQuotas?.find((q) => q.AccountQuotaName === name);
  return quota?.Used === undefined || quota.Max === undefined ? null : { used: quota.Used, max: quota.Max };
}

/** Turns the faults a snapshot creation can hit into a SnapshotFailedError that says what to do about them. */
function creationError(error: unknown, snapshotId: string, source: string): unknown {
  if (isFault(error, 'SnapshotQuotaExceededFault')) {
    return new SnapshotFailedError(`cannot create snapshot ${snapshotId} of ${source}: the manual snapshot quota is used up (${describeError(error)})`, { cause: error });
  }
  if (isFault(error, 'InvalidDBInstanceStateFault', 'InvalidDBClusterStateFault')) {
    return new SnapshotFailedError(`cannot create snapshot ${snapshotId}: ${source} is not in a state to snapshot (${describeError(error)})`, { cause: error });
  }
  return error;
}

/** A DB snapshot or a DB cluster snapshot as the runbook reads it: the two APIs name the same facts differently. */
interface RdsSnapshot extends Omit<SnapshotFacts, 'id'> {
  readonly identifier: string | undefined;
  readonly arn: string | undefined;
  readonly engine: string | undefined;
  readonly allocatedGib: number | undefined;
  readonly createdAt: Date | undefined;
}

function fromDbSnapshot(snapshot: DBSnapshot): RdsSnapshot {
  return {
    identifier: snapshot.DBSnapshotIdentifier,
    arn: snapshot.DBSnapshotArn,
    source: snapshot.DBInstanceIdentifier,
    status: snapshot.Status,
    engine: snapshot.Engine,
    encrypted: snapshot.Encrypted,
    kmsKeyId: snapshot.KmsKeyId,
    allocatedGib: snapshot.AllocatedStorage,
    createdAt: snapshot.SnapshotCreateTime,
  };
}

function fromClusterSnapshot(snapshot: DBClusterSnapshot): RdsSnapshot {
  return {
    identifier: snapshot.DBClusterSnapshotIdentifier,
    arn: snapshot.DBClusterSnapshotArn,
    source: snapshot.DBClusterIdentifier,
    status: snapshot.Status,
    engine: snapshot.Engine,
    encrypted: snapshot.StorageEncrypted,
    kmsKeyId: snapshot.KmsKeyId,
    allocatedGib: snapshot.AllocatedStorage,
    createdAt: snapshot.SnapshotCreateTime,
  };
}

/** What differs between the two kinds of snapshot, beyond the API calls: names in results and messages. */
interface SnapshotKind {
  readonly kind: SnapshotRef['kind'];
  /** `snapshot` or `cluster snapshot`. */
  readonly noun: string;
  /** The fault a create call gets when the identifier is taken. */
  readonly alreadyExistsFault: string;
  /** `instance` or `cluster`, as verification names the source. */
  readonly sourceKind: string;
}

const INSTANCE_SNAPSHOT: SnapshotKind = { kind: 'rds-instance', noun: 'snapshot', alreadyExistsFault: 'DBSnapshotAlreadyExistsFault', sourceKind: 'instance' };
const CLUSTER_SNAPSHOT: SnapshotKind = { kind: 'aurora-cluster', noun: 'cluster snapshot', alreadyExistsFault: 'DBClusterSnapshotAlreadyExistsFault', sourceKind: 'cluster' };

/** The runbook's record of a snapshot RDS reported; `source` stands in for a source RDS left out. */
function toRef(kind: SnapshotKind, snapshot: RdsSnapshot, requestedId: string, source: string, clock: Clock): SnapshotRef {
  return {
    id: snapshot.identifier ?? requestedId,
    arn: snapshot.arn ?? null,
    kind: kind.kind,
    source: snapshot.source ?? source,
    status: snapshotStatus(snapshot.status),
    engine: snapshot.engine ?? null,
    encrypted: snapshot.encrypted ?? null,
    sizeBytes: gibToBytes(snapshot.allocatedGib),
    location: null,
    checksum: null,
    startedAt: (snapshot.createdAt ?? clock.now()).toISOString(),
    completedAt: null,
    verification: [],
  };
}

/** Makes the create call; when the identifier is taken, the snapshot found under it is the result. `sourceName` is for messages. */
async function createOrAdopt(
  kind: SnapshotKind,
  snapshotId: string,
  sourceName: string,
  calls: { readonly create: () => Promise<SnapshotRef>; readonly find: () => Promise<SnapshotRef | undefined> },
): Promise<SnapshotRef> {
  try {
    return await calls.create();
  } catch (error) {
    // A concurrent attempt of the same task created it first: that snapshot is ours.
    if (!isFault(error, kind.alreadyExistsFault)) throw creationError(error, snapshotId, sourceName);
    const existing = await calls.find();
    if (!existing) throw new SnapshotFailedError(`${kind.noun} ${snapshotId} was reported as existing but cannot be found`, { cause: error });
    return existing;
  }
}

/** Checks the snapshot RDS reports now against the configured database, or fails when it is gone. */
function verifyFound(
  kind: SnapshotKind,
  found: RdsSnapshot | undefined,
  snapshotId: string,
  expected: Omit<SnapshotExpectations, 'sourceKind'>,
): string[] {
  if (!found) throw new SnapshotFailedError(`${kind.noun} ${snapshotId} no longer exists`);
  return verifySnapshot({ ...found, id: snapshotId }, { ...expected, sourceKind: kind.sourceKind });
}

/** Pre-deploy backups of an RDS DB instance: manual DB snapshots. */
export class RdsInstanceBackups implements DatabaseBackups {
  constructor(
    private readonly rds: RDSClient,
    private readonly database: RdsInstanceDatabaseConfig,
    private readonly clock: Clock = systemClock,
  ) {}

  async describe(): Promise<DatabaseInfo> {
    const id = this.database.instanceIdentifier;
    const instance = await findInstance(this.rds, id);
    if (!instance) throw new PreflightFailedError(`database.instanceIdentifier: RDS DB instance "${id}" does not exist in this account and region`);
    return {
      kind: 'rds-instance',
      identifier: id,
      arn: instance.DBInstanceArn ?? null,
      engine: instance.Engine ?? 'unknown',
      engineVersion: instance.EngineVersion ?? null,
      status: instance.DBInstanceStatus ?? 'unknown',
      encrypted: instance.StorageEncrypted ?? null,
      sizeBytes: gibToBytes(instance.AllocatedStorage),
    };
  }

  quota(): Promise<SnapshotQuota | null> {
    return accountQuota(this.rds, 'ManualSnapshots');
  }

  async find(snapshotId: string): Promise<SnapshotRef | undefined> {
    const snapshot = await findDbSnapshot(this.rds, snapshotId);
    return snapshot && this.toRef(snapshot, snapshotId);
  }

  create(snapshotId: string, tags: Record<string, string>): Promise<SnapshotRef> {
    const source = this.database.instanceIdentifier;
    return createOrAdopt(INSTANCE_SNAPSHOT, snapshotId, `RDS DB instance ${source}`, {
      create: async () => {
        const { DBSnapshot: created } = await this.rds.send(
          new CreateDBSnapshotCommand({ DBSnapshotIdentifier: snapshotId, DBInstanceIdentifier: source, Tags: toTagList(tags) }),
        );
        return this.toRef(created ?? { DBInstanceIdentifier: source, Status: 'creating' }, snapshotId);
      },
      find: () => this.find(snapshotId),
    });
  }

  async verify(snapshot: SnapshotRef, source: DatabaseInfo): Promise<string[]> {
    const found = await findDbSnapshot(this.rds, snapshot.id);
    return verifyFound(INSTANCE_SNAPSHOT, found && fromDbSnapshot(found), snapshot.id, {
      source: this.database.instanceIdentifier,
      sourceEncrypted: source.encrypted,
      kmsKeyArn: this.database.kmsKeyArn,
    });
  }

  private toRef(snapshot: DBSnapshot, requestedId: string): SnapshotRef {
    return toRef(INSTANCE_SNAPSHOT, fromDbSnapshot(snapshot), requestedId, this.database.instanceIdentifier, this.clock);
  }
}

/** Pre-deploy backups of an Aurora DB cluster: manual DB cluster snapshots. */
export class AuroraClusterBackups implements DatabaseBackups {
  constructor(
    private readonly rds: RDSClient,
    private readonly database: AuroraClusterDatabaseConfig,
    private readonly clock: Clock = systemClock,
  ) {}

  async describe(): Promise<DatabaseInfo> {
    const id = this.database.clusterIdentifier;
    const cluster = await findCluster(this.rds, id);
    if (!cluster) throw new PreflightFailedError(`database.clusterIdentifier: Aurora DB cluster "${id}" does not exist in this account and region`);
    return {
      kind: 'aurora-cluster',
      identifier: id,
      arn: cluster.DBClusterArn ?? null,
      engine: cluster.Engine ?? 'unknown',
      engineVersion: cluster.EngineVersion ?? null,
      status: cluster.Status ?? 'unknown',
      encrypted: cluster.StorageEncrypted ?? null,
      // Aurora reports AllocatedStorage as a constant 1: its storage grows on demand.
      sizeBytes: null,
    };
  }

  quota(): Promise<SnapshotQuota | null> {
    return accountQuota(this.rds, 'ManualClusterSnapshots');
  }

  async find(snapshotId: string): Promise<SnapshotRef | undefined> {
    const snapshot = await findClusterSnapshot(this.rds, snapshotId);
    return snapshot && this.toRef(snapshot, snapshotId);
  }

  create(snapshotId: string, tags: Record<string, string>): Promise<SnapshotRef> {
    const source = this.database.clusterIdentifier;
    return createOrAdopt(CLUSTER_SNAPSHOT, snapshotId, `Aurora DB cluster ${source}`, {
      create: async () => {
        const { DBClusterSnapshot: created } = await this.rds.send(
          new CreateDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: snapshotId, DBClusterIdentifier: source, Tags: toTagList(tags) }),
        );
        return this.toRef(created ?? { DBClusterIdentifier: source, Status: 'creating' }, snapshotId);
      },
      find: () => this.find(snapshotId),
    });
  }

  async verify(snapshot: SnapshotRef, source: DatabaseInfo): Promise<string[]> {
    const found = await findClusterSnapshot(this.rds, snapshot.id);
    return verifyFound(CLUSTER_SNAPSHOT, found && fromClusterSnapshot(found), snapshot.id, {
      source: this.database.clusterIdentifier,
      sourceEncrypted: source.encrypted,
      kmsKeyArn: this.database.kmsKeyArn,
    });
  }

  private toRef(snapshot: DBClusterSnapshot, requestedId: string): SnapshotRef {
    return toRef(CLUSTER_SNAPSHOT, fromClusterSnapshot(snapshot), requestedId, this.database.clusterIdentifier, this.clock);
  }
}
