import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, DescribeStateMachineCommand, GetExecutionHistoryCommand, type GetExecutionHistoryCommandInput, type HistoryEvent, SFNClient, StartExecutionCommand, StateMachineDoesNotExist } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { sfnHistory, STARTED_AT, testIo } from './fixtures';

const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);
const ARN = (name: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:${name}`;
const PLAN_ARN = ARN('DeployRunbook-ReleasePlans');
const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:v1.4.2';
const runbookDefinition = (name: string) => JSON.stringify({ States: { ValidateInput: { Parameters: { config: { name, target: { kind: 'ecs' } } } } } });

function planFile(plan: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'release-plan-'));
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan));
  return dir;
}

const PLAN = {
  name: 'shop',
  stages: [
    { name: 'staging', runbook: { stack: 'DeployRunbook-shop-staging' }, version: 'v1.4.2', image: IMAGE, gates: [{ kind: 'soak', minutes: 30 }] },
    { name: 'production', runbook: { stateMachineArn: ARN('DeployRunbook-shop-api') }, version: 'v1.4.2', image: IMAGE },
  ],
};

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  cloudFormation.on(DescribeStacksCommand, { StackName: 'DeployRunbook-shop-staging' }).resolves({ Stacks: [{ StackName: 'x', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: ARN('DeployRunbook-shop-staging') }] }] });
  cloudFormation.on(DescribeStacksCommand, { StackName: 'DeployRunbook-ReleasePlans' }).resolves({ Stacks: [{ StackName: 'x', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [{ OutputKey: 'PlanStateMachineArn', OutputValue: PLAN_ARN }] }] });
  sfn.on(DescribeStateMachineCommand, { stateMachineArn: ARN('DeployRunbook-shop-staging') }).resolves({ definition: runbookDefinition('shop-staging') });
  sfn.on(DescribeStateMachineCommand, { stateMachineArn: ARN('DeployRunbook-shop-api') }).resolves({ definition: runbookDefinition('shop-api') });
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:DeployRunbook-ReleasePlans:shop-1', startDate: new Date() });
});

describe('deploy-runbook release --plan', () => {
  it('resolves stack names, checks every runbook exists, then starts the plan with the resolved plan as input', async () => {
    const dir = planFile(PLAN);
    const io = testIo({ cwd: dir, env: { AWS_REGION: 'eu-west-1', GITHUB_ACTOR: 'ana' } });
    expect(await main(['release', '--plan', 'plan.json', '--reason', 'spring release'], io)).toBe(0);
    expect(sfn.commandCalls(DescribeStateMachineCommand).map((call) => call.args[0].input.stateMachineArn).sort()).toEqual([ARN('DeployRunbook-shop-api'), ARN('DeployRunbook-shop-staging')]);
    const [start] = sfn.commandCalls(StartExecutionCommand);
    expect(start.args[0].input.stateMachineArn).toBe(PLAN_ARN);
    expect(start.args[0].input.name).toBe('shop-20250102T030405Z');
    expect(JSON.parse(start.args[0].input.input ?? '')).toEqual({
      plan: { ...PLAN, stages: [{ ...PLAN.stages[0], runbook: { stateMachineArn: ARN('DeployRunbook-shop-staging') } }, { ...PLAN.stages[1], gates: [] }] },
      requestedBy: 'ana',
      reason: 'spring release',
    });
    expect(io.out()).toContain('▶ release plan shop: staging v1.4.2 → production v1.4.2');
  });

  it('fails with exit 64 naming the stage when its stack does not exist, and starts nothing', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'DeployRunbook-shop-staging' }).rejects(new Error('Stack with id DeployRunbook-shop-staging does not exist'));
    const io = testIo({ cwd: planFile(PLAN), env: { AWS_REGION: 'eu-west-1' } });
    expect(await main(['release', '--plan', 'plan.json'], io)).toBe(64);
    expect(io.err()).toContain('--plan: stages[0].runbook.stack: cannot read stack DeployRunbook-shop-staging: Stack with id DeployRunbook-shop-staging does not exist; nothing was started (got "DeployRunbook-shop-staging")');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('fails with exit 64 naming the stage when its state machine does not exist, and starts nothing', async () => {
    sfn.on(DescribeStateMachineCommand, { stateMachineArn: ARN('DeployRunbook-shop-api') }).rejects(new StateMachineDoesNotExist({ message: 'gone', $metadata: {} }));
    const io = testIo({ cwd: planFile(PLAN), env: { AWS_REGION: 'eu-west-1' } });
    expect(await main(['release', '--plan', 'plan.json'], io)).toBe(64);
    expect(io.err()).toContain(`plan.stages[1].runbook: no state machine ${ARN('DeployRunbook-shop-api')} exists (DescribeStateMachine: StateMachineDoesNotExist)`);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it.each([
    ['a duplicate stage', { ...PLAN, stages: [PLAN.stages[0], { ...PLAN.stages[0], runbook: PLAN.stages[1].runbook }] }, "stages[1].name: duplicate stage: stages[0] is already called 'staging'"],
    ['a stage without a version', { ...PLAN, stages: [{ ...PLAN.stages[0], version: undefined }] }, 'stages[0].version: required'],
    ['a stage without the image its ECS target needs', { ...PLAN, stages: [{ ...PLAN.stages[1], image: undefined }] }, 'plan.stages[0].image: required for the ECS target of shop-api (got nothing)'],
    ['a rehearsal configuration as a runbook', { ...PLAN, stages: [{ ...PLAN.stages[0], runbook: { config: 'staging.json' } }] }, "stages[0].runbook: a configuration file is a rehearsal's runbook"],
  ])('fails with exit 64 for %s, naming the field, and starts nothing', async (_, plan, message) => {
    const io = testIo({ cwd: planFile(plan), env: { AWS_REGION: 'eu-west-1' } });
    expect(await main(['release', '--plan', 'plan.json'], io)).toBe(64);
    expect(io.err()).toContain(message);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});

const PLAN_EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:DeployRunbook-ReleasePlans:shop-1';
const child = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:DeployRunbook-shop-staging:${name}`;

/** The plan's own history as Step Functions writes it: each child Task scheduled with its Parameters, then submitted with the child's ARN. */
function planHistory(): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const add = (type: string, details: Partial<HistoryEvent> = {}) =>
    events.push({ id: events.length + 1, previousEventId: events.length, timestamp: new Date(STARTED_AT + events.length * 1000), type: type as HistoryEvent['type'], ...details });
  const childTask = (state: string, name: string, input: Record<string, unknown>, ended: 'TaskSucceeded' | 'TaskFailed') => {
    add('TaskStateEntered', { stateEnteredEventDetails: { name: state, input: '{}' } });
    add('TaskScheduled', { taskScheduledEventDetails: { resourceType: 'states', resource: 'startExecution.sync:2', region: 'eu-west-1', parameters: JSON.stringify({ StateMachineArn: ARN('DeployRunbook-shop-staging'), Name: name, Input: input }) } });
    add('TaskStarted', { taskStartedEventDetails: { resourceType: 'states', resource: 'startExecution.sync:2' } });
    add('TaskSubmitted', { taskSubmittedEventDetails: { resourceType: 'states', resource: 'startExecution.sync:2', output: JSON.stringify({ ExecutionArn: child(name), StartDate: STARTED_AT }) } });
    add(ended, ended === 'TaskSucceeded' ? { taskSucceededEventDetails: { resourceType: 'states', resource: 'startExecution.sync:2', output: '{}' } } : { taskFailedEventDetails: { resourceType: 'states', resource: 'startExecution.sync:2', error: 'States.TaskFailed', cause: '{}' } });
    add('TaskStateExited', { stateExitedEventDetails: { name: state, output: '{}' } });
  };
  const advance = (progress: unknown) => {
    add('TaskStateEntered', { stateEnteredEventDetails: { name: 'Advance', input: '{}' } });
    add('TaskStateExited', { stateExitedEventDetails: { name: 'Advance', output: JSON.stringify({ progress }) } });
  };
  add('ExecutionStarted', { executionStartedEventDetails: { input: '{}', roleArn: 'arn:aws:iam::123456789012:role/plan' } });
  childTask('RunStage', 'shop-s1-staging', { version: 'v1.4.2' }, 'TaskSucceeded');
  childTask('RollBackStage', 'shop-r1-staging', { action: 'rollback' }, 'TaskFailed');
  advance({ stages: [{ name: 'staging', version: 'v1.4.2', status: 'rolled-back' }, { name: 'production', version: 'v1.4.2', status: 'rolled-back' }] });
  add('FailStateEntered', { stateEnteredEventDetails: { name: 'RolledBack' } });
  add('ExecutionFailed', { executionFailedEventDetails: { error: 'RolledBack', cause: 'Release plan shop: production failed; rolled back staging, production.' } });
  return events;
}

describe('deploy-runbook release --plan --wait', () => {
  it('follows the plan and each child it starts with nested progress, and exits 2 when the plan rolled back', async () => {
    const histories: Record<string, HistoryEvent[]> = {
      [PLAN_EXECUTION]: planHistory(),
      [child('shop-s1-staging')]: sfnHistory([{ pass: 'LoadConfig' }, { task: 'ValidateInput' }, { task: 'Deploy' }, { succeed: 'DeploymentSucceeded' }]),
      [child('shop-r1-staging')]: sfnHistory([{ pass: 'LoadConfig' }, { task: 'ValidateInput' }, { task: 'RollbackApp' }, { fail: 'RolledBack', error: 'RolledBack', cause: 'rolled back' }]),
    };
    sfn.on(GetExecutionHistoryCommand).callsFake((input: GetExecutionHistoryCommandInput) => ({ events: [...(histories[input.executionArn ?? ''] ?? [])].reverse() }));
    const ended: Record<string, { status: string; error?: string; cause?: string }> = {
      [PLAN_EXECUTION]: { status: 'FAILED', error: 'RolledBack', cause: 'Release plan shop: production failed; rolled back staging, production.' },
      [child('shop-s1-staging')]: { status: 'SUCCEEDED' },
      [child('shop-r1-staging')]: { status: 'FAILED', error: 'RolledBack' },
    };
    sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => ({ executionArn: input.executionArn, startDate: new Date(STARTED_AT), stopDate: new Date(STARTED_AT + 60_000), ...ended[input.executionArn] }));
    const io = testIo({ cwd: planFile(PLAN), env: { AWS_REGION: 'eu-west-1' } });

    expect(await main(['release', '--plan', 'plan.json', '--wait'], io)).toBe(2);
    const out = io.out();
    expect(out).toMatch(/▶ stage staging: deploy v1\.4\.2 \(shop-s1-staging\)\n {4}✔ ValidateInput \S+\n {4}✔ Deploy \S+\n {2}stage staging: ✔ succeeded\n/);
    expect(out).toMatch(/↩ stage staging: rollback \(shop-r1-staging\)\n {4}✔ ValidateInput \S+\n {4}↩ rolling back\n {6}✔ RollbackApp \S+\n {2}stage staging: ✖ RolledBack\n/);
    expect(out).toContain('↩ release plan rolled back after 1m00s: Release plan shop: production failed; rolled back staging, production.');
    expect(out).toMatch(/ {2}production {3}v1\.4\.2 {2}rolled-back/);
  });
});
