import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { EXECUTION_ARN, runUsageError, type ScriptItem, scriptedExecution, STATE_MACHINE_ARN, STARTED_AT, testIo } from './fixtures';

const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);
const SNAPSHOT = 'deploy-runbook-8-shop-api-drill-20250102t030405z-1a2b3c4d';
const REPORT = 'reports/shop-api/drill-20250102t030405z-1a2b3c4d.json';
const DRILL_CAUSE = "RestoreDrillFailed: orders: 8000 → 7990 rows; 'orders kept' returned \"7990\", expected at least 8000";

const backedUp: ScriptItem[] = [
  { pass: 'LoadConfig' },
  { task: 'ValidateInput', output: { deployment: { action: 'drill' } } },
  { choice: 'RouteRequest' },
  { task: 'AcquireLock' },
  { choice: 'RouteAction' },
  { task: 'Preflight' },
  { pass: 'RememberRunningVersion' },
  { choice: 'DatabaseConfigured' },
  { task: 'PreflightDataChecks' },
  { choice: 'PreflightChecksPassed' },
  { task: 'FingerprintData' },
  { task: 'TakeSnapshot', output: { snapshot: { id: SNAPSHOT, status: 'creating' } } },
  { pass: 'StartSnapshotPoll' },
  { task: 'CheckSnapshot', output: { snapshot: { id: SNAPSHOT, status: 'available' } } },
  { pass: 'CountSnapshotPoll' },
  { choice: 'SnapshotReady' },
  { task: 'RecordBackup' },
  { choice: 'TestRestoreWanted' },
  { pass: 'StartDrillPoll' },
  { task: 'AdvanceDrill' },
  { pass: 'CountDrillPoll' },
  { choice: 'DrillRestored' },
  { wait: 'WaitForDrill', ms: 30_000 },
  { task: 'AdvanceDrill' },
  { pass: 'CountDrillPoll' },
  { choice: 'DrillRestored' },
  { task: 'VerifyDrillCopy' },
  { task: 'DiscardDrillCopy' },
];

const passed: ScriptItem[] = [
  ...backedUp,
  { task: 'RecordDrill', output: { outcome: { result: 'drill-passed', reportKey: REPORT } } },
  { choice: 'DrillVerdict' },
  { task: 'ReleaseLockAfterDrill' },
  { succeed: 'DrillSucceeded' },
];

const failed: ScriptItem[] = [
  ...backedUp,
  { task: 'RecordDrill' },
  { choice: 'DrillVerdict' },
  { pass: 'DrillFailed' },
  { task: 'RecordAbort', output: { outcome: { result: 'aborted', reportKey: REPORT } } },
  { task: 'ReleaseLockAfterAbort' },
  { task: 'NotifyDrillFailed' },
  { fail: 'DeploymentAborted', error: 'DeploymentAborted', cause: DRILL_CAUSE },
];

const scriptExecution = (script: ScriptItem[], described: { status: string; error?: string; cause?: string }) =>
  scriptedExecution(sfn, script, described, { input: { action: 'drill' }, history: { pageSize: 10, revealPerPoll: 20 } });

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
});

describe('deploy-runbook drill on AWS (without --local)', () => {
  it('starts a drill execution of the stack\'s state machine, named drill-<time>, with the input the schedule sends', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'DeployRunbook-shop-api', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0), Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE_ARN }] }],
    });
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(STARTED_AT) });
    const io = testIo({ env: { AWS_REGION: 'eu-west-1', GITHUB_ACTOR: 'octocat' } });

    const code = await main(['drill', '--stack', 'DeployRunbook-shop-api', '--reason', 'quarterly audit'], io);

    expect(code).toBe(0);
    expect(cloudFormation).toHaveReceivedCommandExactlyOnceWith(DescribeStacksCommand, { StackName: 'DeployRunbook-shop-api' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'drill-20250102T030405Z',
      input: JSON.stringify({ action: 'drill', requestedBy: 'octocat', reason: 'quarterly audit' }),
    });
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
    expect(io.out()).toBe(`▶ restore drill started\n  execution: ${EXECUTION_ARN}\n`);
  });

  it('follows a passing drill with --wait, one line per step, and exits 0', async () => {
    scriptExecution(passed, { status: 'SUCCEEDED' });
    const io = testIo({ env: { USER: 'ops' } });

    const code = await main(['drill', '--state-machine-arn', STATE_MACHINE_ARN, '--wait'], io);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: 'drill-20250102T030405Z', input: JSON.stringify({ action: 'drill', requestedBy: 'ops' }) });
    const lines = io.out().split('\n');
    expect(lines[0]).toBe('▶ restore drill (execution drill-20250102T030405Z)');
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^✔ AdvanceDrill ×2 /), expect.stringMatching(/^✔ VerifyDrillCopy /), expect.stringMatching(/^✔ DiscardDrillCopy /)]));
    expect(lines.some((line) => line.startsWith('✔ restore drill succeeded in '))).toBe(true);
    expect(lines).toContain(`  report:    ${REPORT}`);
  });

  it('exits 1 with the cause naming the table and the check when the drill fails, one JSON object with --json', async () => {
    scriptExecution(failed, { status: 'FAILED', error: 'DeploymentAborted', cause: DRILL_CAUSE });
    const io = testIo();

    const code = await main(['drill', '--state-machine-arn', STATE_MACHINE_ARN, '--wait', '--json'], io);

    expect(code).toBe(1);
    const stdout = io.out().trim().split('\n');
    expect(stdout).toHaveLength(1);
    expect(JSON.parse(stdout[0])).toMatchObject({ outcome: 'failed', error: 'DeploymentAborted', cause: DRILL_CAUSE, executionArn: EXECUTION_ARN });
    expect(io.err()).toContain('▶ restore drill (execution drill-20250102T030405Z)');
  });

  it.each([
    [['drill', '--state-machine-arn', 'arn:aws:states:eu-west-1:123456789012:execution:x:y'], '--state-machine-arn: must be a state machine ARN'],
    [['drill', '--state-machine-arn', STATE_MACHINE_ARN, '--reason', ''], '--reason: '],
    [['drill', '--state-machine-arn', STATE_MACHINE_ARN, '--workdir', '/tmp/x'], '--workdir: the store of a drill on AWS is the stack\'s bucket'],
    [['drill', '--local', '--stack', 'DeployRunbook-shop-api'], '--stack: a drill with --local runs on this machine'],
    [['drill', '--local', '--wait'], '--wait: a drill with --local runs on this machine'],
    [['drill'], 'no state machine given: pass --state-machine-arn <arn>, --stack <name> or --config <file>'],
  ])('fails with exit 64 before any AWS call: %j', async (argv, message) => {
    const io = await runUsageError(argv, [sfn, cloudFormation]);
    expect(io.err()).toContain(message);
  });
});
