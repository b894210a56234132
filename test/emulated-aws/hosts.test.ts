import { describe, expect, it } from 'vitest';
import { useEmulatedAws } from './emulated-aws';
import { grantedByRole, inspect, unusedGrants } from './inspect';

// An ssm-hosts target on the deployed stack (issue 12): the synthesized definition and the cdk.out bundles of
// Preflight and DeployTarget select EC2 instances by tag (DescribeInstances) and run the configured commands by
// SSM Run Command (SendCommand, ListCommands, GetCommandInvocation), every call signed as the function's own role and
// checked against its synthesized policy, SendCommand on each instance with that instance's tags. moto 5.2 runs no
// command: moto/launch.py runs the stack's `tier-host …` scripts against fake hosts whose version this file sets.
describe('an ssm-hosts target on emulated AWS (EC2 instances by SSM Run Command)', { timeout: 120_000 }, () => {
  // Deployed once: each scenario starts with every fake host back on v1, an emptied bucket, moto's logs empty.
  const aws = useEmulatedAws({ stack: 'hosts', control: { ssmHosts: { initialVersion: 'v1' } } });
  const deployV2 = { action: 'deploy', version: 'v2', requestedBy: 'ci' };

  /** Each tagged host's scripts, in the order SSM ran them, as `<script> → exit <code>`. */
  const scriptsOn = (host: string) =>
    aws.moto
      .hostRuns()
      .filter((run) => run.host === host)
      .map((run) => `${run.script} → exit ${run.exit}`);
  /** What each host runs now: the version after the last script SSM ran on it. */
  const versionOf = (host: string) => aws.moto.hostRuns().findLast((run) => run.host === host)?.version ?? null;

  it('deploys v2 host by host, each ready before the next: Succeeded, every tagged host on v2, the untagged one never reached', async () => {
    const [first, second, third] = aws.world.instances.tagged;

    const ended = await aws.run(deployV2);

    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
    for (const host of [first, second, third]) {
      expect(scriptsOn(host)).toEqual(['tier-host current → exit 0', 'tier-host deploy v2 → exit 0', 'tier-host ready v2 → exit 0']);
      expect(versionOf(host)).toBe('v2');
    }
    // One host per batch, each checked ready before the next batch starts.
    const order = aws.moto
      .hostRuns()
      .filter((run) => run.script !== 'tier-host current')
      .map((run) => `${run.script} ${aws.world.instances.tagged.indexOf(run.host) + 1}`);
    expect(order).toEqual(['tier-host deploy v2 1', 'tier-host ready v2 1', 'tier-host deploy v2 2', 'tier-host ready v2 2', 'tier-host deploy v2 3', 'tier-host ready v2 3']);
    expect(aws.moto.hostRuns().filter((run) => run.host === aws.world.instances.other)).toEqual([]);
    const look = inspect(aws);
    expect((await look.lock())?.state).toBe('released');
    expect((await look.ledger())?.current?.version).toBe('v2');
    expect(aws.reportedErrors()).toEqual([]);
  });

  it('rolls back when the second host fails its ready check: hosts 1 and 2 back on v1, host 3 never touched, RolledBack', async () => {
    const [first, second, third] = aws.world.instances.tagged;
    aws.setControl({ ssmHosts: { initialVersion: 'v1', failReady: { [second]: 'v2' } } });

    const ended = await aws.run(deployV2);

    expect([ended.status, ended.error]).toEqual(['FAILED', 'RolledBack']);
    expect(ended.states).toEqual(expect.arrayContaining(['Deploy', 'CheckDeployment', 'RollbackApp', 'CheckRollback', 'VerifyRollback', 'RecordRollback']));
    expect(ended.states).not.toContain('SmokeTest');
    // The cause names the failed host and its masked output, the host that succeeded and the one never touched.
    expect(ended.cause).toContain(`batch 2/3 (${second}): 1 host(s) failed, more than target.maxErrors (0): ${second} failed: ready check failed: Failed (exit 7): stderr: curl: (7) Failed to connect to 127.0.0.1 port 3000: Connection refused (DB_PASSWORD=***`);
    expect(ended.cause).toContain(`not touched: ${third}`);
    expect(JSON.stringify(ended.events)).not.toContain(`tier-secret-${second}`);
    expect(scriptsOn(first)).toEqual(['tier-host current → exit 0', 'tier-host deploy v2 → exit 0', 'tier-host ready v2 → exit 0', 'tier-host rollback v1 → exit 0', 'tier-host ready v1 → exit 0']);
    expect(scriptsOn(second)).toEqual(['tier-host current → exit 0', 'tier-host deploy v2 → exit 0', 'tier-host ready v2 → exit 7', 'tier-host rollback v1 → exit 0', 'tier-host ready v1 → exit 0']);
    expect(scriptsOn(third)).toEqual(['tier-host current → exit 0']);
    expect([versionOf(first), versionOf(second), versionOf(third)]).toEqual(['v1', 'v1', 'v1']);
    // The failed batch is rolled back first.
    const rollbacks = aws.moto.hostRuns().filter((run) => run.script === 'tier-host rollback v1');
    expect(rollbacks.map((run) => run.host)).toEqual([second, first]);
    expect((await inspect(aws).lock())?.state).toBe('released');
  });

  it('aborts before anything changes when the tags select no instance', async () => {
    // The fleet is gone: every tagged instance stopped (running ones only are selected).
    const { EC2Client, StopInstancesCommand } = await import('@aws-sdk/client-ec2');
    await new EC2Client(aws.operator.config).send(new StopInstancesCommand({ InstanceIds: [...aws.world.instances.tagged] }));

    const ended = await aws.run(deployV2);

    expect([ended.status, ended.error]).toEqual(['FAILED', 'DeploymentAborted']);
    expect(ended.cause).toContain('target: no host is selected (running instances tagged app=shop-api, env=prod): nothing to deploy to');
    expect(ended.states).not.toContain('Deploy');
    expect(aws.moto.hostRuns()).toEqual([]);
  });

  // Runs last: it reads what every scenario above was authorised to do.
  it('used every SSM and EC2 action the deploy and preflight roles are granted: the host grants are minimal', () => {
    expect(unusedGrants(aws, aws.tier.templates.hosts, (_role, action) => /^(ssm|ec2):/.test(action))).toEqual([]);
    expect([...(grantedByRole(aws.tier.templates.hosts).get('deploy-target') ?? [])].filter((a) => /^(ssm|ec2):/.test(a)).sort()).toEqual([
      'ec2:DescribeInstances',
      'ssm:GetCommandInvocation',
      'ssm:ListCommands',
      'ssm:SendCommand',
    ]);
  });
});
