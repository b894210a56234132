import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import type { RunbookConfigInput } from '../../config/schema';
import { DeployRunbookStack } from '../../lib/deploy-runbook-stack';
import { RunbookFunction } from '../../lib/runbook-function';
import { analysisInput, auroraDrillInput, auroraInput, bareInput, exampleInput, hookInput, hostsInput, postgresInput, rdsDrillInput, rdsLogicalInput, synth } from './fixtures';

const ACKNOWLEDGED = 'aws:cdk:acknowledged-rules';

/** Violations (errors and warnings) AwsSolutionsChecks reports for the synthesized app, as "rule at path". */
function violations(app: App): string[] {
  return new AwsSolutionsChecks()
    .validateScope(app)
    .violations.flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`));
}

/** Every acknowledgement recorded in the construct tree: rule id, reason and the construct it is applied to. */
function acknowledgements(app: App): { id: string; reason: string; path: string }[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === ACKNOWLEDGED)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ id: id.replace(/^annotation::/i, ''), reason, path: construct.node.path })),
      ),
  );
}

// The first check loads every rule pack module of aws-cdk-lib, which takes a while on a cold fork.
describe('cdk-nag AwsSolutions', { timeout: 90_000 }, () => {
  const variants: [string, RunbookConfigInput][] = [
    ['example', exampleInput],
    ['hook', hookInput],
    ['ssm-hosts', hostsInput],
    ['aurora', auroraInput],
    ['bare', bareInput],
    ['analysis metrics from CloudWatch, Logs Insights and Prometheus', analysisInput],
    ['a post-release watch', { ...analysisInput, analysis: { ...analysisInput.analysis, watch: { everyMinutes: 60 } } } as RunbookConfigInput],
    [
      'functions in a VPC, an http metric re-running smoke checks',
      {
        ...analysisInput,
        network: { vpcId: 'vpc-0a1b2c3d4e5f67890', subnetIds: ['subnet-0a1b2c3d4e5f67890'], securityGroupIds: ['sg-0a1b2c3d4e5f67890'] },
        analysis: { ...analysisInput.analysis, metrics: [...(analysisInput.analysis?.metrics ?? []), { name: 'failing-checks', provider: { kind: 'http' }, failureCondition: 'result > 0' }] },
      } as RunbookConfigInput,
    ],
    ['a postgres database backed up by the ECS backup task', postgresInput],
    ['a postgres database drilled on a schedule', { ...postgresInput, backup: { drillSchedule: 'cron(0 3 ? * MON *)', drillScheduleTimezone: 'Europe/Paris' } } as RunbookConfigInput],
    ['a postgres database drilled before each deploy (backup.testRestore)', { ...postgresInput, backup: { testRestore: true } } as RunbookConfigInput],
    ['an RDS instance with a logical copy beside each snapshot', rdsLogicalInput],
    ['an RDS instance drilled before every deploy (scratch instance, tag-conditioned delete)', rdsDrillInput],
    ['an Aurora cluster drilled before every deploy', auroraDrillInput],
    ['alarm names holding * and ?', { ...exampleInput, alarms: { kind: 'cloudwatch', names: ['shop-api-5xx*', 'p95-latency?'] } }],
  ];

  it.each(variants)('reports no unacknowledged error or warning (%s)', (_name, input) => {
    const { app } = synth({ config: input });
    expect(violations(app)).toEqual([]);
  });

  it('passes as a validation plugin during synthesis, as the CDK app runs it', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new DeployRunbookStack(app, 'Plugin', { config: exampleInput });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  it('acknowledges each finding on the narrowest construct, with a specific reason', () => {
    const { app } = synth({ config: exampleInput });
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(10);
    for (const ack of acks) {
      expect(ack.reason.length, ack.id).toBeGreaterThan(40);
      // On a role (its policies), the ledger's execution-history policy, a bucket or a queue: never on the stack or the runbook as a whole.
      expect(ack.path, ack.id).toMatch(/\/(\w+FunctionRole|Resource\/Role|DeadLetterQueue|LedgerExecutionHistoryPolicy)$/);
    }
    expect(acks.map((a) => a.id)).not.toContain('AwsSolutions-IAM5');
    // The log bucket needs no S1 acknowledgement: cdk-nag accepts a bucket that is another bucket's log destination.
    expect(acks.map((a) => a.id)).not.toContain('AwsSolutions-S1');
  });

  it('names every action the X-Ray and ECS wildcards cover in one acknowledgement', () => {
    const { app } = synth({ config: exampleInput });
    const deployTarget = acknowledgements(app).find((a) => a.path.endsWith('/DeployTargetFunctionRole') && a.id === 'AwsSolutions-IAM5[Resource::*]');
    expect(deployTarget?.reason).toMatch(/X-Ray.*; ecs:DescribeTaskDefinition and ecs:RegisterTaskDefinition have no resource-level permissions/);
  });

  it('fails when a grant has a wildcard resource without a reason', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Unjustified');
    new RunbookFunction(stack, 'Ledger', {
      folder: 'ledger',
      stateTimeout: Duration.seconds(60),
      bucket: new Bucket(stack, 'Bucket', { enforceSSL: true }),
      grants: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::elsewhere/*'] }],
    });
    app.synth();
    expect(violations(app)).toContain('error AwsSolutions-IAM5[Resource::arn:aws:s3:::elsewhere/*] at Unjustified/LedgerRole/DefaultPolicy/Resource');
  });
});
