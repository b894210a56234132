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

/**
 * The IAM action behind each AWS call these look-ups makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const RDS_LOOKUPS_IAM = {
  describeDBInstances: 'rds:DescribeDBInstances',
  describeDBClusters: 'rds:DescribeDBClusters',
  describeDBSnapshots: 'rds:DescribeDBSnapshots',
  describeDBClusterSnapshots: 'rds:DescribeDBClusterSnapshots',
} as const;

/** True when `error` is one of the named RDS faults; matched by name so that a second copy of the SDK in a bundle still matches. */
export function isFault(error: unknown, ...names: string[]): error is Error {
  return error instanceof Error && names.includes(error.name);
}

/** One-line description of an SDK error for messages: its name and message, never the request. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The first item a Describe call lists, or undefined when RDS answers with the call's not-found fault. */
async function describeOne<T>(notFoundFault: string, describe: () => Promise<T[] | undefined>): Promise<T | undefined> {
  try {
    return (await describe())?.[0];
  } catch (error) {
    if (isFault(error, notFoundFault)) return undefined;
    throw error;
  }
}

/** The DB instance with this identifier, or undefined when there is none. */
export function findInstance(rds: RDSClient, identifier: string): Promise<DBInstance | undefined> {
  return describeOne('DBInstanceNotFoundFault', async () => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }))).DBInstances);
}

/** The DB cluster with this identifier, or undefined when there is none. */
export function findCluster(rds: RDSClient, identifier: string): Promise<DBCluster | undefined> {
  return describeOne('DBClusterNotFoundFault', async () => (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier }))).DBClusters);
}

/** The manual DB snapshot with this identifier, or undefined when there is none. */
export function findDbSnapshot(rds: RDSClient, identifier: string): Promise<DBSnapshot | undefined> {
  return describeOne('DBSnapshotNotFoundFault', async () => (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: identifier }))).DBSnapshots);
}

/** The DB cluster snapshot with this identifier, or undefined when there is none. */
export function findClusterSnapshot(rds: RDSClient, identifier: string): Promise<DBClusterSnapshot | undefined> {
  return describeOne('DBClusterSnapshotNotFoundFault', async () => (await rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: identifier }))).DBClusterSnapshots);
}

/** The value of one tag, if the resource carries it. */
export function tagValue(tags: readonly Tag[] | undefined, key: string): string | undefined {
  return tags?.find((tag) => tag.Key === key)?.Value;
}

/** Tags as RDS expects them in a create or restore call. */
export function toTagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
