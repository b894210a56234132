import { SnapshotFailedError } from '../../core/errors';
import type { DatabaseBackups, SnapshotQuota } from '../../core/ports/database-backups';
import type { DatabaseInfo, LogicalCopy, SnapshotRef } from '../../core/model';
import type { EcsPgBackups } from './ecs-pg-backups';

/**
 * RDS and Aurora with `database.logicalBackup`: the snapshot, and beside it a pg_dump of the same database by the
 * backup task (EcsPgBackups, under the snapshot's id). One backup to the runbook: TakeSnapshot starts both,
 * CheckSnapshot waits until both are available and verifies both, and a failure of either fails the backup, so the
 * deployment aborts before anything changes. The snapshot stays what a rollback restores; the dump rides along in
 * `SnapshotRef.logicalCopy` into the manifest, the ledger and the report.
 */
export class SnapshotWithLogicalCopy implements DatabaseBackups {
  constructor(
    private readonly snapshots: DatabaseBackups,
    private readonly dumps: EcsPgBackups,
  ) {}

  /** The instance or cluster as RDS describes it, after connecting as the task will: a database the subnets cannot reach stops Preflight. */
  async describe(): Promise<DatabaseInfo> {
    const database = await this.snapshots.describe();
    await this.dumps.describe();
    return database;
  }

  quota(): Promise<SnapshotQuota | null> {
    return this.snapshots.quota();
  }

  /**
   * The snapshot with its copy. A snapshot whose copy was never started (the attempt that created it died before
   * RunTask) starts it now: the copy must exist before the backup counts as taken.
   */
  async find(snapshotId: string): Promise<SnapshotRef | undefined> {
    const snapshot = await this.snapshots.find(snapshotId);
    if (!snapshot) return undefined;
    const dump = (await this.dumps.find(snapshotId)) ?? (await this.dumps.create(snapshotId, {}));
    return withCopy(snapshot, dump);
  }

  async create(snapshotId: string, tags: Record<string, string>): Promise<SnapshotRef> {
    // The runbook calls find first (TakeSnapshot); RDS's create answers a snapshot another attempt created with that one.
    const snapshot = await this.snapshots.create(snapshotId, tags);
    const dump = (await this.dumps.find(snapshotId)) ?? (await this.dumps.create(snapshotId, tags));
    return withCopy(snapshot, dump);
  }

  /** Both verified: the snapshot against the instance, the dump against what the task wrote and the object stored. */
  async verify(snapshot: SnapshotRef, source: DatabaseInfo): Promise<string[]> {
    const copy = snapshot.logicalCopy;
    if (!copy || copy.status !== 'available') {
      throw new SnapshotFailedError(`snapshot ${snapshot.id} has no available logical copy beside it (database.logicalBackup): ${copy ? `its dump is ${copy.status}` : 'none was recorded'}`);
    }
    const checked = await this.snapshots.verify(snapshot, source);
    const dump = await this.dumps.find(snapshot.id);
    if (!dump) throw new SnapshotFailedError(`the logical copy of snapshot ${snapshot.id} (${copy.location}) is gone`);
    const connected = await this.dumps.describe();
    const dumped = await this.dumps.verify(dump, connected);
    return [...checked, ...dumped.map((line) => `logical copy: ${line}`)];
  }
}

/** The snapshot, `available` only when its copy is too; the copy's own status says which one is still being made. */
function withCopy(snapshot: SnapshotRef, dump: SnapshotRef): SnapshotRef {
  const logicalCopy: LogicalCopy = {
    status: dump.status,
    source: dump.source,
    location: dump.location ?? '',
    checksum: dump.checksum,
    sizeBytes: dump.sizeBytes,
    startedAt: dump.startedAt,
    completedAt: dump.completedAt,
    verification: dump.verification,
  };
  const status = snapshot.status === 'failed' || dump.status === 'failed' ? 'failed' : snapshot.status === 'available' && dump.status === 'available' ? 'available' : 'creating';
  return { ...snapshot, status, logicalCopy };
}
