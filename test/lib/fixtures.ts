import { App, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { Template } from 'aws-cdk-lib/assertions';
import { parseConfig } from '../../config/load';
import type { RunbookConfig, RunbookConfigInput } from '../../config/schema';
import example from '../../config/example.json';
import { DeployRunbookStack, type DeployRunbookStackProps } from '../../lib/deploy-runbook-stack';

/** The example configuration `cdk synth` uses: ECS service, RDS instance, ECS-task migrations, alarms, SNS. */
export const exampleInput = example as RunbookConfigInput;

export const HOOK_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:shop-deployer';
export const MIGRATE_HOOK_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:shop-migrate:live';
export const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/0c6e4bd4-53b5-4e7f-9a1c-6a1d2f9e8b11';
export const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:shop-deployments';

/** A hook Lambda deploys and migrates; the database is as in the example. */
export const hookInput: RunbookConfigInput = {
  ...exampleInput,
  target: { kind: 'hook', functionArn: HOOK_ARN },
  migrations: { kind: 'hook', functionArn: MIGRATE_HOOK_ARN },
};

/** The example on EC2 instances tagged app=shop-api, env=prod, deployed by SSM Run Command in batches of a quarter (its migrations by hook). */
export const hostsInput: RunbookConfigInput = {
  ...exampleInput,
  target: {
    kind: 'ssm-hosts',
    tags: { app: 'shop-api', env: 'prod' },
    deploy: 'cd /srv/shop && TAG={{version}} docker compose up -d --wait',
    rollback: 'cd /srv/shop && TAG={{version}} docker compose up -d --wait',
    current: 'cat /srv/shop/VERSION',
    ready: 'curl -fsS http://127.0.0.1:3000/health',
    maxConcurrency: '25%',
  },
  migrations: { kind: 'hook', functionArn: MIGRATE_HOOK_ARN },
};

/** The example on an Aurora cluster whose snapshots are restored after approval. */
export const auroraInput: RunbookConfigInput = {
  ...exampleInput,
  database: { kind: 'aurora-cluster', clusterIdentifier: 'shop-prod', kmsKeyArn: KMS_KEY_ARN, restorePolicy: 'always', restoreApproval: { required: true } },
};

/** A zip-packaged Lambda behind an alias, shifted in CodeDeploy's canary steps; no database, no migrations. */
export const lambdaAliasInput: RunbookConfigInput = {
  ...exampleInput,
  target: { kind: 'lambda-alias', functionName: 'shop-fn', alias: 'live', codeBucket: 'shop-artifacts', traffic: 'Canary10Percent5Minutes' },
  database: null,
  migrations: null,
};

/** The same function packaged as container images. */
export const lambdaImageInput: RunbookConfigInput = {
  ...lambdaAliasInput,
  target: { kind: 'lambda-alias', functionName: 'shop-fn', alias: 'live', imageRepository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-fn' },
};

export const APS_WORKSPACE_URL = 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-6f1c2a34-9b7d-4e21-8c55-0d3e2f1a7b90';

/** The example judged by analysis metrics from every AWS provider: CloudWatch metric math, Logs Insights, Prometheus (SigV4 and a header secret). */
export const analysisInput: RunbookConfigInput = {
  ...exampleInput,
  analysis: {
    checkpoints: '1m, every 2m',
    secrets: { grafanaToken: { secretsManager: 'shop/grafana-token' } },
    metrics: [
      {
        name: 'error-rate',
        provider: {
          kind: 'cloudwatch',
          expression: 'errors / requests',
          metrics: {
            errors: { namespace: 'AWS/ApplicationELB', metricName: 'HTTPCode_Target_5XX_Count', dimensions: { LoadBalancer: 'app/shop/50dc6c495c0c9188' }, stat: 'Sum' },
            requests: { namespace: 'AWS/ApplicationELB', metricName: 'RequestCount', dimensions: { LoadBalancer: 'app/shop/50dc6c495c0c9188' }, stat: 'Sum' },
          },
        },
        failureCondition: 'result > 0.01',
      },
      { name: 'error-lines', provider: { kind: 'logs', logGroupNames: ['/ecs/shop-api'], query: 'filter @message like /ERROR/ | stats count()' }, successCondition: 'result <= baseline + 5', noData: 'success' },
      { name: 'p95-latency', provider: { kind: 'prometheus', url: APS_WORKSPACE_URL, sigv4: true, query: 'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))' }, successCondition: 'result <= baseline * 1.2' },
      {
        name: 'queue-depth',
        provider: { kind: 'prometheus', url: 'https://prometheus.shop.example.com', headers: { Authorization: 'Bearer {{secrets.grafanaToken}}' }, query: 'max(queue_depth)' },
        successCondition: 'result < 100',
      },
    ],
  },
};

/** Subnets and security groups for the functions and the backup task. */
export const NETWORK = { vpcId: 'vpc-0a1b2c3d4e5f67890', subnetIds: ['subnet-0a1b2c3d4e5f67890'], securityGroupIds: ['sg-0a1b2c3d4e5f67890'] };

/** A self-managed PostgreSQL reached through a secret: logical backups by the stack's ECS task. */
export const postgresInput: RunbookConfigInput = {
  ...exampleInput,
  database: { kind: 'postgres', connection: { secretsManager: 'shop/prod/db' }, restorePolicy: 'always', restoreApproval: { required: false } },
  network: NETWORK,
};

/** The example's RDS instance with a logical copy beside each snapshot (database.logicalBackup). */
export const rdsLogicalInput: RunbookConfigInput = {
  ...exampleInput,
  database: { ...(exampleInput.database as object), logicalBackup: true, connection: { secretsManager: 'shop/prod/db' } } as RunbookConfigInput['database'],
  network: NETWORK,
};

/** The example's RDS instance drilled before every deploy: restored into a scratch instance, checked through the connection. */
export const rdsDrillInput: RunbookConfigInput = {
  ...exampleInput,
  database: { ...(exampleInput.database as object), restorePolicy: 'never', connection: { secretsManager: 'shop/prod/db' } } as RunbookConfigInput['database'],
  network: NETWORK,
  backup: { testRestore: true },
};

/** The Aurora cluster drilled before every deploy (and restored on rollback after approval). */
export const auroraDrillInput: RunbookConfigInput = {
  ...auroraInput,
  database: { ...(auroraInput.database as object), connection: { secretsManager: 'shop/prod/db' } } as RunbookConfigInput['database'],
  network: NETWORK,
  backup: { testRestore: true },
  // The drill's restore loop adds its own worst case to the rollback's.
  executionTimeoutMinutes: 420,
};

/** Nothing optional: no database, no migrations, no alarm names, no topic, no secrets. */
export const bareInput: RunbookConfigInput = {
  name: 'bare-api',
  target: exampleInput.target,
  smokeTests: { baseUrl: 'https://bare.example.com', checks: [{ name: 'health', path: '/health' }] },
  alarms: { kind: 'cloudwatch', names: [] },
};

export function config(input: RunbookConfigInput): RunbookConfig {
  return parseConfig(input);
}

export interface Synthesized {
  readonly app: App;
  readonly stack: DeployRunbookStack;
  readonly template: Template;
}

/** Synthesizes a runbook stack without bundling the functions (bundling is covered once, in bundling.test.ts). */
export function synth(props: DeployRunbookStackProps): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new DeployRunbookStack(app, 'RunbookTest', props);
  return { app, stack, template: Template.fromStack(stack) };
}

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; [key: string]: unknown }>;

export function resources(template: Template): Resources {
  return template.toJSON().Resources as Resources;
}

/**
 * A CloudFormation value as one readable string, the way cdk-nag names findings:
 * `Fn::Join` is joined, `Ref` becomes `<Name>` and `Fn::GetAtt` `<Id.Attr>`.
 */
export function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if (node['Fn::Join']) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(flat).join(separator);
  }
  if (node.Ref) return `<${String(node.Ref)}>`;
  if (node['Fn::GetAtt']) return `<${(node['Fn::GetAtt'] as string[]).join('.')}>`;
  throw new Error(`cannot flatten ${JSON.stringify(value)}`);
}

/** An ARN of the stack's account and region, as an env-agnostic template spells it. */
export function arn(service: string, resource: string): string {
  return `arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:${resource}`;
}

const INTRINSICS = ['Fn::Join', 'Ref', 'Fn::GetAtt'];

/** `flat` applied to every intrinsic inside a JSON value. */
export function flatDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(flatDeep);
  if (value === null || typeof value !== 'object') return value;
  if (INTRINSICS.some((key) => key in value)) return flat(value);
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, flatDeep(inner)]));
}

/** A policy statement with Action and Resource always arrays and every ARN flattened. */
export interface Statement {
  readonly Effect: string;
  readonly Action: string[];
  readonly Resource: string[];
  readonly Condition?: unknown;
}

function normalize(statement: Record<string, unknown>): Statement {
  const list = (v: unknown) => (Array.isArray(v) ? v : [v]);
  return flatDeep({ ...statement, Action: list(statement.Action), Resource: list(statement.Resource) }) as Statement;
}

/** Every statement of the identity policies attached to `role`. */
export function roleStatements(s: Synthesized, role: IConstruct): Statement[] {
  const roleId = s.stack.getLogicalId(role.node.defaultChild as CfnElement);
  return Object.values(resources(s.template))
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === roleId))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement)
    .map(normalize);
}

/** What every function's runtime needs to write its own log (a Logs Insights query is a task's grant, not one of these). */
const RUNTIME_LOG_ACTIONS = new Set(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']);

/** What a task function may do beyond tracing and writing its own log group. */
export function taskStatements(s: Synthesized, folder: string): Statement[] {
  const fn = s.stack.runbook.functions[folder];
  return roleStatements(s, fn.role as unknown as IConstruct).filter(
    (statement) => !statement.Action.every((action) => action.startsWith('xray:') || RUNTIME_LOG_ACTIONS.has(action)),
  );
}
