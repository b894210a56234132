import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeDBClustersCommand, DescribeDBClusterSnapshotsCommand, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, ListTagsForResourceCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { EmulatedAws } from './emulated-aws';

/** What a person would look at after an execution, read as the operator from moto. */
export function inspect(aws: EmulatedAws) {
  const { config, s3 } = aws.operator;
  const ecs = new ECSClient(config);
  const rds = new RDSClient(config);
  return {
    /** The image tag of the service's task definition. */
    async runningTag(): Promise<string> {
      const service = (await ecs.send(new DescribeServicesCommand({ cluster: 'shop-prod', services: ['shop-api'] }))).services?.[0];
      const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: service?.taskDefinition }));
      const image = taskDefinition?.containerDefinitions?.[0]?.image ?? '';
      return image.slice(image.lastIndexOf(':') + 1);
    },
    /** Identifiers of the RDS instances, with the snapshot each was restored from (its `restored-from` tag). */
    async instances(): Promise<{ id: string; tags: Record<string, string> }[]> {
      const described = (await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [];
      return Promise.all(
        described.map(async (instance) => {
          const tags = (await rds.send(new ListTagsForResourceCommand({ ResourceName: instance.DBInstanceArn }))).TagList ?? [];
          return { id: instance.DBInstanceIdentifier ?? '', tags: Object.fromEntries(tags.map((t) => [t.Key ?? '', t.Value ?? ''])) };
        }),
      );
    },
    async clusters(): Promise<string[]> {
      return ((await rds.send(new DescribeDBClustersCommand({}))).DBClusters ?? []).map((c) => c.DBClusterIdentifier ?? '');
    },
    async manualSnapshots(): Promise<string[]> {
      return ((await rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' }))).DBSnapshots ?? []).map((s) => s.DBSnapshotIdentifier ?? '');
    },
    async manualClusterSnapshots(): Promise<string[]> {
      return ((await rds.send(new DescribeDBClusterSnapshotsCommand({ SnapshotType: 'manual' }))).DBClusterSnapshots ?? []).map((s) => s.DBClusterSnapshotIdentifier ?? '');
    },
    /** Keys in the runbook's bucket. */
    async keys(): Promise<string[]> {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: aws.stack.bucketName }));
      return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
    },
    /** The evidence report of the one deployment in the bucket: its Markdown and the states its JSON lists. */
    async report(): Promise<{ markdown: string; states: string[] }> {
      const keys = (await this.keys()).filter((key) => /^reports\/shop\/[^/]+\.md$/.test(key));
      if (keys.length !== 1) throw new Error(`expected one report, found ${keys.join(', ') || 'none'}`);
      const read = async (key: string) => (await s3.send(new GetObjectCommand({ Bucket: aws.stack.bucketName, Key: key }))).Body?.transformToString() ?? '';
      const json = JSON.parse(await read(keys[0].replace(/\.md$/, '.json'))) as { states: { name: string }[] };
      return { markdown: await read(keys[0]), states: json.states.map((state) => state.name) };
    },
    /** The lease in `locks/shop.json`. */
    lock: () => aws.artifact<{ state: string; executionId: string; note: string | null }>('locks/shop.json'),
    ledger: () => aws.artifact<{ current: { version: string } | null; releases: { version: string; rolledBackAt?: string | null }[] }>('ledger/shop.json'),
  };
}

/** How often the state machine invoked a state's function (retries included), from the execution history. */
export function attempts(events: readonly { type?: string; id?: number; previousEventId?: number; stateEnteredEventDetails?: { name?: string } }[], state: string): number {
  let inState = false;
  let count = 0;
  for (const event of events) {
    if (event.stateEnteredEventDetails) inState = event.stateEnteredEventDetails.name === state;
    if (inState && event.type === 'LambdaFunctionScheduled') count += 1;
  }
  return count;
}

/**
 * `arn:aws:sts::…:assumed-role/<stack>-RunbookDeployTargetFunctionRole…/tier` → `deploy-target`; the state machine's,
 * the events' and the backup task's roles by name.
 */
export function roleOfPrincipal(principal: string): string {
  const fn = /Runbook([A-Za-z]+)FunctionRole/.exec(principal)?.[1];
  if (fn) return fn.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
  if (/RunbookRole[0-9A-F]{8}/.test(principal)) return 'state-machine';
  if (/RunbookEventsRole/.test(principal)) return 'alarm-rule';
  if (/PgBackupTaskTaskDefinitionTaskRole/.test(principal)) return 'backup-task';
  if (/PgBackupTaskTaskDefinitionExecutionRole/.test(principal)) return 'backup-task-execution';
  return principal;
}

/** The actions each principal was allowed in this file's scenarios, keyed as `roleOfPrincipal` names them. */
export function usedByRole(aws: EmulatedAws): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  for (const record of aws.allAuthorizations().filter((r) => r.allowed)) {
    const role = roleOfPrincipal(record.principal);
    used.set(role, (used.get(role) ?? new Set()).add(record.action));
  }
  return used;
}

/** The actions each role of a synthesized template is allowed, keyed as `roleOfPrincipal` names them. */
export function grantedByRole(template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }): Map<string, Set<string>> {
  const granted = new Map<string, Set<string>>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = (resource.Properties.Roles as { Ref: string }[]).map((role) => roleOfPrincipal(role.Ref));
    const statements = (resource.Properties.PolicyDocument as { Statement: { Effect: string; Action: string | string[] }[] }).Statement;
    for (const role of roles) {
      const actions = granted.get(role) ?? new Set<string>();
      for (const statement of statements.filter((s) => s.Effect === 'Allow')) for (const action of [statement.Action].flat()) actions.add(action);
      granted.set(role, actions);
    }
  }
  return granted;
}

/**
 * The actions `template`'s roles are granted that no call moto allowed in this file used, as `role action`, sorted:
 * only the pairs `judged` picks, never what the runtime writes itself. A minimal policy leaves none but the ones a
 * test names with the reason its paths cannot reach them.
 */
export function unusedGrants(aws: EmulatedAws, template: Parameters<typeof grantedByRole>[0], judged: (role: string, action: string) => boolean = () => true): string[] {
  const used = usedByRole(aws);
  const unused: string[] = [];
  for (const [role, actions] of grantedByRole(template)) {
    for (const action of actions) {
      if (!writtenByTheRuntime(action) && judged(role, action) && !used.get(role)?.has(action)) unused.push(`${role} ${action}`);
    }
  }
  return unused.sort();
}

/**
 * Logs and traces Lambda and Step Functions write themselves, not through calls moto sees; a minimality check
 * skips them. Logs Insights queries (StartQuery, GetQueryResults, StopQuery) are calls the functions make: kept.
 */
export function writtenByTheRuntime(action: string): boolean {
  return action.startsWith('xray:') || (action.startsWith('logs:') && !['logs:StartQuery', 'logs:GetQueryResults', 'logs:StopQuery'].includes(action));
}
