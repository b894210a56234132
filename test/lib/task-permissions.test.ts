import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { NotificationEvent } from '../../config/notification-topics';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RunbookConfigInput } from '../../config/schema';
import { FUNCTION_PLACEHOLDERS, functionFolder } from '../../statemachines/definition';
import { failedCopyName } from '../../adapters/aws/restore-progress';
import { taskGrants } from '../../lib/task-permissions';
import {
  arn,
  analysisInput,
  auroraDrillInput,
  auroraInput,
  bareInput,
  config,
  exampleInput,
  flat,
  HOOK_ARN,
  hookInput,
  hostsInput,
  KMS_KEY_ARN,
  lambdaAliasInput,
  lambdaImageInput,
  MIGRATE_HOOK_ARN,
  rdsDrillInput,
  resources,
  roleStatements,
  synth,
  taskStatements,
  TOPIC_ARN,
  type Statement,
  type Synthesized,
} from './fixtures';

const FOLDERS = FUNCTION_PLACEHOLDERS.map(functionFolder);
const PASS_ROLES = ['arn:aws:iam::123456789012:role/shop-api-task', 'arn:aws:iam::123456789012:role/shop-api-execution'];
const ECS_TASKS = { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } };
const SERVICE = arn('ecs', 'service/shop-prod/shop-api');
const FAMILY = arn('ecs', 'task-definition/shop-api:*');
const DB = arn('rds', 'db:shop-prod-db');
const SNAPSHOTS = arn('rds', 'snapshot:deploy-runbook-8-shop-api-*');
const ALARMS = [arn('cloudwatch', 'alarm:shop-api-5xx-rate'), arn('cloudwatch', 'alarm:shop-api-p95-latency')];

function allow(Action: string[], Resource: string[], Condition?: unknown): Statement {
  return Condition ? { Effect: 'Allow', Action, Resource, Condition } : { Effect: 'Allow', Action, Resource };
}

/** Every object in the template that has a `Statement` list: identity, bucket, queue and trust policies alike. */
function everyStatement(value: unknown): Record<string, unknown>[] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap(everyStatement);
  const own = Array.isArray((value as { Statement?: unknown }).Statement) ? ((value as { Statement: Record<string, unknown>[] }).Statement) : [];
  return [...own, ...Object.values(value).flatMap(everyStatement)];
}

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function bucketArn(s: Synthesized): string {
  return flat(s.stack.resolve(s.stack.runbook.bucket.bucketArn));
}

describe('IAM of the whole template', () => {
  const variants: [string, RunbookConfigInput][] = [
    ['example', exampleInput],
    ['hook', hookInput],
    ['aurora', auroraInput],
    ['bare', bareInput],
    ['lambda-alias', lambdaAliasInput],
  ];

  it.each(variants)('has no wildcard action in any Allow statement (%s)', (_name, input) => {
    const statements = everyStatement(synth({ config: input }).template.toJSON());
    expect(statements.length).toBeGreaterThan(30);
    for (const statement of statements) {
      expect(statement).not.toHaveProperty('NotAction');
      expect(statement).not.toHaveProperty('NotResource');
      const wildcards = asList(statement.Action).filter((action) => typeof action !== 'string' || action.includes('*'));
      if (wildcards.length === 0) continue;
      // The only `*` actions are the TLS-only denials that enforceSSL writes into bucket and queue policies.
      expect(statement, `wildcard action in ${JSON.stringify(statement)}`).toMatchObject({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    }
  });

  it.each(variants)('attaches no managed policy to any role (%s)', (_name, input) => {
    const roles = Object.values(resources(synth({ config: input }).template)).filter((r) => r.Type === 'AWS::IAM::Role');
    expect(roles.length).toBeGreaterThanOrEqual(12);
    for (const role of roles) expect(role.Properties).not.toHaveProperty('ManagedPolicyArns');
  });
});

describe('task function permissions (example config: ECS, RDS instance, ECS-task migrations)', () => {
  const s = synth({ config: exampleInput });

  it('gives every function X-Ray and its own log group, and nothing else in common', () => {
    for (const folder of FOLDERS) {
      const fn = s.stack.runbook.functions[folder];
      const logGroup = flat(s.stack.resolve(fn.logGroup.logGroupArn));
      expect(roleStatements(s, fn.role as never)).toEqual(
        expect.arrayContaining([
          allow(['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], ['*']),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [logGroup]),
        ]),
      );
    }
  });

  it('lets validate-input only read the watched alarms, which an alarm rollback must name in ALARM', () => {
    expect(taskStatements(s, 'validate-input')).toEqual([allow(['cloudwatch:DescribeAlarms'], ALARMS)]);
  });

  it('lets deployment-lock read and write only the lock keys', () => {
    expect(taskStatements(s, 'deployment-lock')).toEqual([
      allow(['s3:GetObject', 's3:PutObject'], [`${bucketArn(s)}/locks/*`]),
      // Listing only its own prefix; a GET of a missing key (404, not 403) carries no prefix.
      allow(['s3:ListBucket'], [bucketArn(s)], { StringLikeIfExists: { 's3:prefix': ['locks/*'] } }),
    ]);
  });

  it('lets the ledger read and write the ledger, backup manifests and reports, and read the history of this state machine’s executions', () => {
    const bucket = bucketArn(s);
    const machineName = `<${s.stack.getLogicalId(s.stack.runbook.stateMachine.node.defaultChild as CfnElement)}.Name>`;
    expect(taskStatements(s, 'ledger')).toEqual([
      allow(['s3:GetObject', 's3:PutObject'], [`${bucket}/ledger/*`, `${bucket}/backups/*`, `${bucket}/reports/*`]),
      allow(['s3:ListBucket'], [bucket], { StringLikeIfExists: { 's3:prefix': ['ledger/*', 'backups/*', 'reports/*'] } }),
      allow(['states:GetExecutionHistory'], [arn('states', `execution:${machineName}:*`)]),
    ]);
  });

  it('grants the history in a policy of its own, which the ledger function does not wait for (the state machine invokes the ledger)', () => {
    const template = resources(s.template);
    const ledgerId = s.stack.getLogicalId(s.stack.runbook.functions.ledger.node.defaultChild as CfnElement);
    const machineId = s.stack.getLogicalId(s.stack.runbook.stateMachine.node.defaultChild as CfnElement);
    const [policyId, ...others] = Object.entries(template)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.PolicyDocument).includes('states:GetExecutionHistory'))
      .map(([id]) => id);
    expect(others).toEqual([]);
    expect(asList((template[ledgerId] as { DependsOn?: unknown }).DependsOn)).not.toContain(policyId);
    expect(asList((template[machineId] as { DependsOn?: unknown }).DependsOn)).not.toContain(policyId);
  });

  it('lets preflight describe the service, the database, the quota and the alarms, and read the smoke tests’ secrets', () => {
    expect(taskStatements(s, 'preflight')).toEqual([
      allow(['ecs:DescribeServices'], [SERVICE]),
      allow(['ecs:DescribeTaskDefinition'], ['*']),
      allow(['rds:DescribeDBInstances'], [DB]),
      allow(['rds:DescribeAccountAttributes'], ['*']),
      allow(['cloudwatch:DescribeAlarms'], ALARMS),
      allow(['secretsmanager:GetSecretValue'], [arn('secretsmanager', 'secret:shop/prod/smoke-user-??????')]),
    ]);
  });

  it('lets database-snapshot create and tag only deploy-runbook snapshots of the instance (Preflight describes the instance)', () => {
    expect(taskStatements(s, 'database-snapshot')).toEqual([
      allow(['rds:CreateDBSnapshot', 'rds:DescribeDBSnapshots'], [DB, SNAPSHOTS]),
      allow(['rds:AddTagsToResource'], [SNAPSHOTS]),
    ]);
  });

  it('lets deploy-target update the service, register revisions of its family, pass only its roles to ECS tasks and roll back only its service deployments', () => {
    expect(taskStatements(s, 'deploy-target')).toEqual([
      allow(['ecs:DescribeServices', 'ecs:UpdateService'], [SERVICE]),
      allow(['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'], ['*']),
      allow(['ecs:TagResource'], [FAMILY], { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } }),
      allow(['iam:PassRole'], PASS_ROLES, ECS_TASKS),
      allow(['ecs:DescribeServiceDeployments', 'ecs:StopServiceDeployment'], [arn('ecs', 'service-deployment/shop-prod/shop-api/*')]),
    ]);
  });

  it('lets migrations run revisions of the family only in the target cluster', () => {
    const tasks = arn('ecs', 'task/shop-prod/*');
    expect(taskStatements(s, 'migrations')).toEqual([
      allow(['ecs:RunTask'], [FAMILY], { ArnEquals: { 'ecs:cluster': arn('ecs', 'cluster/shop-prod') } }),
      allow(['ecs:DescribeTasks'], [tasks]),
      allow(['ecs:TagResource'], [tasks], { StringEquals: { 'ecs:CreateAction': 'RunTask' } }),
      allow(['ecs:DescribeServices'], [SERVICE]),
      allow(['iam:PassRole'], PASS_ROLES, ECS_TASKS),
    ]);
  });

  it('lets smoke-test read only the secrets its checks reference', () => {
    expect(taskStatements(s, 'smoke-test')).toEqual([allow(['secretsmanager:GetSecretValue'], [arn('secretsmanager', 'secret:shop/prod/smoke-user-??????')])]);
  });

  it('lets evaluate-alarms describe only the configured alarms', () => {
    expect(taskStatements(s, 'evaluate-alarms')).toEqual([allow(['cloudwatch:DescribeAlarms'], ALARMS)]);
  });

  it('lets restore-database swap only this instance and restore only deploy-runbook snapshots', () => {
    expect(taskStatements(s, 'restore-database')).toEqual([
      allow(['rds:DescribeDBInstances', 'rds:ModifyDBInstance'], [DB, arn('rds', 'db:shop-prod-db-failed-*')]),
      allow(['rds:RestoreDBInstanceFromDBSnapshot'], [DB, SNAPSHOTS, arn('rds', 'subgrp:*'), arn('rds', 'pg:*'), arn('rds', 'og:*')]),
      allow(['rds:AddTagsToResource'], [DB]),
      allow(['rds:DescribeDBSnapshots'], [SNAPSHOTS]),
      allow(['kms:CreateGrant'], [KMS_KEY_ARN], { Bool: { 'kms:GrantIsForAWSResource': 'true' } }),
      allow(['kms:DescribeKey'], [KMS_KEY_ARN]),
    ]);
  });

  it('lets notify publish only to the configured topic, and read only the ledger for the start notification', () => {
    expect(taskStatements(s, 'notify')).toEqual([
      allow(['sns:Publish'], [TOPIC_ARN]),
      allow(['s3:GetObject'], [`${bucketArn(s)}/ledger/shop-api.json`]),
      allow(['s3:ListBucket'], [bucketArn(s)], { StringLikeIfExists: { 's3:prefix': ['ledger/shop-api.json'] } }),
    ]);
  });

  it('lets notify publish to exactly the topics configured per audience, and read no ledger when none receives the start', () => {
    const support = TOPIC_ARN.replace('shop-deployments', 'shop-support');
    const oncall = TOPIC_ARN.replace('shop-deployments', 'shop-oncall');
    const topics = [
      { topicArn: support, audience: 'support', events: ['succeeded', 'rolled-back'] as NotificationEvent[] },
      { topicArn: oncall, audience: 'on-call', events: ['rollback-failed', 'approval-requested'] as NotificationEvent[] },
    ];
    const routed = synth({ config: { ...exampleInput, notifications: { topics } } });
    expect(taskStatements(routed, 'notify')).toEqual([allow(['sns:Publish'], [support, oncall])]);
  });

  it('lets the state machine invoke exactly the 12 task functions, unqualified', () => {
    const role = s.stack.runbook.stateMachine.role;
    const invoke = roleStatements(s, role as never).filter((st) => st.Action.some((a) => a.startsWith('lambda:')));
    const functionArns = FOLDERS.map((folder) => flat(s.stack.resolve(s.stack.runbook.functions[folder].functionArn)));
    expect(invoke).toEqual([allow(['lambda:InvokeFunction'], functionArns)]);
    expect(new Set(functionArns).size).toBe(12);
  });

  it('lets EventBridge start executions of this state machine only', () => {
    const events = Object.entries(resources(s.template)).filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r).includes('states:StartExecution'));
    expect(events).toHaveLength(1);
    const statements = (events[0][1].Properties.PolicyDocument as { Statement: unknown[] }).Statement;
    expect(statements).toEqual([{ Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: s.stack.getLogicalId(s.stack.runbook.stateMachine.node.defaultChild as never) } }]);
  });
});

describe('alarm names in policies', () => {
  it('writes *, ? and $ of an alarm name as literal characters, so the grant covers that alarm only', () => {
    const s = synth({ config: { ...exampleInput, alarms: { kind: 'cloudwatch', names: ['5xx*rate', 'p95?', 'cost$'] } } });
    const literal = [arn('cloudwatch', 'alarm:5xx${*}rate'), arn('cloudwatch', 'alarm:p95${?}'), arn('cloudwatch', 'alarm:cost${$}')];
    expect(taskStatements(s, 'evaluate-alarms')).toEqual([allow(['cloudwatch:DescribeAlarms'], literal)]);
    expect(taskStatements(s, 'preflight')).toContainEqual(allow(['cloudwatch:DescribeAlarms'], literal));
    expect(taskStatements(s, 'validate-input')).toEqual([allow(['cloudwatch:DescribeAlarms'], literal)]);
  });
});

describe('the kept copy of a replaced database', () => {
  /** IAM's glob: `*` any run of characters, `?` one. */
  const matches = (pattern: string, name: string) => new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.?+^$()[\]{}|\\]/g, '\\$&')).join('.*')}$`).test(name);

  it.each([
    ['a short identifier', 'shop-prod-db'],
    ['a 63-character identifier, whose copy RDS makes shorter', `shop-${'x'.repeat(48)}-db-primary`.slice(0, 63)],
  ])('is covered by the restore’s grant for %s', (_case, instanceIdentifier) => {
    const s = synth({ config: { ...exampleInput, database: { kind: 'rds-instance', instanceIdentifier, restorePolicy: 'always', restoreApproval: { required: false } } } });
    const modify = taskStatements(s, 'restore-database').find((statement) => statement.Action.includes('rds:ModifyDBInstance'));
    const kept = failedCopyName(instanceIdentifier, new Date('2025-03-14T09:26:53Z'));
    const patterns = (modify?.Resource ?? []).map((resource) => resource.replace(arn('rds', ''), ''));
    expect(patterns.some((pattern) => matches(pattern, `db:${kept}`)), `${kept} against ${patterns.join(', ')}`).toBe(true);
  });
});

describe('analysis metrics', () => {
  const s = synth({ config: analysisInput });
  const expected = [
    allow(['cloudwatch:GetMetricData'], ['*']),
    allow(['logs:StartQuery'], [arn('logs', 'log-group:/ecs/shop-api'), arn('logs', 'log-group:/ecs/shop-api:*')]),
    allow(['logs:GetQueryResults', 'logs:StopQuery'], ['*']),
    allow(['aps:QueryMetrics'], ['arn:<AWS::Partition>:aps:eu-west-1:<AWS::AccountId>:workspace/ws-6f1c2a34-9b7d-4e21-8c55-0d3e2f1a7b90']),
    allow(['secretsmanager:GetSecretValue'], [arn('secretsmanager', 'secret:shop/grafana-token-??????')]),
  ];

  it('lets evaluate-alarms query each configured provider: metric data, the named log groups, the workspace, the header secret', () => {
    const statements = taskStatements(s, 'evaluate-alarms');
    expect(statements.slice(1)).toEqual(expected);
  });

  it('lets preflight query them too, since it measures the baselines before anything changes', () => {
    const statements = taskStatements(s, 'preflight');
    for (const statement of expected) expect(statements).toContainEqual(statement);
  });

  it('grants no analysis action to a function that measures nothing, nor when no metric is configured', () => {
    const analysisActions = (synthesized: Synthesized, folder: string) =>
      taskStatements(synthesized, folder).flatMap((statement) => statement.Action).filter((action) => /^(aps|logs):|GetMetricData/.test(action));
    for (const folder of FOLDERS.filter((name) => name !== 'preflight' && name !== 'evaluate-alarms')) expect(analysisActions(s, folder), folder).toEqual([]);
    const plain = synth({ config: exampleInput });
    for (const folder of FOLDERS) expect(analysisActions(plain, folder), folder).toEqual([]);
  });

  it("lets the ledger read the target's lock object, and nothing more, for a release plan's analysis gate (CheckAnalysis), even without a watch", () => {
    const bucket = bucketArn(s);
    const plain = synth({ config: exampleInput });
    expect(analysisInput.analysis?.watch).toBeUndefined();
    const [objects, listing, history] = taskStatements(plain, 'ledger');
    expect(taskStatements(s, 'ledger')).toEqual([objects, listing, allow(['s3:GetObject'], [`${bucket}/locks/shop-api.json`]), history]);
    // MeasureAnalysis is the evaluate-alarms function, whose grants are exactly the providers' above: the gate adds none.
    const dryRunOnly = synth({ config: { ...exampleInput, analysis: { ...analysisInput.analysis, metrics: analysisInput.analysis!.metrics!.map((metric) => ({ ...metric, dryRun: true })) } } as RunbookConfigInput });
    expect(taskStatements(dryRunOnly, 'ledger')).toEqual(taskStatements(plain, 'ledger'));
  });

  it('lets evaluate-alarms read the smoke-test secrets when an http metric re-runs the checks, and preflight once', () => {
    const metrics = [{ name: 'checks', provider: { kind: 'http' }, failureCondition: 'result > 0' }];
    const http = synth({ config: { ...exampleInput, analysis: { metrics } } as RunbookConfigInput });
    const smokeSecret = allow(['secretsmanager:GetSecretValue'], [arn('secretsmanager', 'secret:shop/prod/smoke-user-??????')]);
    expect(taskStatements(http, 'evaluate-alarms').slice(1)).toEqual([smokeSecret]);
    expect(taskStatements(http, 'preflight').filter((statement) => statement.Action.includes('secretsmanager:GetSecretValue'))).toEqual([smokeSecret]);
    expect(taskStatements(synth({ config: exampleInput }), 'evaluate-alarms').slice(1)).toEqual([]);
  });

  it('grants only the providers configured: a logs metric alone gets no metric data, workspace or secret', () => {
    const metrics = [{ name: 'errors', provider: { kind: 'logs', logGroupNames: ['/ecs/a', '/ecs/b'], query: 'stats count()' }, failureCondition: 'result > 0' }];
    const only = synth({ config: { ...exampleInput, analysis: { metrics } } as RunbookConfigInput });
    expect(taskStatements(only, 'evaluate-alarms').slice(1)).toEqual([
      allow(['logs:StartQuery'], [arn('logs', 'log-group:/ecs/a'), arn('logs', 'log-group:/ecs/a:*'), arn('logs', 'log-group:/ecs/b'), arn('logs', 'log-group:/ecs/b:*')]),
      allow(['logs:GetQueryResults', 'logs:StopQuery'], ['*']),
    ]);
  });
});

describe('task function permissions (variants)', () => {
  it('lets a lambda-alias target publish versions of its one function and move its one alias, reading code only where configured', () => {
    const s = synth({ config: lambdaAliasInput });
    const fn = arn('lambda', 'function:shop-fn');
    const reads = [allow(['lambda:GetAlias'], [fn, arn('lambda', 'function:shop-fn:live')]), allow(['lambda:GetFunctionConfiguration'], [fn, arn('lambda', 'function:shop-fn:*')])];
    expect(taskStatements(s, 'deploy-target')).toEqual([
      ...reads,
      allow(['lambda:UpdateFunctionCode', 'lambda:PublishVersion'], [fn]),
      allow(['lambda:UpdateAlias'], [fn, arn('lambda', 'function:shop-fn:live')]),
      allow(['s3:GetObject'], ['arn:<AWS::Partition>:s3:::shop-artifacts/*']),
    ]);
    expect(taskStatements(s, 'preflight').slice(0, 2)).toEqual(reads);
    const actions = FOLDERS.flatMap((folder) => taskStatements(s, folder).flatMap((st) => st.Action));
    expect(actions.filter((a) => a.startsWith('ecs:') || a === 'iam:PassRole' || a === 'lambda:InvokeFunction')).toEqual([]);
  });

  it('lets an image-packaged lambda-alias target pull only from its repository', () => {
    const s = synth({ config: lambdaImageInput });
    expect(taskStatements(s, 'deploy-target').at(-1)).toEqual(
      allow(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], ['arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository/shop-fn']),
    );
  });

  it('invokes the hook instead of touching ECS when the target and migrations are hooks', () => {
    const s = synth({ config: hookInput });
    expect(taskStatements(s, 'deploy-target')).toEqual([allow(['lambda:InvokeFunction'], [HOOK_ARN])]);
    expect(taskStatements(s, 'migrations')).toEqual([allow(['lambda:InvokeFunction'], [MIGRATE_HOOK_ARN])]);
    expect(taskStatements(s, 'preflight')[0]).toEqual(allow(['lambda:InvokeFunction'], [HOOK_ARN]));
    const actions = FOLDERS.flatMap((folder) => taskStatements(s, folder).flatMap((st) => st.Action));
    expect(actions.filter((a) => a.startsWith('ecs:') || a === 'iam:PassRole')).toEqual([]);
  });

  it('lets an ssm-hosts target run AWS-RunShellScript only on instances carrying its tags, and read commands and instances', () => {
    const s = synth({ config: hostsInput });
    const document = 'arn:<AWS::Partition>:ssm:<AWS::Region>::document/AWS-RunShellScript';
    const tagged = { StringEquals: { 'ssm:resourceTag/app': 'shop-api', 'ssm:resourceTag/env': 'prod' } };
    const hosts = (reads: string[]) => [
      allow(['ssm:SendCommand'], [document]),
      allow(['ssm:SendCommand'], [arn('ec2', 'instance/*')], tagged),
      allow(reads, ['*']),
      allow(['ec2:DescribeInstances'], ['*']),
    ];
    expect(taskStatements(s, 'deploy-target')).toEqual(hosts(['ssm:ListCommands', 'ssm:GetCommandInvocation']));
    // Preflight runs the `current` command once and waits for its invocations: it never looks a command up.
    expect(taskStatements(s, 'preflight').slice(0, 4)).toEqual(hosts(['ssm:GetCommandInvocation']));
    const actions = FOLDERS.flatMap((folder) => taskStatements(s, folder).flatMap((st) => st.Action));
    expect(actions.filter((a) => a.startsWith('ecs:') || a === 'iam:PassRole')).toEqual([]);
    const others = FOLDERS.filter((folder) => folder !== 'deploy-target' && folder !== 'preflight');
    expect(others.flatMap((folder) => taskStatements(s, folder).flatMap((st) => st.Action)).filter((a) => a.startsWith('ssm:') || a.startsWith('ec2:'))).toEqual([]);
  });

  it('uses the cluster and cluster-snapshot actions for an Aurora cluster', () => {
    const s = synth({ config: auroraInput });
    const cluster = arn('rds', 'cluster:shop-prod');
    const snapshots = arn('rds', 'cluster-snapshot:deploy-runbook-8-shop-api-*');
    const instances = arn('rds', 'db:shop-prod-*');
    expect(taskStatements(s, 'preflight')).toContainEqual(allow(['rds:DescribeDBClusters'], [cluster]));
    expect(taskStatements(s, 'database-snapshot')).toEqual([
      allow(['rds:CreateDBClusterSnapshot', 'rds:DescribeDBClusterSnapshots'], [cluster, snapshots]),
      allow(['rds:AddTagsToResource'], [snapshots]),
    ]);
    expect(taskStatements(s, 'restore-database')).toEqual([
      allow(['rds:DescribeDBClusters', 'rds:ModifyDBCluster'], [cluster, arn('rds', 'cluster:shop-prod-failed-*')]),
      allow(['rds:RestoreDBClusterFromSnapshot'], [cluster, snapshots, arn('rds', 'subgrp:*'), arn('rds', 'cluster-pg:*'), arn('rds', 'og:*')]),
      allow(['rds:DescribeDBInstances', 'rds:ModifyDBInstance'], [instances]),
      allow(['rds:CreateDBInstance'], [instances, cluster, arn('rds', 'subgrp:*'), arn('rds', 'pg:*'), arn('rds', 'og:*')]),
      allow(['rds:AddTagsToResource'], [cluster, instances]),
      allow(['rds:DescribeDBClusterSnapshots'], [snapshots]),
      allow(['kms:CreateGrant'], [KMS_KEY_ARN], { Bool: { 'kms:GrantIsForAWSResource': 'true' } }),
      allow(['kms:DescribeKey'], [KMS_KEY_ARN]),
    ]);
    const snapshotActions = FOLDERS.flatMap((folder) => taskStatements(s, folder).flatMap((st) => st.Action)).filter((a) => a.includes('Snapshot'));
    expect(snapshotActions.every((a) => a.includes('DBClusterSnapshot') || a === 'rds:RestoreDBClusterFromSnapshot')).toBe(true);
  });

  it('grants nothing for a database, alarms, secrets or a topic that are not configured', () => {
    const s = synth({ config: bareInput });
    for (const folder of ['validate-input', 'database-snapshot', 'restore-database', 'evaluate-alarms', 'smoke-test', 'notify', 'migrations']) {
      expect(taskStatements(s, folder), folder).toEqual([]);
    }
    expect(taskStatements(s, 'preflight')).toEqual([allow(['ecs:DescribeServices'], [SERVICE]), allow(['ecs:DescribeTaskDefinition'], ['*'])]);
  });

  it('lets restore-database restore, tag and delete only drill copies of the RDS instance, deleting only one tagged as this runbook\'s', () => {
    const s = synth({ config: rdsDrillInput });
    const copies = arn('rds', 'db:shop-prod-db-drill-*');
    const snapshots = arn('rds', 'snapshot:deploy-runbook-8-shop-api-*');
    expect(taskStatements(s, 'restore-database')).toEqual([
      allow(['rds:DescribeDBInstances'], [arn('rds', 'db:shop-prod-db'), copies]),
      allow(['rds:DescribeDBSnapshots'], [snapshots]),
      allow(['rds:RestoreDBInstanceFromDBSnapshot'], [copies, snapshots, arn('rds', 'subgrp:*'), arn('rds', 'pg:*'), arn('rds', 'og:*')]),
      allow(['rds:AddTagsToResource'], [copies]),
      allow(['rds:DeleteDBInstance'], [copies], { StringEquals: { 'rds:db-tag/deploy-runbook:drill-of': 'shop-api' } }),
      allow(['kms:CreateGrant'], [KMS_KEY_ARN], { Bool: { 'kms:GrantIsForAWSResource': 'true' } }),
      allow(['kms:DescribeKey'], [KMS_KEY_ARN]),
    ]);
    const deletes = FOLDERS.flatMap((folder) => taskStatements(s, folder).filter((st) => st.Action.some((a) => a.startsWith('rds:Delete'))).map((st) => [folder, st.Resource]));
    expect(deletes).toEqual([['restore-database', [copies]]]);
  });

  it('lets restore-database drill the Aurora cluster beside its rollback grants: deletes of drill copies only, by tag', () => {
    const s = synth({ config: auroraDrillInput });
    const clusters = arn('rds', 'cluster:shop-prod-drill-*');
    const writers = arn('rds', 'db:shop-prod-drill-*');
    const statements = taskStatements(s, 'restore-database');
    expect(statements).toContainEqual(allow(['rds:RestoreDBClusterFromSnapshot'], [clusters, arn('rds', 'cluster-snapshot:deploy-runbook-8-shop-api-*'), arn('rds', 'subgrp:*'), arn('rds', 'cluster-pg:*'), arn('rds', 'og:*')]));
    expect(statements).toContainEqual(allow(['rds:CreateDBInstance'], [writers, clusters, arn('rds', 'subgrp:*'), arn('rds', 'pg:*'), arn('rds', 'og:*')]));
    expect(statements).toContainEqual(allow(['rds:DeleteDBInstance'], [writers], { StringEquals: { 'rds:db-tag/deploy-runbook:drill-of': 'shop-api' } }));
    expect(statements).toContainEqual(allow(['rds:DeleteDBCluster'], [clusters], { StringEquals: { 'rds:cluster-tag/deploy-runbook:drill-of': 'shop-api' } }));
    expect(statements.filter((st) => st.Action.some((a) => a.startsWith('rds:Delete'))).flatMap((st) => st.Resource)).toEqual([writers, clusters]);
  });

  it('grants no drill without database.connection: a drill of an RDS snapshot cannot run without it', () => {
    const s = synth({ config: exampleInput });
    expect(taskStatements(s, 'restore-database').flatMap((st) => st.Action)).not.toContain('rds:DeleteDBInstance');
  });

  it('grants restore-database nothing when the restore policy is never', () => {
    const s = synth({ config: { ...exampleInput, database: { kind: 'rds-instance', instanceIdentifier: 'shop-prod-db', restorePolicy: 'never' } } });
    expect(taskStatements(s, 'restore-database')).toEqual([]);
    expect(taskStatements(s, 'database-snapshot')).not.toEqual([]);
  });

  it('uses ARNs as given: a secret ARN, an ECS service ARN and a cluster ARN', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/prod/smoke-user-AbCdEf';
    const s = synth({
      config: {
        ...exampleInput,
        target: {
          ...(exampleInput.target as object),
          kind: 'ecs',
          cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/shop-prod',
          service: 'arn:aws:ecs:eu-west-1:123456789012:service/shop-prod/shop-api',
        } as RunbookConfigInput['target'],
        smokeTests: { ...exampleInput.smokeTests, secrets: { SMOKE_PASSWORD: { secretsManager: secretArn, jsonKey: 'password' } } },
      },
    });
    expect(taskStatements(s, 'smoke-test')).toEqual([allow(['secretsmanager:GetSecretValue'], [secretArn])]);
    expect(taskStatements(s, 'deploy-target')[0]).toEqual(allow(['ecs:DescribeServices', 'ecs:UpdateService'], ['arn:aws:ecs:eu-west-1:123456789012:service/shop-prod/shop-api']));
    expect(taskStatements(s, 'migrations')[0].Condition).toEqual({ ArnEquals: { 'ecs:cluster': 'arn:aws:ecs:eu-west-1:123456789012:cluster/shop-prod' } });
    expect(taskStatements(s, 'migrations')[1].Resource).toEqual([arn('ecs', 'task/shop-prod/*')]);
  });
});

describe('taskGrants', () => {
  const awsConfig = fc.record({
    target: fc.constantFrom<RunbookConfigInput['target']>(exampleInput.target, { kind: 'hook', functionArn: HOOK_ARN }),
    database: fc.constantFrom<RunbookConfigInput['database']>(null, exampleInput.database, auroraInput.database, {
      kind: 'rds-instance',
      instanceIdentifier: 'db-1',
      restorePolicy: 'never',
    }),
    migrations: fc.constantFrom<RunbookConfigInput['migrations']>(null, { kind: 'hook', functionArn: MIGRATE_HOOK_ARN }, exampleInput.migrations),
    alarmNames: fc.array(fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/), { maxLength: 4 }),
    topic: fc.boolean(),
  });

  it('names every action in full and gives every wildcard resource a reason, for any AWS configuration', () => {
    fc.assert(
      fc.property(awsConfig, ({ target, database, migrations, alarmNames, topic }) => {
        fc.pre(!(migrations?.kind === 'ecs-task' && target.kind !== 'ecs'));
        const stack = new Stack(new App(), 'Grants');
        const grants = taskGrants(
          stack,
          config({
            ...exampleInput,
            target,
            database,
            migrations,
            alarms: { kind: 'cloudwatch', names: alarmNames },
            notifications: topic ? { topicArn: TOPIC_ARN } : {},
          }),
          new Bucket(stack, 'Bucket'),
        );
        expect(Object.keys(grants).sort()).toEqual([...FOLDERS].sort());
        for (const grant of Object.values(grants).flat()) {
          for (const action of grant.actions) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
          if (grant.resources.some((r) => r.includes('*'))) expect(grant.wildcardReason?.length ?? 0).toBeGreaterThan(20);
          expect(grant.resources.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 60 },
    );
  });
});
