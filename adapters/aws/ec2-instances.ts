import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';

/** The IAM action behind each call, granted from here by lib/task-permissions.ts. */
export const EC2_INSTANCES_IAM = {
  describeInstances: 'ec2:DescribeInstances',
} as const;

/** `app=shop-api, env=prod`. */
export function describeTags(tags: Readonly<Record<string, string>>): string {
  return Object.entries(tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}

/**
 * The running EC2 instances carrying every tag in `tags`, by id, sorted: the same fleet in the same order for each
 * call, so that batches cut from it agree between the deploy and its status checks.
 */
export async function instancesTagged(ec2: EC2Client, tags: Readonly<Record<string, string>>): Promise<string[]> {
  const filters = [
    ...Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] })),
    { Name: 'instance-state-name', Values: ['running'] },
  ];
  const ids = new Set<string>();
  let nextToken: string | undefined;
  do {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken: nextToken, MaxResults: 1000 }));
    for (const reservation of page.Reservations ?? []) for (const instance of reservation.Instances ?? []) if (instance.InstanceId) ids.add(instance.InstanceId);
    nextToken = page.NextToken;
  } while (nextToken);
  return [...ids].sort();
}
