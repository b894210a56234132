import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeStateMachineCommand, SFNClient, StartExecutionCommand, StateMachineDoesNotExist } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { testIo } from './fixtures';

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
