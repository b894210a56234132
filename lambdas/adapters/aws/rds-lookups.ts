import {
  type DBCluster,
  type DBClusterSnapshot,
  type DBInstance,
  type DBSnapshot,
  DescribeDBClustersCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
  type Tag,
} from '@aws-sdk/client-rds';

/** True when `error` is one of the named RDS faults; matched by name so that a second copy of the SDK in a bundle still matches. */
export function isFault(error: unknown, ...names: string[]): error is Error {
  return error instanceof Error && names.includes(error.name);
}

/** One-line description of an SDK error for messages: its name and message, never the request. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The DB instance with this identifier, or undefined when there is none. */
export async function findInstance(rds: RDSClient, identifier: string): Promise<DBInstance | undefined> {
  try {
    const { DBInstances } = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
    return DBInstances?.[0];
  } catch (error) {
    if (isFault(error, 'DBInstanceNotFoundFault')) return undefined;
    throw error;
  }
}

/** The DB cluster with this identifier, or undefined when there is none. */
export async function findCluster(rds: RDSClient, identifier: string): Promise<DBCluster | undefined> {
  try {
    const { DBClusters } = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier }));
    return DBClusters?.[0];
  } catch (error) {
    if (isFault(error, 'DBClusterNotFoundFault')) return undefined;
    throw error;
  }
}

/** The manual DB snapshot with this identifier, or undefined when there is none. */
export async function findDbSnapshot(rds: RDSClient, identifier: string): Promise<DBSnapshot | undefined> {
  try {
    const { DBSnapshots } = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: identifier }));
    return DBSnapshots?.[0];
  } catch (error) {
    if (isFault(error, 'DBSnapshotNotFoundFault')) return undefined;
    throw error;
  }
}

/** The DB cluster snapshot with this identifier, or undefined when there is none. */
export async function findClusterSnapshot(rds: RDSClient, identifier: string): Promise<DBClusterSnapshot | undefined> {
  try {
    const { DBClusterSnapshots } = await rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: identifier }));
    return DBClusterSnapshots?.[0];
  } catch (error) {
    if (isFault(error, 'DBClusterSnapshotNotFoundFault')) return undefined;
    throw error;
  }
}

/** The value of one tag, if the resource carries it. */
export function tagValue(tags: readonly Tag[] | undefined, key: string): string | undefined {
  return tags?.find((tag) => tag.Key === key)?.Value;
}

/** Tags as RDS expects them in a create or restore call. */
export function toTagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
