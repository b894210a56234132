import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListExecutionsCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/runbook-function';
import type { DeployedStack } from './deployed-stack';
import { EmulatedAws } from './emulated-aws';
import { grantedByRole, roleOfPrincipal, usedByRole, writtenByTheRuntime } from './inspect';
import { PLAN_STACK, stackName } from './stacks';

const CLI = join(PROJECT_ROOT, 'bin', 'deploy-runbook.js');

// Release plans on the deployed stacks (issue 13): the plan stack (lib/release-plan-stack.ts) and the two ssm-hosts
// runbooks it may start — staging (the instance tagged env=staging) and production (the three tagged env=prod) —
// deployed as one app into moto. `deploy-runbook release --plan --wait --json` and `approve` run as the operator's
// CLI; the plan's definition runs in moto's interpreter, each stage as a child execution of its runbook through
// `arn:aws:states:::states:startExecution.sync:2`, whose StartExecution and DescribeExecution moto checks against the
// plan role's synthesized policy. moto 5.2.1's interpreter runs that integration itself; moto/launch.py bridges two
// things only: the integration signs as the plan's state machine role (moto used a made-up key), each execution's
// calls as its own state machine's role; and its result takes AWS's member names (`ExecutionArn`, `Status`,
// `Output`, `Error`, `Cause`, dates in epoch milliseconds) where moto passed boto3's (`executionArn`, `status`…).
describe('release plans on emulated AWS: two runbooks as child executions of the plan', { timeout: 300_000 }, () => {
  let aws: EmulatedAws;
  let stacks: { staging: DeployedStack; production: DeployedStack; plans: DeployedStack };
  let dir: string;

  /** What each host runs now: the version after the last script SSM ran on it (the initial one if none ran). */
  const versionOf = (host: string) => aws.moto.hostRuns().findLast((run) => run.host === host)?.version ?? 'v1';
  const versions = () => ({
    staging: versionOf(aws.world.instances.other ?? ''),
    production: aws.world.instances.tagged.map(versionOf),
  });

  /** A plan file: staging then production at `version`, the gates after staging. */
  function planFile(version: string, gates: unknown[], stack = stackName('staging')): string {
    const path = join(dir, `plan-${version}-${Math.random().toString(16).slice(2)}.json`);
    const plan = {
      name: 'shop',
      stages: [
        { name: 'staging', runbook: { stack }, version, gates },
        { name: 'production', runbook: { stack: stackName('hosts') }, version },
      ],
    };
    writeFileSync(path, JSON.stringify(plan));
    return path;
  }

  function cli(args: string[]): { child: ChildProcess; done: Promise<{ code: number; stdout: string; stderr: string }> } {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, USER: 'release-manager', ...aws.cliEnv } });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
    return { child, done };
  }

  const release = (plan: string) => cli(['release', '--plan', plan, '--wait', '--json', '--stack', stackName(PLAN_STACK)]);

  const executionsOf = async (stateMachineArn: string) =>
    ((await aws.operator.sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? []).map((e) => ({ arn: e.executionArn ?? '', name: e.name ?? '', status: e.status ?? '' }));

  /** The plan execution `release` started: the newest one not in `known`. */
  async function planExecution(known: readonly string[]): Promise<string> {
    for (let attempt = 0; attempt < 300; attempt += 1) {
      const started = (await executionsOf(stacks.plans.stateMachineArn)).find((e) => !known.includes(e.arn));
      if (started) return started.arn;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('release started no plan execution');
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tier-plan-'));
    // A hundredth, not the tier's thousandth: a child's 24 h execution timeout becomes 14.4 min, not 86.4 s, which a
    // stage's real Lambda work (cold starts included) can exceed on a loaded machine while its parent waits.
    aws = await EmulatedAws.start({}, 0.01);
    stacks = await aws.deployPlans({ ssmHosts: { initialVersion: 'v1' } });
    // The tier's one synthesis (every stack of stacks.ts) may fall to this file: minutes on a shared 2-vCPU machine.
  }, 600_000);

  afterAll(async () => {
    await aws?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    // Every call — the plan's StartExecution/DescribeExecution included — was allowed by its role's synthesized policy.
    expect(aws.denied()).toEqual([]);
    expect(aws.host.logsContaining(aws.app.password)).toEqual([]);
  });

  it('takes staging then production to v2 through their runbooks, a soak and an approval answered by deploy-runbook approve between them: exit 0', async () => {
    const run = release(planFile('v2', [{ kind: 'soak', minutes: 0.01 }, { kind: 'approval', timeoutMinutes: 60 }]));
    const execution = await planExecution([]);
    // The plan waits on its approval activity after staging's soak, before production starts.
    const waiting = await aws.waitFor(execution, (states) => states.includes('AwaitApproval'), 180_000);
    expect(waiting.states.filter((s) => ['RunStage', 'Soak', 'AwaitApproval'].includes(s)), `${waiting.error}: ${waiting.cause}\n${lastTaskFailure(waiting.events)}`).toEqual([
      'RunStage',
      'Soak',
      'AwaitApproval',
    ]);
    expect(versions()).toEqual({ staging: 'v2', production: ['v1', 'v1', 'v1'] });
    const approved = await cli(['approve', '--execution', execution, '--by', 'lead', '--comment', 'staging looks right']).done;
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout + approved.stderr).toContain('release plan shop approved by lead');

    const { code, stdout, stderr } = await run.done;
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as { outcome: string; executionArn: string; stages: { name: string; version: string; status: string; gates: { kind: string; passed: boolean; detail: string }[] }[] };
    expect(summary.outcome).toBe('succeeded');
    expect(summary.executionArn).toBe(execution);
    expect(summary.stages.map((s) => [s.name, s.version, s.status])).toEqual([
      ['staging', 'v2', 'succeeded'],
      ['production', 'v2', 'succeeded'],
    ]);
    expect(summary.stages[0].gates).toEqual([
      { kind: 'soak', passed: true, detail: 'soaked 1 s' },
      { kind: 'approval', passed: true, detail: 'approved by lead: staging looks right' },
    ]);
    // Nested progress on stderr: each child under its stage's header.
    expect(stderr).toMatch(/▶ stage staging: deploy v2[\s\S]*stage staging: ✔ succeeded\n⏸ soak [^\n]+\n⏸ waiting for approval [^\n]+\n▶ stage production: deploy v2[\s\S]*stage production: ✔ succeeded/);
    expect(versions()).toEqual({ staging: 'v2', production: ['v2', 'v2', 'v2'] });

    // Each stage ran as an execution of its own runbook, named after the plan's release, started by the plan's role.
    const [staged] = await executionsOf(stacks.staging.stateMachineArn);
    const [produced] = await executionsOf(stacks.production.stateMachineArn);
    expect([staged.name, staged.status]).toEqual([expect.stringMatching(/-s1-staging$/), 'SUCCEEDED']);
    expect([produced.name, produced.status]).toEqual([expect.stringMatching(/-s2-production$/), 'SUCCEEDED']);
    const starts = aws.moto.authorizations().filter((r) => r.action === 'states:StartExecution' && r.allowed);
    expect(starts.map((r) => [roleOfPrincipal(r.principal), r.resource])).toEqual(
      expect.arrayContaining([
        [expect.stringContaining('PlansRole'), stacks.staging.stateMachineArn],
        [expect.stringContaining('PlansRole'), stacks.production.stateMachineArn],
      ]),
    );
    // The plan's evidence report in its own bucket links each stage's report in that runbook's bucket.
    const report = await aws.artifact<{ outcome: string; stages: { name: string; deployment: { report: string | null } }[] }>(
      `reports/plans/shop/${await releaseIdOf(execution)}.json`,
    );
    expect(report?.outcome).toBe('succeeded');
    expect(report?.stages.map((s) => s.deployment.report)).toEqual([
      expect.stringMatching(new RegExp(`^s3://${stacks.staging.bucketName}/reports/shop-staging/.+\\.md$`)),
      expect.stringMatching(new RegExp(`^s3://${stacks.production.bucketName}/reports/shop/.+\\.md$`)),
    ]);
    expect((await aws.artifact<{ state: string }>('locks/shop.json'))?.state).toBe('released');
  });

  it('rolls staging back too when production fails: RolledBack, exit 2, both on their previous version (v2)', async () => {
    const [, second] = aws.world.instances.tagged;
    aws.setControl({ ssmHosts: { initialVersion: 'v1', failReady: { [second]: 'v3' } } });
    const known = (await executionsOf(stacks.plans.stateMachineArn)).map((e) => e.arn);

    const { code, stdout, stderr } = await release(planFile('v3', [{ kind: 'soak', minutes: 0.01 }])).done;

    expect(code, stdout + stderr).toBe(2);
    const summary = JSON.parse(stdout) as { outcome: string; error: string; cause: string; stages: { name: string; status: string }[] };
    expect([summary.outcome, summary.error]).toEqual(['rolled-back', 'RolledBack']);
    expect(summary.cause).toContain('production failed (RolledBack');
    expect(summary.cause).toContain('rolled back staging, production');
    expect(summary.stages.map((s) => [s.name, s.status])).toEqual([
      ['staging', 'rolled-back'],
      ['production', 'rolled-back'],
    ]);
    const stagingRuns = aws.moto.hostRuns().filter((run) => run.host === aws.world.instances.other).map((run) => `${run.script} → ${run.exit} (${run.comment})`);
    const rolledBack = (await executionsOf(stacks.staging.stateMachineArn)).find((e) => e.name.endsWith('-r1-staging'));
    const rollbackStates = rolledBack ? (await aws.waitFor(rolledBack.arn)).states : [];
    expect(versions(), `${stagingRuns.join('\n')}\n${rollbackStates.join(' → ')}`).toEqual({ staging: 'v2', production: ['v2', 'v2', 'v2'] });
    const execution = await planExecution(known);
    const ended = await aws.waitFor(execution);
    expect(ended.states.filter((s) => ['RunStage', 'Soak', 'RollBackStage'].includes(s))).toEqual(['RunStage', 'Soak', 'RunStage', 'RollBackStage']);
    // Staging's rollback is its runbook's own rollback execution, started with the plan's input: only v3 undone.
    const rollback = (await executionsOf(stacks.staging.stateMachineArn)).find((e) => e.name.endsWith('-r1-staging'));
    expect(rollback?.status).toBe('FAILED');
    const described = await aws.waitFor(rollback?.arn ?? '');
    expect(described.error).toBe('RolledBack');
    expect(described.cause).toContain('Release plan shop rolled back stage staging');
    expect((await aws.artifact<{ state: string }>('locks/shop.json'))?.state).toBe('released');
  });

  it('refuses a plan naming a stack that does not exist before anything starts: exit 64, no execution', async () => {
    const before = await Promise.all([stacks.plans, stacks.staging, stacks.production].map((s) => executionsOf(s.stateMachineArn)));
    const hostRuns = aws.moto.hostRuns().length;

    const { code, stderr } = await release(planFile('v4', [], 'DeployRunbook-tier-nowhere')).done;

    expect(code).toBe(64);
    expect(stderr).toContain('stages[0].runbook.stack');
    expect(stderr).toContain('DeployRunbook-tier-nowhere');
    expect(await Promise.all([stacks.plans, stacks.staging, stacks.production].map((s) => executionsOf(s.stateMachineArn)))).toEqual(before);
    expect(aws.moto.hostRuns()).toHaveLength(hostRuns);
  });

  it("refuses, in the plan's own state machine, a runbook the plan stack was not given: InvalidInput naming the field, no child, no lock", async () => {
    await aws.operator.s3.send(new (await import('@aws-sdk/client-s3')).DeleteObjectCommand({ Bucket: stacks.plans.bucketName, Key: 'locks/shop.json' }));
    const foreign = stacks.plans.stateMachineArn.replace(/stateMachine:.+$/, 'stateMachine:someone-elses');
    const plan = { name: 'shop', stages: [{ name: 'staging', runbook: { stateMachineArn: foreign }, version: 'v4' }] };
    const before = await executionsOf(stacks.staging.stateMachineArn);
    const started = await aws.operator.sfn.send(new StartExecutionCommand({ stateMachineArn: stacks.plans.stateMachineArn, name: 'started-by-hand', input: JSON.stringify({ plan }) }));

    const ended = await aws.waitFor(started.executionArn ?? '');

    expect([ended.status, ended.error], `${ended.cause}`).toEqual(['FAILED', 'InvalidInput']);
    expect(ended.cause).toContain(`plan.stages[0].runbook: ${foreign} is not one of the runbooks this plan stack may start`);
    expect(ended.states).toEqual(['LoadPlan', 'ValidatePlan', 'InvalidInput']);
    expect(await executionsOf(stacks.staging.stateMachineArn)).toEqual(before);
    expect(await aws.artifact('locks/shop.json')).toBeNull();
  });

  // Runs last: it reads what every scenario above was authorised to do.
  it('used every action the plan stack grants, besides the managed rule startExecution.sync subscribes to on AWS', () => {
    const used = usedByRole(aws);
    const unused: string[] = [];
    for (const [role, actions] of grantedByRole(aws.tier.templates[PLAN_STACK])) {
      for (const action of actions) {
        if (writtenByTheRuntime(action)) continue;
        // The plan's roles by their logical id, which the assumed role's name contains.
        if (![...used.keys()].some((principal) => principal.includes(role) && used.get(principal)?.has(action))) unused.push(action);
      }
    }
    expect(unused.sort(), JSON.stringify([...used.entries()].map(([principal, actions]) => [principal, [...actions]]))).toEqual([
      // moto learns that a child ended by polling DescribeExecution; AWS sets up the managed EventBridge rule.
      'events:DescribeRule',
      'events:PutRule',
      'events:PutTargets',
      // S3 answers 404 rather than 403 for a missing key (the plan's first lock) only with ListBucket; moto answers 404 either way.
      's3:ListBucket',
      // A plan stops a child only when the plan itself is stopped or times out: no scenario here does.
      'states:StopExecution',
    ]);
  });

  /** What the last failed Task of a history said, for a failing assertion's message. */
  function lastTaskFailure(events: readonly { type?: string; taskFailedEventDetails?: { error?: string; cause?: string } }[]): string {
    const failed = events.filter((e) => e.type === 'TaskFailed').at(-1)?.taskFailedEventDetails;
    return failed ? `${failed.error}: ${failed.cause}` : '(no task failed)';
  }

  /** The plan's release id (the report's key): the plan function's ValidatePlan result in the execution's history. */
  async function releaseIdOf(execution: string): Promise<string> {
    const { events } = await aws.waitFor(execution);
    const validated = events.find((e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'ValidatePlan');
    return (JSON.parse(validated?.stateExitedEventDetails?.output ?? '{}') as { release: { id: string } }).release.id;
  }
});
