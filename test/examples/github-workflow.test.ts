import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { EXECUTION_ARN, sfnHistory, STATE_MACHINE_ARN, serveHistory, testIo } from '../cli/fixtures';
import { REPO_ROOT } from './demo-app-process';

const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);
const workflow = readFileSync(resolve(REPO_ROOT, 'examples/github-actions/deploy.yml'), 'utf8');

/** The folded `run: >-` command of the deploy step, as the shell receives it. */
function deployCommand(): string {
  const block = /run: >-\n((?: {10}.*\n?)+)/.exec(workflow)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
}

describe('examples/github-actions/deploy.yml', () => {
  it('assumes the deploy role through OIDC, without stored keys', () => {
    expect(workflow).toMatch(/permissions:\n {2}id-token: write/);
    expect(workflow).toContain('uses: aws-actions/configure-aws-credentials@v4');
    expect(workflow).toContain('role-to-assume: ${{ vars.DEPLOY_ROLE_ARN }}');
    expect(workflow).not.toMatch(/aws-access-key-id|aws-secret-access-key/);
  });

  it('installs with npm ci, then starts the runbook for the commit and waits for it', () => {
    expect(workflow.indexOf('- run: npm ci')).toBeGreaterThan(0);
    expect(workflow.indexOf('- run: npm ci')).toBeLessThan(workflow.indexOf('npx deploy-runbook start'));
    expect(deployCommand()).toBe(
      'npx deploy-runbook start --version ${{ github.sha }} --image "$IMAGE" --reason "$REASON" --requested-by "$REQUESTED_BY" --stack "$RUNBOOK_STACK" --wait',
    );
    expect(workflow).toContain('cancel-in-progress: false');
  });

  it('uses only flags the CLI accepts: the command runs against a mocked AWS', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'DeployRunbook-shop-api', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0), Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE_ARN }] }] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN });
    serveHistory(sfn, sfnHistory([{ task: 'ValidateInput' }, { succeed: 'DeploymentSucceeded' }]));
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: EXECUTION_ARN, stateMachineArn: STATE_MACHINE_ARN, status: 'SUCCEEDED', startDate: new Date(0), stopDate: new Date(1000) });
    const sha = '0123456789abcdef0123456789abcdef01234567';
    const env: Record<string, string> = {
      IMAGE: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:${sha}`,
      REASON: 'push to main (run 42)',
      REQUESTED_BY: 'octocat',
      RUNBOOK_STACK: 'DeployRunbook-shop-api',
    };
    // What the shell does: expressions filled by Actions, then "$VAR" expanded as one word.
    const argv = deployCommand()
      .replace('${{ github.sha }}', sha)
      .match(/"[^"]*"|\S+/g)
      ?.slice(2)
      .map((word) => (word.startsWith('"') ? word.slice(1, -1).replace(/\$([A-Z_]+)/g, (_match, name: string) => env[name]) : word));

    const code = await main(argv ?? [], testIo());

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      input: JSON.stringify({ action: 'deploy', version: sha, image: env.IMAGE, requestedBy: 'octocat', reason: 'push to main (run 42)' }),
    });
  });
});
