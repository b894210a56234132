import { App, type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { DeployRunbook } from '../../lib/deploy-runbook';
import { ReleasePlanRunner } from '../../lib/release-plan';
import { ReleasePlanStack } from '../../lib/release-plan-stack';
import { exampleInput, flat, flatDeep, resources, type Statement } from './fixtures';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:shop-deployments';
const SUPPORT = 'arn:aws:sns:eu-west-1:123456789012:shop-support';

/** Two runbooks (staging and production of the example) and the plans over them, in one stack, functions not bundled. */
function synthPlans() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'PlanTest');
  const staging = new DeployRunbook(stack, 'Staging', { config: { ...exampleInput, name: 'shop-api-staging' } });
  const production = new DeployRunbook(stack, 'Production', { config: exampleInput });
  const plans = new ReleasePlanRunner(stack, 'Plans', { runbooks: [staging, production] });
  const template = Template.fromStack(stack);
  const statementsOf = (role: IConstruct): Statement[] => {
    const id = stack.getLogicalId(role.node.defaultChild as CfnElement);
    return Object.values(resources(template))
      .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === id))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
      .map((s) => flatDeep({ ...s, Action: [s.Action].flat(), Resource: [s.Resource].flat() }) as Statement);
  };
  const idOf = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  return { app, stack, template, staging, production, plans, statementsOf, idOf };
}

describe('ReleasePlanRunner', () => {
  it('lets the plan state machine start exactly the named runbooks, follow their executions and use the sync rule', () => {
    const { plans, statementsOf, idOf, staging, production } = synthPlans();
    const statements = statementsOf(plans.stateMachine.role).filter((s) => !s.Action.every((a) => a.startsWith('xray:') || a.startsWith('logs:')));
    const runbookArns = [`<${idOf(staging.stateMachine)}>`, `<${idOf(production.stateMachine)}>`];
    expect(statements.find((s) => s.Action.includes('states:StartExecution'))).toMatchObject({ Effect: 'Allow', Action: ['states:StartExecution'], Resource: runbookArns });
    const follow = statements.find((s) => s.Action.includes('states:DescribeExecution'));
    expect(follow?.Action).toEqual(['states:DescribeExecution', 'states:StopExecution']);
    expect(follow?.Resource).toHaveLength(2);
    for (const resource of follow?.Resource ?? []) expect(resource).toMatch(/^arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.+:\*$/);
    expect(statements.find((s) => s.Action.includes('events:PutRule'))).toMatchObject({
      Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      Resource: ['arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule'],
    });
    expect(statements.find((s) => s.Action.includes('lambda:InvokeFunction'))?.Resource).toEqual([`<${idOf(plans.planFunction)}.Arn>`]);
    // Nothing else: no wildcard action, no other state machine.
    expect(statements.flatMap((s) => s.Action).sort()).toEqual(
      ['events:DescribeRule', 'events:PutRule', 'events:PutTargets', 'lambda:InvokeFunction', 'states:DescribeExecution', 'states:StartExecution', 'states:StopExecution'].sort(),
    );
  });

  it("gives the plan function its store's locks/ and reports/plans/ and DescribeStateMachine on the runbooks only", () => {
    const { plans, statementsOf, idOf, staging, production, template } = synthPlans();
    const statements = statementsOf(plans.planFunction.role!).filter((s) => !s.Action.every((a) => a.startsWith('xray:') || a.startsWith('logs:')));
    expect(statements.find((s) => s.Action.includes('states:DescribeStateMachine'))?.Resource).toEqual([`<${idOf(staging.stateMachine)}>`, `<${idOf(production.stateMachine)}>`]);
    expect(statements.find((s) => s.Action.includes('s3:PutObject'))?.Resource.map((r) => r.replace(/^<.+?\.Arn>/, '<bucket>'))).toEqual(['<bucket>/locks/*', '<bucket>/reports/plans/*']);
    const fn = resources(template)[idOf(plans.planFunction)];
    const runbooks = flat((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.PLAN_RUNBOOKS);
    expect(runbooks).toContain('"target":"shop-api-staging"');
    expect(runbooks).toContain('"target":"shop-api"');
  });

  it('runs the generated plan definition with its timeout, function and activity filled in', () => {
    const { plans, template, idOf } = synthPlans();
    const machine = resources(template)[idOf(plans.stateMachine)];
    const definition = JSON.parse(flat(machine.Properties.DefinitionString)) as { TimeoutSeconds: number; States: Record<string, Record<string, unknown>> };
    expect(definition.TimeoutSeconds).toBe(86_400);
    expect(definition.States.RunStage.Resource).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect(definition.States.AcquirePlanLock.Parameters).toMatchObject({ config: { lock: { leaseMinutes: 1445 } } });
    expect(flatDeep(machine.Properties.DefinitionSubstitutions)).toEqual({ ReleasePlanFunctionArn: `<${idOf(plans.planFunction)}.Arn>`, PlanApprovalActivityArn: `<${idOf(plans.approval)}>` });
    expect(machine.Properties.StateMachineType).toBe('STANDARD');
  });

  it('passes cdk-nag AwsSolutions, its one wildcard per runbook acknowledged with a reason', () => {
    const { app } = synthPlans();
    const found = new AwsSolutionsChecks().validateScope(app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
    expect(found).toEqual([]);
  });

  it('lets the plan function publish to exactly the topics of its notifications, and tells NotifyPlanStarted which', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Told');
    const runbook = { stateMachine: StateMachine.fromStateMachineArn(stack, 'R', 'arn:aws:states:eu-west-1:123456789012:stateMachine:DeployRunbook-shop-api') };
    const notifications = { topicArn: TOPIC, topics: [{ topicArn: SUPPORT, audience: 'support', events: ['started' as const] }] };
    const plans = new ReleasePlanRunner(stack, 'Plans', { runbooks: [runbook], notifications });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(plans.planFunction.role!.node.defaultChild as CfnElement) }],
      PolicyDocument: { Statement: Match.arrayWith([{ Action: 'sns:Publish', Effect: 'Allow', Resource: [TOPIC, SUPPORT] }]) },
    });
    const machine = resources(template)[stack.getLogicalId(plans.stateMachine.node.defaultChild as CfnElement)];
    const definition = JSON.parse(flat(machine.Properties.DefinitionString)) as { States: Record<string, { Parameters: unknown; Next: string }> };
    expect(definition.States.NotifyPlanStarted.Parameters).toEqual({ operation: 'notify-started', config: { lock: { leaseMinutes: 1445 }, notifications }, 'release.$': '$.release' });
    expect(definition.States.NotifyPlanStarted.Next).toBe('Advance');
  });

  it('gives the plan function no sns:Publish without notifications', () => {
    const { plans, statementsOf } = synthPlans();
    expect(statementsOf(plans.planFunction.role!).flatMap((s) => s.Action).filter((a) => a.startsWith('sns:'))).toEqual([]);
  });

  it('fails when a notification topic is not an SNS topic ARN, naming the field and the value', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'BadTopic');
    const runbook = { stateMachine: StateMachine.fromStateMachineArn(stack, 'R', 'arn:aws:states:eu-west-1:123456789012:stateMachine:DeployRunbook-shop-api') };
    expect(() => new ReleasePlanRunner(stack, 'Plans', { runbooks: [runbook], notifications: { topics: [{ topicArn: 'shop-support', audience: 'support', events: ['started'] }] } })).toThrow(
      'notifications.topics[0].topicArn: must be an SNS topic ARN (got "shop-support")',
    );
  });

  it('fails when no runbook is given', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Empty');
    expect(() => new ReleasePlanRunner(stack, 'Plans', { runbooks: [] })).toThrow('runbooks: a release plan needs at least one runbook to run (got none)');
  });

  it('fails when the execution timeout is under a minute', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Short');
    const runbook = { stateMachine: StateMachine.fromStateMachineArn(stack, 'R', 'arn:aws:states:eu-west-1:123456789012:stateMachine:DeployRunbook-shop-api') };
    expect(() => new ReleasePlanRunner(stack, 'Plans', { runbooks: [runbook], executionTimeout: Duration.seconds(30) })).toThrow('executionTimeout: must be from 1 minute to 365 days (got 30 seconds)');
  });

  it('outputs the plan state machine, bucket and approval activity for the CLI', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const runbooks = new Stack(app, 'Runbooks');
    const stack = new ReleasePlanStack(app, 'ReleasePlans', {
      runbooks: [{ stateMachine: StateMachine.fromStateMachineArn(runbooks, 'R', 'arn:aws:states:eu-west-1:123456789012:stateMachine:DeployRunbook-shop-api') }],
    });
    expect(Object.keys(Template.fromStack(stack).toJSON().Outputs).sort()).toEqual(['PlanApprovalActivityArn', 'PlanBucketName', 'PlanStateMachineArn']);
  });
});
