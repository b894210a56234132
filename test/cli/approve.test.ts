import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { runUsageError, testIo } from './fixtures';

const sfn = mockClient(SFNClient);
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAW1zZWNyZXQtdGFzay10b2tlbg==';

beforeEach(() => sfn.reset());

describe('deploy-runbook approve', () => {
  it('sends SendTaskSuccess with the approval the RequestRestoreApproval state reads', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    const io = testIo({ env: { AWS_REGION: 'eu-west-1' } });

    const code = await main(['approve', '--token', TOKEN, '--by', 'alice', '--comment', 'data loss confirmed'], io);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: TOKEN,
      output: JSON.stringify({ approved: true, by: 'alice', comment: 'data loss confirmed' }),
    });
    expect(sfn).not.toHaveReceivedCommand(SendTaskFailureCommand);
    expect(io.regions).toEqual(['eu-west-1']);
    expect(io.out()).toBe('✔ restore approved by alice: the runbook restores the pre-deploy snapshot\n');
  });

  it('sends SendTaskFailure with RestoreRejected on --reject, defaulting the approver to the CI actor', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    const io = testIo({ env: { GITHUB_ACTOR: 'octocat', USER: 'runner' } });

    const code = await main(['approve', '--token', TOKEN, '--reject', '--region', 'us-east-2'], io);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: TOKEN, error: 'RestoreRejected', cause: 'rejected by octocat' });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(io.regions).toEqual(['us-east-2']);
  });

  it('fails with exit 1 without printing the token when Step Functions refuses it', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: `Task Timed Out: '${TOKEN}'`, $metadata: {} }));
    const io = testIo();

    const code = await main(['approve', '--token', TOKEN, '--by', 'alice'], io);

    expect(code).toBe(1);
    expect(io.err()).toBe("deploy-runbook: ApprovalError: Step Functions refused the answer (TaskTimedOut): Task Timed Out: '***'\n");
    expect(io.out() + io.err()).not.toContain(TOKEN);
  });

  it.each([
    [['approve'], "required option '--token <token>' not specified"],
    [['approve', '--token', ' '], '--token: must be the task token from the approval request, 1-2048 characters (got 0 characters)'],
    [['approve', '--token', TOKEN, '--by', 'x'.repeat(129)], '--by: must be 1-128 characters'],
  ])('fails with exit 64 before any AWS call when the usage is wrong: %j', async (argv, message) => {
    const io = await runUsageError(argv, [sfn]);

    expect(io.err()).toContain(message);
  });
});
