import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/runbook-function';
import { exampleInput } from './fixtures';

const work = mkdtempSync(join(tmpdir(), 'deploy-runbook-app-'));

/** Runs `bin/app.ts` the way `cdk synth` does: context in CDK_CONTEXT_JSON, the assembly into CDK_OUTDIR. */
function runApp(context: Record<string, unknown>, env: Record<string, string> = {}) {
  const outdir = mkdtempSync(join(work, 'out-'));
  const { CDK_DEFAULT_ACCOUNT: _account, CDK_DEFAULT_REGION: _region, ...inherited } = process.env;
  const result = spawnSync(process.execPath, [join(PROJECT_ROOT, 'node_modules/tsx/dist/cli.mjs'), 'bin/app.ts'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...inherited, ...env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], ...context }) },
  });
  return { ...result, outdir };
}

function writeConfig(name: string, config: unknown): string {
  const path = join(work, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

describe('bin/app.ts', { timeout: 120_000 }, () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('synthesizes DeployRunbook-<name> from config/example.json by default, passing cdk-nag', () => {
    const { status, stderr, outdir } = runApp({});
    expect(stderr).not.toMatch(/AwsSolutions|Error/);
    expect(status).toBe(0);
    const template = JSON.parse(readFileSync(join(outdir, 'DeployRunbook-shop-api.template.json'), 'utf8'));
    expect(Object.keys(template.Outputs)).toEqual(['StateMachineArn', 'BucketName', 'RestoreApprovalActivityArn']);
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    // No region from the CLI: the template is made for the region of the example's topic and KMS key.
    expect(manifest.artifacts['DeployRunbook-shop-api'].environment).toBe('aws://unknown-account/eu-west-1');
    expect(manifest.missing).toBeUndefined();
  });

  it('fails when the CLI synthesizes for another region than the configuration names, listing each ARN', () => {
    const { status, stderr } = runApp({}, { CDK_DEFAULT_REGION: 'us-east-1' });
    expect(status).toBe(1);
    expect(stderr).toContain('config/example.json is not a valid deploy-runbook configuration');
    expect(stderr).toContain(
      'database.kmsKeyArn: is in eu-west-1, but the stack deploys to us-east-1, whose functions cannot use it; synthesize for eu-west-1 (AWS_REGION=eu-west-1) or name a resource in us-east-1 (got "arn:aws:kms:eu-west-1:123456789012:key/0c6e4bd4-53b5-4e7f-9a1c-6a1d2f9e8b11")',
    );
    expect(stderr).toContain('notifications.topicArn: is in eu-west-1, but the stack deploys to us-east-1');
  });

  it('fails when the configuration names resources in two regions, whatever region the CLI gives', () => {
    const path = writeConfig('two-regions.json', { ...exampleInput, notifications: { topicArn: 'arn:aws:sns:us-east-1:123456789012:shop-deployments' } });
    const { status, stderr } = runApp({ 'deploy-runbook:config': path });
    expect(status).toBe(1);
    expect(stderr).toContain(
      'the configuration names resources in 2 regions (eu-west-1: database.kmsKeyArn; us-east-1: notifications.topicArn), but the functions of one stack run in one region',
    );
  });

  it('reads the configuration named by the deploy-runbook:config context and the account and region from the CLI', () => {
    const path = writeConfig('billing.json', { ...exampleInput, name: 'billing-api' });
    const { status, outdir } = runApp({ 'deploy-runbook:config': path }, { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' });
    expect(status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts['DeployRunbook-billing-api'].environment).toBe('aws://123456789012/eu-west-1');
  });

  it('fails when the configuration is invalid, printing the file, the field and the value', () => {
    const path = writeConfig('invalid.json', { ...exampleInput, rollbackWindowHours: 500 });
    const { status, stderr } = runApp({ 'deploy-runbook:config': path });
    expect(status).toBe(1);
    expect(stderr).toContain(`${path} is not a valid deploy-runbook configuration`);
    expect(stderr).toMatch(/rollbackWindowHours: .*\(got 500\)/);
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('fails when the configuration names a kind that only runs locally', () => {
    const path = writeConfig('local.json', { ...exampleInput, alarms: { kind: 'prometheus', metricsUrl: 'http://127.0.0.1:9/metrics' } });
    const { status, stderr } = runApp({ 'deploy-runbook:config': path });
    expect(status).toBe(1);
    expect(stderr).toContain(`alarms.kind: 'prometheus' (rules over the app's Prometheus /metrics) runs only in a local rehearsal (deploy-runbook rehearse); on AWS use 'cloudwatch', or leave it out (got "prometheus")`);
  });

  it('adds DeployRunbook-ReleasePlans over the deployed runbooks a plans file names, in their region, passing cdk-nag', () => {
    const staging = 'arn:aws:states:eu-west-1:123456789012:stateMachine:DeployRunbook-shop-api-staging';
    const production = 'arn:aws:states:eu-west-1:123456789012:stateMachine:DeployRunbook-shop-api';
    const support = 'arn:aws:sns:eu-west-1:123456789012:shop-support';
    const path = writeConfig('plans.json', { runbooks: [staging, production], notifications: { topics: [{ topicArn: support, audience: 'support', events: ['started'] }] } });
    const { status, stderr, outdir } = runApp({ 'deploy-runbook:release-plans': path });
    expect(stderr).not.toMatch(/AwsSolutions|Error/);
    expect(status).toBe(0);
    const template = JSON.parse(readFileSync(join(outdir, 'DeployRunbook-ReleasePlans.template.json'), 'utf8'));
    expect(Object.keys(template.Outputs)).toEqual(['PlanStateMachineArn', 'PlanBucketName', 'PlanApprovalActivityArn']);
    const statements = Object.values(template.Resources as Record<string, { Type: string; Properties: { PolicyDocument?: { Statement: { Action: string | string[]; Resource: unknown }[] } } }>)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy')
      .flatMap((resource) => resource.Properties.PolicyDocument!.Statement);
    expect(statements.find((statement) => statement.Action === 'states:StartExecution')?.Resource).toEqual([staging, production]);
    expect(statements.find((statement) => statement.Action === 'sns:Publish')?.Resource).toBe(support);
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts['DeployRunbook-ReleasePlans'].environment).toBe('aws://unknown-account/eu-west-1');
  });

  it('fails when the plans file names something else than a state machine, printing the file, the field and the value', () => {
    const path = writeConfig('bad-plans.json', { runbooks: ['arn:aws:states:eu-west-1:123456789012:stateMachine:DeployRunbook-shop-api', 'DeployRunbook-shop-api'] });
    const { status, stderr } = runApp({ 'deploy-runbook:release-plans': path });
    expect(status).toBe(1);
    expect(stderr).toContain(`${path} is not a valid deploy-runbook configuration`);
    expect(stderr).toContain('runbooks[1]: must be a state machine ARN (the StateMachineArn output of a DeployRunbook-<name> stack) (got "DeployRunbook-shop-api")');
  });

  it('fails when the plans file names runbooks in two regions', () => {
    const path = writeConfig('two-region-plans.json', {
      runbooks: ['arn:aws:states:eu-west-1:123456789012:stateMachine:a', 'arn:aws:states:us-east-1:123456789012:stateMachine:b'],
    });
    const { status, stderr } = runApp({ 'deploy-runbook:release-plans': path });
    expect(status).toBe(1);
    expect(stderr).toContain('runbooks and notifications: the plan stack runs in one region with the runbooks it starts (got eu-west-1, us-east-1)');
  });

  it('fails when the configuration file does not exist', () => {
    const { status, stderr } = runApp({ 'deploy-runbook:config': join(work, 'missing.json') });
    expect(status).toBe(1);
    expect(stderr).toContain('missing.json is not a valid deploy-runbook configuration');
    expect(stderr).toContain('cannot be read');
  });
});
