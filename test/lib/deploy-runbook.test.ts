import { createRequire } from 'node:module';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../config/load';
import { AlarmRollbackRule } from '../../lib/alarm-rollback-rule';
import { DeployRunbook } from '../../lib/deploy-runbook';
import { STACK_OUTPUTS } from '../../lib/deploy-runbook-stack';
import { InvalidRunbookPropsError } from '../../lib/errors';
import { ACTIVITY_PLACEHOLDER, FUNCTION_PLACEHOLDERS, placeholdersOf, substitute, type Json } from '../../statemachines/definition';
import { bareInput, config, exampleInput, resources, synth } from './fixtures';

type Validate = (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };
// asl-validator ships CommonJS without type declarations.
const validateAsl = createRequire(import.meta.url)('asl-validator') as Validate;

describe('the runbook state machine', () => {
  const s = synth({ config: exampleInput });
  const all = resources(s.template);
  const machineId = s.stack.getLogicalId(s.stack.runbook.stateMachine.node.defaultChild as never);
  const machine = all[machineId].Properties;
  const definition = JSON.parse(machine.DefinitionString as string) as Record<string, Json>;
  const { [ACTIVITY_PLACEHOLDER]: activitySubstitution, ...substitutions } = machine.DefinitionSubstitutions as Record<string, { 'Fn::GetAtt': [string, string] }>;
  const activityId = s.stack.getLogicalId(s.stack.runbook.restoreApproval.node.defaultChild as never);

  it('is the construct default child, a Standard state machine with tracing', () => {
    expect(s.stack.runbook.node.defaultChild).toBe(s.stack.runbook.stateMachine);
    s.template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    expect(machine).toMatchObject({ StateMachineType: 'STANDARD', TracingConfiguration: { Enabled: true } });
  });

  it('logs every event with execution data to a vended log group kept for a month', () => {
    const logGroupId = (machine.LoggingConfiguration as { Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string] } } }] })
      .Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    expect(machine.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    expect(all[logGroupId]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 30, LogGroupName: expect.stringMatching(/^\/aws\/vendedlogs\/states\/[A-Za-z0-9-]+$/) },
    });
  });

  it('holds the definition inline as JSON, with the configuration and the execution timeout filled in', () => {
    expect(definition.StartAt).toBe('LoadConfig');
    expect(definition.TimeoutSeconds).toBe(360 * 60);
    const states = definition.States as Record<string, { Parameters: { config: unknown } }>;
    expect(states.ValidateInput.Parameters.config).toEqual(JSON.parse(JSON.stringify(config(exampleInput))));
  });

  it('leaves only function ARN placeholders and the approval activity ARN, each a key of DefinitionSubstitutions', () => {
    expect(placeholdersOf(definition).sort()).toEqual([...Object.keys(substitutions), ACTIVITY_PLACEHOLDER].sort());
    expect(Object.keys(substitutions).sort()).toEqual([...FUNCTION_PLACEHOLDERS].sort());
  });

  it('waits for a restore approval on an activity of its own, which the state machine role needs no permission for', () => {
    s.template.resourceCountIs('AWS::StepFunctions::Activity', 1);
    // Issue 9, item 13: the synthesized definition (logged at level ALL) reads no task token anywhere.
    expect(machine.DefinitionString).not.toMatch(/Task\.Token|waitForTaskToken/);
    expect(all[activityId].Type).toBe('AWS::StepFunctions::Activity');
    expect(activitySubstitution).toEqual({ Ref: activityId });
    const roleStatements = JSON.stringify(Object.values(all).filter((r) => r.Type === 'AWS::IAM::Policy'));
    expect(roleStatements).not.toContain(activityId);
    expect(roleStatements).not.toMatch(/states:(GetActivityTask|SendTask)/);
  });

  it('substitutes each placeholder with the ARN of a distinct Lambda function', () => {
    const targets = Object.values(substitutions).map((value) => {
      expect(value['Fn::GetAtt'][1]).toBe('Arn');
      return value['Fn::GetAtt'][0];
    });
    expect(new Set(targets).size).toBe(12);
    for (const id of targets) expect(all[id].Type).toBe('AWS::Lambda::Function');
    expect(substitutions.DeployTargetFunctionArn['Fn::GetAtt'][0]).toBe(s.stack.getLogicalId(s.stack.runbook.functions['deploy-target'].node.defaultChild as never));
  });

  it('validates with asl-validator once CloudFormation has filled in the function ARNs', () => {
    const arns: Record<string, Json> = Object.fromEntries(FUNCTION_PLACEHOLDERS.map((p) => [p, `arn:aws:lambda:eu-west-1:123456789012:function:${p}`]));
    arns[ACTIVITY_PLACEHOLDER] = 'arn:aws:states:eu-west-1:123456789012:activity:restore-approval';
    const result = validateAsl(substitute(definition, arns));
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('uses the stateMachineName prop', () => {
    synth({ config: exampleInput, stateMachineName: 'shop-api-runbook' }).template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'shop-api-runbook',
    });
  });

  it('outputs the state machine ARN, the bucket name and the approval activity ARN under fixed keys', () => {
    expect(s.template.toJSON().Outputs).toEqual({
      [STACK_OUTPUTS.stateMachineArn]: { Description: expect.any(String), Value: { Ref: machineId } },
      [STACK_OUTPUTS.bucketName]: { Description: expect.any(String), Value: { Ref: s.stack.getLogicalId(s.stack.runbook.bucket.node.defaultChild as never) } },
      RestoreApprovalActivityArn: { Description: expect.any(String), Value: { Ref: activityId } },
    });
  });

  it('synthesizes without CDK warnings or errors', () => {
    Annotations.fromStack(s.stack).hasNoWarning('*', Match.anyValue());
    Annotations.fromStack(s.stack).hasNoError('*', Match.anyValue());
  });

  it('needs no context look-up, so cdk synth works offline', () => {
    expect(s.app.synth().manifest.missing ?? []).toEqual([]);
  });
});

describe('DeployRunbook props', () => {
  function build(props: Partial<ConstructorParameters<typeof DeployRunbook>[2]>) {
    return () => new DeployRunbook(new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Props'), 'Runbook', { config: exampleInput, ...props });
  }

  it('accepts an already parsed configuration', () => {
    expect(build({ config: config(exampleInput) })().config).toEqual(config(exampleInput));
  });

  it('fails when the target kind only runs in a local rehearsal, naming the field and the value', () => {
    const local = { ...exampleInput, migrations: null, target: { kind: 'command', deploy: 'make deploy', rollback: 'make rollback', current: 'cat VERSION' } };
    const attempt = build({ config: local as never });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/target\.kind: 'command' \(shell commands\) runs only in a local rehearsal.*\(got "command"\)/);
  });

  it('fails when a postgres database has no connection for AWS or the alarms kind only runs in a local rehearsal, listing both', () => {
    const local = {
      ...exampleInput,
      migrations: null,
      database: { kind: 'postgres' },
      alarms: { kind: 'prometheus', metricsUrl: 'http://127.0.0.1:9/metrics' },
    };
    expect(build({ config: local as never })).toThrow(/alarms\.kind: 'prometheus'[\s\S]*database\.connection: 'postgres' on AWS/);
  });

  it('fails when a restore needs approval but no topic would carry the request', () => {
    const silent = { ...exampleInput, notifications: {}, database: { ...exampleInput.database, restoreApproval: { required: true } } };
    expect(build({ config: silent as never })).toThrow(/database\.restoreApproval\.required \(true, the default\) needs notifications\.topicArn/);
  });

  it('fails when the stack deploys to another region than the configuration names, listing each ARN', () => {
    const attempt = () => new DeployRunbook(new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Elsewhere', { env: { region: 'us-east-1' } }), 'Runbook', { config: exampleInput });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/database\.kmsKeyArn: is in eu-west-1, but the stack deploys to us-east-1[\s\S]*notifications\.topicArn: is in eu-west-1, but the stack deploys to us-east-1/);
  });

  it('accepts a stack in the region the configuration names', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Here', { env: { region: 'eu-west-1' } });
    expect(new DeployRunbook(stack, 'Runbook', { config: exampleInput }).config.name).toBe('shop-api');
  });

  it('fails when the configuration is invalid, naming the construct, the field and the value', () => {
    const attempt = build({ config: { ...exampleInput, executionTimeoutMinutes: 2 } });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/DeployRunbook Props\/Runbook config[\s\S]*executionTimeoutMinutes: .*\(got 2\)/);
  });

  it('turns the alarm rollback on by default when alarms are named and the window is open', () => {
    const runbook = build({})();
    expect(runbook.alarmRollback).toBeInstanceOf(AlarmRollbackRule);
    Template.fromStack(Stack.of(runbook)).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: { alarmName: ['shop-api-5xx-rate', 'shop-api-p95-latency'], state: { value: ['ALARM'] } } }),
    });
    expect(build({ config: bareInput })().alarmRollback).toBeUndefined();
    expect(build({ config: { ...exampleInput, rollbackWindowHours: 0 } })().alarmRollback).toBeUndefined();
    expect(build({ alarmRollback: false })().alarmRollback).toBeUndefined();
  });

  it('fails when alarmRollback is on but no alarm is named', () => {
    const attempt = build({ config: bareInput, alarmRollback: true });
    expect(attempt).toThrow(InvalidRunbookPropsError);
    expect(attempt).toThrow('alarmRollback: true needs at least one CloudWatch alarm in alarms.names (got [])');
  });

  it('fails when alarmRollback is on but the rollback window is 0 hours', () => {
    expect(build({ config: { ...exampleInput, rollbackWindowHours: 0 }, alarmRollback: true })).toThrow(/rollbackWindowHours > 0.*\(got 0\)/);
  });
});
