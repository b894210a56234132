import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeSha256 } from '../../adapters/prometheus-query';
import { parseConfig } from '../../config/load';
import { scheduledDrillInput } from '../../lib/drill-schedule';
import type { PostgresServer } from '../../local/postgres/server';
import { databaseNames } from '../local/postgres/fixtures';
import { runCli } from './cli';
import { clientConfig } from './deployed-stack';
import type { EmulatedAws } from './emulated-aws';
import { deployPostgresStack, type PostgresStack } from './postgres-stack';
import { REGION, stackName, TIER_STACKS } from './stacks';

/** What GetSchedule answers (the fields the tier reads). */
interface DeployedSchedule {
  readonly Name: string;
  readonly ScheduleExpression: string;
  readonly ScheduleExpressionTimezone: string;
  readonly FlexibleTimeWindow: { readonly Mode: string };
  readonly State: string;
  readonly Target: { readonly Arn: string; readonly RoleArn: string; readonly Input: string; readonly RetryPolicy: object; readonly DeadLetterConfig: { readonly Arn: string } };
}

/*
 * The restore drill's schedule on emulated AWS (the `postgres` stack of stacks.ts, backup.drillSchedule set): the
 * synthesized AWS::Scheduler::Schedule is created by moto's CloudFormation (bridged in moto/launch.py: moto 5.2 has the
 * scheduler API but no CloudFormation model for it) and read back with GetSchedule. moto runs no schedule, so the
 * test starts the execution the schedule would start: its target's state machine and input, signed with credentials
 * of the schedule's own role (moto checks the call against that role's synthesized policy). Then `deploy-runbook
 * drill` (no --local) starts and follows a drill as an operator would.
 *
 * Each drill here passes (the backup task restores the copy, restore-drill.test.ts proves the drill itself, a failed
 * one's drill-failed notification included); what this file proves is the schedule, its role, the input and the CLI's
 * exit code.
 */
describe('the restore drill schedule on emulated AWS: deployed, read back, its execution started as its role', { timeout: 240_000 }, () => {
  const DATABASE = 'shop';
  let aws: EmulatedAws;
  let server: PostgresServer;
  let schedule: DeployedSchedule;
  let stack: PostgresStack;

  /** GetSchedule as the operator, signed by hand: the project has no Scheduler client (REST: GET /schedules/<name>). */
  async function getSchedule(name: string): Promise<DeployedSchedule> {
    const url = new URL(`/schedules/${encodeURIComponent(name)}`, aws.moto.endpoint);
    const signer = new SignatureV4({ service: 'scheduler', region: REGION, credentials: aws.stack.admin, sha256: NodeSha256 });
    const signed = await signer.sign({ method: 'GET', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: url.pathname, headers: { host: url.host } });
    const response = await fetch(url, { headers: signed.headers as Record<string, string> });
    if (!response.ok) throw new Error(`GetSchedule ${name}: ${response.status} ${await response.text()}`);
    return (await response.json()) as DeployedSchedule;
  }

  beforeAll(async () => {
    stack = await deployPostgresStack(DATABASE);
    ({ aws, server } = stack);
    const resources = await new CloudFormationClient(aws.operator.config).send(new ListStackResourcesCommand({ StackName: aws.stack.stackName }));
    const scheduled = (resources.StackResourceSummaries ?? []).filter((r) => r.ResourceType === 'AWS::Scheduler::Schedule');
    expect(scheduled).toHaveLength(1);
    schedule = await getSchedule(scheduled[0].PhysicalResourceId ?? '');
  }, 600_000);

  afterAll(() => stack?.stop());

  afterEach(() => {
    // Every call of the schedule's role, the functions, the state machine and the backup task was allowed by its
    // policy; the database password is in no function's log.
    expect(aws.denied()).toEqual([]);
    expect(aws.host.logsContaining(stack.password)).toEqual([]);
  });

  it('is deployed as configured: the cron expression in its time zone, no flexible window, the runbook and the drill input as target', () => {
    const config = parseConfig(TIER_STACKS.postgres);
    expect(schedule).toMatchObject({
      ScheduleExpression: config.backup.drillSchedule,
      ScheduleExpressionTimezone: config.backup.drillScheduleTimezone,
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: { Arn: aws.stack.stateMachineArn, RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 } },
    });
    expect(JSON.parse(schedule.Target.Input)).toEqual(scheduledDrillInput(config.backup));
    expect(schedule.Target.RoleArn).toMatch(/^arn:aws:iam::123456789012:role\/DeployRunbook-tier-postgres-/);
  });

  it("starts the drill as the schedule's role, which may do just that; the drill proves the backup restorable", async () => {
    const sts = new STSClient(aws.operator.config);
    const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: schedule.Target.RoleArn, RoleSessionName: 'scheduler' }));
    const credentials = { accessKeyId: assumed.Credentials?.AccessKeyId ?? '', secretAccessKey: assumed.Credentials?.SecretAccessKey ?? '', sessionToken: assumed.Credentials?.SessionToken ?? '' };
    const asSchedule = new SFNClient(clientConfig(aws.moto.endpoint, credentials));

    const started = await asSchedule.send(new StartExecutionCommand({ stateMachineArn: schedule.Target.Arn, input: schedule.Target.Input }));
    const ended = await aws.waitFor(started.executionArn ?? '');

    const byRole = aws.moto.authorizations().filter((a) => a.principal === assumed.AssumedRoleUser?.Arn);
    expect(byRole.map((a) => [a.action, a.resource, a.allowed])).toEqual([['states:StartExecution', aws.stack.stateMachineArn, true]]);
    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DrillSucceeded']);
    expect(ended.states).toEqual(expect.arrayContaining(['ValidateInput', 'AcquireLock', 'FingerprintData', 'TakeSnapshot', 'RecordBackup', 'AdvanceDrill', 'VerifyDrillCopy', 'DiscardDrillCopy', 'RecordDrill']));
    expect(ended.states).not.toContain('Deploy');
    const ledger = await aws.artifact<{ drills?: { action: string; passed: boolean }[] }>('ledger/shop.json');
    expect(ledger?.drills?.[0]).toMatchObject({ action: 'drill', passed: true });
    expect((await aws.world.notifications()).filter((n) => n.subject?.includes('restore drill FAILED'))).toEqual([]);
    expect((await databaseNames(server)).filter((name) => name.includes('_drill_'))).toEqual([]);
  });

  it('deploy-runbook drill (no --local) starts a drill on the stack and follows it: exit 0 once the backup is proven restorable, one JSON object', async () => {
    const { code, stdout, stderr } = await runCli(aws, 'drill', '--stack', stackName('postgres'), '--wait', '--json', '--requested-by', 'dba');

    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { outcome: string; executionArn: string; states: { name: string }[] };
    expect(result.outcome).toBe('succeeded');
    expect(result.executionArn).toMatch(/:execution:[^:]+:drill-\d{8}T\d{6}Z$/);
    expect(result.states.map((s) => s.name)).toEqual(expect.arrayContaining(['AdvanceDrill', 'VerifyDrillCopy', 'DiscardDrillCopy']));
    expect(stderr).toContain('▶ restore drill (execution drill-');
  });
});
