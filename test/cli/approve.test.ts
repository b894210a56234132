import {
  DescribeExecutionCommand,
  DescribeStateMachineForExecutionCommand,
  ExecutionDoesNotExist,
  GetActivityTaskCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { loadDefinition, loadPlanDefinition } from '../../statemachines/definition';
import { EXECUTION_ARN, runUsageError, testIo } from './fixtures';

const sfn = mockClient(SFNClient);
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAW1zZWNyZXQtdGFzay10b2tlbg==';
const OTHER_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAW90aGVyLXRhc2stdG9rZW4tMg==';
const ACTIVITY_ARN = 'arn:aws:states:eu-west-1:123456789012:activity:RunbookRestoreApproval1A2B3C4D';
const OTHER_EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:deploy-runbook-shop-api:alarm-rollback-20250102T050000Z';

/** The definition the execution runs, as DescribeStateMachineForExecution returns it: the activity ARN filled in. */
const DEFINITION = JSON.stringify(loadDefinition()).replaceAll('${RestoreApprovalActivityArn}', ACTIVITY_ARN);

/** The input of the activity task AwaitRestoreApproval schedules for `execution`. */
function request(execution: string): string {
  return JSON.stringify({ kind: 'restore-approval', execution, target: 'shop-api', snapshot: 'deploy-runbook-8-shop-api-0123456789abcdef' });
}

/** The execution is running and waits on the activity; GetActivityTask answers with `tasks` in turn. */
function waiting(...tasks: { taskToken?: string; input?: string }[]): void {
  sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION_ARN }).resolves({ status: 'RUNNING' });
  sfn.on(DescribeStateMachineForExecutionCommand, { executionArn: EXECUTION_ARN }).resolves({ definition: DEFINITION });
  let getting = sfn.on(GetActivityTaskCommand);
  for (const task of tasks) getting = getting.resolvesOnce(task);
  getting.resolves({});
}

beforeEach(() => sfn.reset());

describe('deploy-runbook approve', () => {
  it('takes the request from the activity the execution waits on and approves it with SendTaskSuccess, the approver recorded', async () => {
    waiting({ taskToken: TOKEN, input: request(EXECUTION_ARN) });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const io = testIo({ env: { AWS_REGION: 'us-east-2' } });

    const code = await main(['approve', '--execution', EXECUTION_ARN, '--by', 'alice', '--comment', 'data loss confirmed'], io);

    expect(code).toBe(0);
    expect(sfn.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'DescribeExecutionCommand',
      'DescribeStateMachineForExecutionCommand',
      'GetActivityTaskCommand',
      'SendTaskSuccessCommand',
    ]);
    expect(sfn).toHaveReceivedCommandWith(GetActivityTaskCommand, { activityArn: ACTIVITY_ARN, workerName: 'deploy-runbook approve by alice' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: TOKEN,
      output: JSON.stringify({ approved: true, by: 'alice', comment: 'data loss confirmed' }),
    });
    // The execution's region, not the environment's.
    expect(io.regions).toEqual(['eu-west-1']);
    expect(io.out()).toBe('✔ restore approved by alice: execution v1.4.2-20250102T030405Z restores the pre-deploy snapshot\n');
    expect(io.out() + io.err()).not.toContain(TOKEN);
  });

  // Issue 12, item 4: the rollback approval waits on the same activity; both answers are SendTaskSuccess, so the
  // execution records who kept the release.
  it.each([
    [[], true, '✔ rollback approved by lead: execution v1.4.2-20250102T030405Z rolls shop-api back to v1.4.1\n'],
    [['--reject'], false, '✖ rollback rejected by lead: execution v1.4.2-20250102T030405Z keeps v1.4.2 on shop-api and ends ReleaseKept\n'],
  ])('answers a rollback approval %j with SendTaskSuccess {approved: %s}', async (flags, approved, said) => {
    const rollback = JSON.stringify({ kind: 'rollback-approval', execution: EXECUTION_ARN, target: 'shop-api', version: 'v1.4.2', rollbackTo: 'v1.4.1', reason: 'SmokeTestFailed' });
    waiting({ taskToken: TOKEN, input: rollback });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const io = testIo();

    expect(await main(['approve', '--execution', EXECUTION_ARN, ...flags, '--by', 'lead', '--comment', 'fix forward'], io)).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(GetActivityTaskCommand, { activityArn: ACTIVITY_ARN });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: TOKEN, output: JSON.stringify({ approved, by: 'lead', comment: 'fix forward' }) });
    expect(sfn).not.toHaveReceivedCommand(SendTaskFailureCommand);
    expect(io.out()).toBe(said);
    expect(io.out() + io.err()).not.toContain(TOKEN);
  });

  it("answers a release plan's approval gate the same way, on the plan's activity", async () => {
    const plan = 'arn:aws:states:eu-west-1:123456789012:execution:DeployRunbook-ReleasePlans:shop-20250102T030405Z';
    const planActivity = 'arn:aws:states:eu-west-1:123456789012:activity:PlansPlanApproval5E6F';
    sfn.on(DescribeExecutionCommand, { executionArn: plan }).resolves({ status: 'RUNNING' });
    sfn.on(DescribeStateMachineForExecutionCommand, { executionArn: plan }).resolves({ definition: JSON.stringify(loadPlanDefinition()).replaceAll('${PlanApprovalActivityArn}', planActivity) });
    sfn.on(GetActivityTaskCommand).resolvesOnce({ taskToken: TOKEN, input: JSON.stringify({ kind: 'plan-approval', execution: plan, plan: 'shop', stage: 'staging', gate: { timeoutSeconds: 1800 } }) });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const io = testIo();

    expect(await main(['approve', '--execution', plan, '--by', 'ana', '--comment', 'staging looks fine'], io)).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(GetActivityTaskCommand, { activityArn: planActivity });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: TOKEN, output: JSON.stringify({ approved: true, by: 'ana', comment: 'staging looks fine' }) });
    expect(io.out()).toBe('✔ release plan shop approved by ana: execution shop-20250102T030405Z goes on after stage staging\n');
  });

  it('rejects with SendTaskFailure RestoreRejected on --reject, defaulting the approver to the CI actor', async () => {
    waiting({ taskToken: TOKEN, input: request(EXECUTION_ARN) });
    sfn.on(SendTaskFailureCommand).resolves({});
    const io = testIo({ env: { GITHUB_ACTOR: 'octocat', USER: 'runner' } });

    const code = await main(['approve', '--execution', EXECUTION_ARN, '--reject', '--region', 'us-east-2'], io);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(GetActivityTaskCommand, { activityArn: ACTIVITY_ARN, workerName: 'deploy-runbook approve by octocat' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: TOKEN, error: 'RestoreRejected', cause: 'rejected by octocat' });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(io.regions).toEqual(['us-east-2']);
  });

  it('never answers another execution\'s request: it is handed back as not decided (ApprovalMisdirected), and nothing is sent for the one asked about', async () => {
    waiting({ taskToken: OTHER_TOKEN, input: request(OTHER_EXECUTION) });
    sfn.on(SendTaskFailureCommand).resolves({});
    const io = testIo();

    const code = await main(['approve', '--execution', EXECUTION_ARN, '--by', 'alice'], io);

    expect(code).toBe(1);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, {
      taskToken: OTHER_TOKEN,
      error: 'ApprovalMisdirected',
      cause: `taken by deploy-runbook approve --execution ${EXECUTION_ARN} (by alice), which was asked about another execution: nobody decided on this request, so it goes on as after a timeout`,
    });
    expect(io.err()).toContain(`the pending approval request was for execution ${OTHER_EXECUTION}, not v1.4.2-20250102T030405Z: nothing was answered for v1.4.2-20250102T030405Z`);
    expect(io.out() + io.err()).not.toContain(OTHER_TOKEN);
  });

  it('skips a request left behind by an execution that ended while it waited, and answers the one asked about', async () => {
    waiting({ taskToken: OTHER_TOKEN, input: request(OTHER_EXECUTION) }, { taskToken: TOKEN, input: request(EXECUTION_ARN) });
    sfn.on(SendTaskFailureCommand, { taskToken: OTHER_TOKEN }).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    sfn.on(SendTaskSuccessCommand).resolves({});
    const io = testIo();

    const code = await main(['approve', '--execution', EXECUTION_ARN, '--by', 'alice'], io);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandTimes(GetActivityTaskCommand, 2);
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: TOKEN, output: JSON.stringify({ approved: true, by: 'alice', comment: null }) });
  });

  it('answers nothing when no request is pending after its polls', async () => {
    waiting();
    const io = testIo();

    const code = await main(['approve', '--execution', EXECUTION_ARN, '--by', 'alice'], io);

    expect(code).toBe(1);
    expect(sfn).toHaveReceivedCommandTimes(GetActivityTaskCommand, 3);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(sfn).not.toHaveReceivedCommand(SendTaskFailureCommand);
    expect(io.err()).toContain(`no approval request of execution v1.4.2-20250102T030405Z is pending on ${ACTIVITY_ARN}`);
  });

  it('takes no request for an execution that is not running', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED' });
    const io = testIo();

    expect(await main(['approve', '--execution', EXECUTION_ARN], io)).toBe(1);
    expect(sfn).not.toHaveReceivedCommand(GetActivityTaskCommand);
    expect(io.err()).toContain('execution v1.4.2-20250102T030405Z is SUCCEEDED: it waits for no approval; nothing was answered');
  });

  it('takes no request when the execution cannot be read or runs a definition without the approval activity', async () => {
    sfn.on(DescribeExecutionCommand).rejectsOnce(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} })).resolves({ status: 'RUNNING' });
    sfn.on(DescribeStateMachineForExecutionCommand).resolves({ definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }) });

    const missing = testIo();
    expect(await main(['approve', '--execution', EXECUTION_ARN], missing)).toBe(1);
    expect(missing.err()).toContain('cannot read execution v1.4.2-20250102T030405Z (ExecutionDoesNotExist)');
    const other = testIo();
    expect(await main(['approve', '--execution', EXECUTION_ARN], other)).toBe(1);
    expect(other.err()).toContain('runs a definition with no approval activity');
    expect(sfn).not.toHaveReceivedCommand(GetActivityTaskCommand);
  });

  it('fails with exit 1 without printing the token when Step Functions refuses the answer', async () => {
    waiting({ taskToken: TOKEN, input: request(EXECUTION_ARN) });
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: `Task Timed Out: '${TOKEN}'`, $metadata: {} }));
    const io = testIo();

    const code = await main(['approve', '--execution', EXECUTION_ARN, '--by', 'alice'], io);

    expect(code).toBe(1);
    expect(io.err()).toBe("deploy-runbook: ApprovalError: Step Functions refused the answer (TaskTimedOut): Task Timed Out: '***'\n");
    expect(io.out() + io.err()).not.toContain(TOKEN);
  });

  it.each([
    [['approve'], "required option '--execution <arn>' not specified"],
    // The token is no longer handed to people: the command names the execution instead.
    [['approve', '--token', TOKEN], "required option '--execution <arn>' not specified"],
    [['approve', '--execution', 'v1.4.2'], '--execution: must be the execution ARN from the approval request'],
    [['approve', '--execution', EXECUTION_ARN, '--by', 'x'.repeat(129)], '--by: must be 1-128 characters'],
  ])('fails with exit 64 before any AWS call when the usage is wrong: %j', async (argv, message) => {
    const io = await runUsageError(argv, [sfn]);

    expect(io.err()).toContain(message);
  });
});
