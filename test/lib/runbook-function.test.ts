import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { RunbookFunction } from '../../lib/runbook-function';
import { FUNCTION_PLACEHOLDERS, functionFolder, loadDefinition } from '../../statemachines/definition';
import { exampleInput, resources, synth } from './fixtures';

const FOLDERS = FUNCTION_PLACEHOLDERS.map(functionFolder);

describe('task functions in the runbook', () => {
  const s = synth({ config: exampleInput });
  const all = resources(s.template);
  const bucketId = s.stack.getLogicalId(s.stack.runbook.bucket.node.defaultChild as never);
  const fnProps = (folder: string) => all[s.stack.getLogicalId(s.stack.runbook.functions[folder].node.defaultChild as never)].Properties;

  it('creates one function per folder named in the definition', () => {
    s.template.resourceCountIs('AWS::Lambda::Function', 12);
    expect(Object.keys(s.stack.runbook.functions).sort()).toEqual([...FOLDERS].sort());
  });

  it.each(FOLDERS)('runs %s on Node.js 24 on ARM64 with X-Ray, 256 MB, the bucket and source maps', (folder) => {
    expect(fnProps(folder)).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      MemorySize: 256,
      Handler: 'index.handler',
      Environment: {
        Variables: { RUNBOOK_BUCKET: { Ref: bucketId }, POWERTOOLS_SERVICE_NAME: 'deploy-runbook', NODE_OPTIONS: '--enable-source-maps' },
      },
    });
  });

  it.each(FOLDERS)('logs %s to its own log group kept for a month', (folder) => {
    const logGroupId = (fnProps(folder).LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    expect(all[logGroupId]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    expect(logGroupId).toBe(s.stack.getLogicalId(s.stack.runbook.functions[folder].logGroup.node.defaultChild as never));
  });

  it('times each function out 5 s under the longest TimeoutSeconds of the Task states that call it', () => {
    const longest = new Map<string, number>();
    for (const state of Object.values(loadDefinition().States as Record<string, { Type: string; Resource?: string; TimeoutSeconds?: number }>)) {
      const placeholder = /^\$\{(\w+FunctionArn)\}$/.exec(state.Resource ?? '')?.[1];
      if (state.Type !== 'Task' || !placeholder || state.TimeoutSeconds === undefined) continue;
      const folder = functionFolder(placeholder as (typeof FUNCTION_PLACEHOLDERS)[number]);
      longest.set(folder, Math.max(longest.get(folder) ?? 0, state.TimeoutSeconds));
    }
    expect([...longest.keys()].sort()).toEqual([...FOLDERS].sort());
    for (const [folder, seconds] of longest) expect(fnProps(folder).Timeout, folder).toBe(seconds - 5);
  });

  it('applies the logRetention prop to every function log group', () => {
    const week = synth({ config: exampleInput, logRetention: RetentionDays.ONE_WEEK });
    const groups = Object.values(resources(week.template)).filter((r) => r.Type === 'AWS::Logs::LogGroup');
    expect(groups).toHaveLength(13);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(7);
  });
});

describe('RunbookFunction', () => {
  function build(props: Partial<ConstructorParameters<typeof RunbookFunction>[2]> = {}) {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Fn');
    const fn = new RunbookFunction(stack, 'Ledger', {
      folder: 'ledger',
      stateTimeout: Duration.seconds(60),
      bucket: new Bucket(stack, 'Bucket'),
      grants: [],
      ...props,
    });
    return { stack, fn, template: Template.fromStack(stack) };
  }

  it('fails when lambdas/<folder>/handler.ts does not exist', () => {
    expect(() => build({ folder: 'no-such-task' })).toThrow(/lambdas\/no-such-task\/handler\.ts/);
  });

  it('gets a role that only Lambda can assume and that has no managed policy', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }] },
    });
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) expect(role.Properties).not.toHaveProperty('ManagedPolicyArns');
  });

  it('adds each grant as one statement, conditions included', () => {
    const { template } = build({
      grants: [{ actions: ['sns:Publish'], resources: ['arn:aws:sns:eu-west-1:123456789012:t'], conditions: { Bool: { 'aws:SecureTransport': 'true' } } }],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' },
          { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow' },
          { Action: 'sns:Publish', Effect: 'Allow', Resource: 'arn:aws:sns:eu-west-1:123456789012:t', Condition: { Bool: { 'aws:SecureTransport': 'true' } } },
        ],
      },
    });
  });

  it('keeps its timeout 5 s under the state timeout it is given', () => {
    const { template } = build({ stateTimeout: Duration.seconds(300) });
    template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 295 });
  });

  it('keeps its log group for the given retention', () => {
    const { template } = build({ logRetention: RetentionDays.THREE_MONTHS });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });
});
