import type { DatabaseInfo, SnapshotRef } from '../model';

export interface SnapshotQuota {
  readonly used: number;
  readonly max: number;
}

/** Pre-deploy backups: RDS/Aurora snapshots on AWS, pg_dump into the store locally. */
export interface DatabaseBackups {
  describe(): Promise<DatabaseInfo>;
  /** Manual snapshot quota, or null where there is none. */
  quota(): Promise<SnapshotQuota | null>;
  /** The snapshot with this id, if it exists: a retried task finds its own. */
  find(snapshotId: string): Promise<SnapshotRef | undefined>;
  create(snapshotId: string, tags: Record<string, string>): Promise<SnapshotRef>;
  /** Checks an available snapshot (encryption, restorable listing); returns what was checked, throws SnapshotFailedError. */
  verify(snapshot: SnapshotRef, source: DatabaseInfo): Promise<string[]>;
}
