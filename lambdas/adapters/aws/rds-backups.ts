import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  type DBClusterSnapshot,
  type DBSnapshot,
  DescribeAccountAttributesCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import type { DatabaseConfig } from '../../../config/schema';
import { type Clock, systemClock } from '../../ports/clock';
import type { DatabaseBackups, SnapshotQuota } from '../../ports/database-backups';
import { PreflightFailedError, SnapshotFailedError } from '../../shared/errors';
import type { DatabaseInfo, SnapshotRef } from '../../shared/model';
import { describeError, findCluster, findClusterSnapshot, findDbSnapshot, findInstance, isFault, toTagList } from './rds-lookups';
import { gibToBytes, snapshotStatus, verifySnapshot } from './snapshot-checks';

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

  async create(snapshotId: string, tags: Record<string, string>): Promise<SnapshotRef> {
    const source = this.database.instanceIdentifier;
    try {
      const { DBSnapshot: created } = await this.rds.send(
        new CreateDBSnapshotCommand({ DBSnapshotIdentifier: snapshotId, DBInstanceIdentifier: source, Tags: toTagList(tags) }),
      );
      return this.toRef(created ?? { DBInstanceIdentifier: source, Status: 'creating' }, snapshotId);
    } catch (error) {
      // A concurrent attempt of the same task created it first: that snapshot is ours.
      if (!isFault(error, 'DBSnapshotAlreadyExistsFault')) throw creationError(error, snapshotId, `RDS DB instance ${source}`);
      const existing = await this.find(snapshotId);
      if (!existing) throw new SnapshotFailedError(`snapshot ${snapshotId} was reported as existing but cannot be found`, { cause: error });
      return existing;
    }
  }

  async verify(snapshot: SnapshotRef, source: DatabaseInfo): Promise<string[]> {
    const found = await findDbSnapshot(this.rds, snapshot.id);
    if (!found) throw new SnapshotFailedError(`snapshot ${snapshot.id} no longer exists`);
    return verifySnapshot(
      { id: snapshot.id, status: found.Status, encrypted: found.Encrypted, kmsKeyId: found.KmsKeyId, source: found.DBInstanceIdentifier },
      { sourceKind: 'instance', source: this.database.instanceIdentifier, sourceEncrypted: source.encrypted, kmsKeyArn: this.database.kmsKeyArn },
    );
  }

  private toRef(snapshot: DBSnapshot, requestedId: string): SnapshotRef {
    return {
      id: snapshot.DBSnapshotIdentifier ?? requestedId,
      arn: snapshot.DBSnapshotArn ?? null,
      kind: 'rds-instance',
      source: snapshot.DBInstanceIdentifier ?? this.database.instanceIdentifier,
      status: snapshotStatus(snapshot.Status),
      engine: snapshot.Engine ?? null,
      encrypted: snapshot.Encrypted ?? null,
      sizeBytes: gibToBytes(snapshot.AllocatedStorage),
      location: null,
      checksum: null,
      startedAt: (snapshot.SnapshotCreateTime ?? this.clock.now()).toISOString(),
      completedAt: null,
      verification: [],
    };
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

  async create(snapshotId: string, tags: Record<string, string>): Promise<SnapshotRef> {
    const source = this.database.clusterIdentifier;
    try {
      const { DBClusterSnapshot: created } = await this.rds.send(
        new CreateDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: snapshotId, DBClusterIdentifier: source, Tags: toTagList(tags) }),
      );
      return this.toRef(created ?? { DBClusterIdentifier: source, Status: 'creating' }, snapshotId);
    } catch (error) {
      // A concurrent attempt of the same task created it first: that snapshot is ours.
      if (!isFault(error, 'DBClusterSnapshotAlreadyExistsFault')) throw creationError(error, snapshotId, `Aurora DB cluster ${source}`);
      const existing = await this.find(snapshotId);
      if (!existing) throw new SnapshotFailedError(`cluster snapshot ${snapshotId} was reported as existing but cannot be found`, { cause: error });
      return existing;
    }
  }

  async verify(snapshot: SnapshotRef, source: DatabaseInfo): Promise<string[]> {
    const found = await findClusterSnapshot(this.rds, snapshot.id);
    if (!found) throw new SnapshotFailedError(`cluster snapshot ${snapshot.id} no longer exists`);
    return verifySnapshot(
      { id: snapshot.id, status: found.Status, encrypted: found.StorageEncrypted, kmsKeyId: found.KmsKeyId, source: found.DBClusterIdentifier },
      { sourceKind: 'cluster', source: this.database.clusterIdentifier, sourceEncrypted: source.encrypted, kmsKeyArn: this.database.kmsKeyArn },
    );
  }

  private toRef(snapshot: DBClusterSnapshot, requestedId: string): SnapshotRef {
    return {
      id: snapshot.DBClusterSnapshotIdentifier ?? requestedId,
      arn: snapshot.DBClusterSnapshotArn ?? null,
      kind: 'aurora-cluster',
      source: snapshot.DBClusterIdentifier ?? this.database.clusterIdentifier,
      status: snapshotStatus(snapshot.Status),
      engine: snapshot.Engine ?? null,
      encrypted: snapshot.StorageEncrypted ?? null,
      sizeBytes: gibToBytes(snapshot.AllocatedStorage),
      location: null,
      checksum: null,
      startedAt: (snapshot.SnapshotCreateTime ?? this.clock.now()).toISOString(),
      completedAt: null,
      verification: [],
    };
  }
}
