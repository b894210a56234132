import { GetExecutionHistoryCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli';
import { useEmulatedAws } from './emulated-aws';
import { inspect } from './inspect';
import { stackName } from './stacks';
import { IMAGE } from './world';

// Restores (a person approving or rejecting through the CLI, an Aurora cluster) and the operator's CLI, all
// against the synthesized stacks in moto, as a team would run them from CI.
describe('the deployed runbook on emulated AWS: restores and the CLI', { timeout: 180_000 }, () => {
  // One world for the file, each stack deployed once: the scenarios are grouped by stack, the first of each group
  // deploys it and the next ones start isolated on it (the bucket emptied, the service on v1, RDS as the world created
  // it: no restored copy, no failed one kept, no snapshot; no execution of an earlier scenario among their own). After
  // each one, moto refused no call and the smoke-test password appeared nowhere (useEmulatedAws).
  const aws = useEmulatedAws();

  const cli = (...args: string[]) => runCli(aws, ...args);

  /** The approval request the runbook published, read from the topic's subscription. */
  async function approvalRequest(): Promise<string> {
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const request = (await aws.world.notifications()).find((n) => n.subject?.startsWith('APPROVAL NEEDED'));
      if (request) return request.message;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('no approval request was published');
  }

  /** The CLI command the request tells a person to run, as arguments (it names the execution, never a token). */
  async function approveCommand(execution: string, reject = false): Promise<string[]> {
    const message = await approvalRequest();
    const command = new RegExp(String.raw`npx deploy-runbook (approve --execution (\S+)${reject ? ' --reject' : ''}) --by <name>`).exec(message);
    expect(command?.[2]).toBe(execution);
    return command![1].split(' ');
  }

  /** Reads until `done` holds: the rule's functions run asynchronously after the execution ended. */
  async function waitUntil<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const value = await read();
      if (done(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the rule on ended executions did not act within 20 s');
  }

  it('start --wait --json deploys v2 and exits 0; status of the execution says succeeded', async () => {
    await aws.scenarioOn('instance');
    aws.app.versions = { v1: {}, v2: {} };
    const started = await cli('start', '--version', 'v2', '--image', IMAGE('v2'), '--stack', stackName('instance'), '--wait', '--json');
    expect(started.code, started.stderr).toBe(0);
    const result = JSON.parse(started.stdout) as { outcome: string; executionArn: string; states: { name: string }[] };
    expect(result.outcome).toBe('succeeded');
    expect(result.states.map((s) => s.name)).toEqual(expect.arrayContaining(['SmokeTest', 'RecordRelease']));
    const status = await cli('status', result.executionArn, '--json');
    expect([status.code, (JSON.parse(status.stdout) as { outcome: string }).outcome]).toEqual([0, 'succeeded']);
    expect(await inspect(aws).runningTag()).toBe('v2');
  });

  it('start --wait exits 2 after an automatic rollback, with the rollback path in its progress', async () => {
    await aws.scenarioOn('instance');
    aws.app.versions = { v1: {}, v2: { healthStatus: 500 } };
    const started = await cli('start', '--version', 'v2', '--image', IMAGE('v2'), '--stack', stackName('instance'), '--wait');
    expect(started.code, started.stderr).toBe(2);
    expect(started.stdout).toContain('RollbackApp');
    expect(started.stdout).toMatch(/rolled back/i);
    expect(await inspect(aws).runningTag()).toBe('v1');
    const [execution] = await aws.otherExecutions([]);
    const status = await cli('status', execution, '--json');
    expect([status.code, (JSON.parse(status.stdout) as { outcome: string }).outcome]).toEqual([2, 'rolled-back']);
  });

  it('restores the database after a person approves with deploy-runbook approve', async () => {
    await aws.scenarioOn('approval');
    aws.app.versions = { v1: {}, v2: { healthStatus: 500 } };
    const execution = await aws.startExecution({ action: 'deploy', version: 'v2', image: IMAGE('v2') });
    const approved = await cli(...(await approveCommand(execution)), '--by', 'lead');
    expect(approved.code, approved.stderr).toBe(0);
    const ended = await aws.waitFor(execution);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'RolledBack']);
    expect(ended.states).toEqual(expect.arrayContaining(['RequestRestoreApproval', 'AwaitRestoreApproval', 'AdvanceRestore']));
    const ids = (await inspect(aws).instances()).map((i) => i.id).sort();
    expect(ids).toEqual(['shop-db', expect.stringMatching(/^shop-db-failed-\d{14}$/)]);
    // Issue 9, item 13: the wait is on the stack's activity; its history names who took the request, and no
    // event, notification or CLI output carries a task token.
    const scheduled = ended.events.find((e) => e.type === 'ActivityScheduled')?.activityScheduledEventDetails;
    expect(scheduled?.resource).toBe(aws.stack.restoreApprovalActivityArn);
    expect(JSON.parse(scheduled?.input ?? '{}')).toEqual({ kind: 'restore-approval', execution, target: 'shop', snapshot: expect.stringMatching(/^deploy-runbook-/) });
    expect(ended.events.find((e) => e.type === 'ActivityStarted')?.activityStartedEventDetails).toEqual({ workerName: 'deploy-runbook approve by lead' });
    expect(JSON.stringify(ended.events)).not.toMatch(/taskToken|Task\.Token|waitForTaskToken/);
    expect((await approvalRequest())).not.toMatch(/task-token|--token/);
    expect(approved.stdout + approved.stderr).not.toMatch(/--task-token|[A-Za-z0-9+/]{64,}/);
  });

  it('keeps the database as it is when the person rejects the restore', async () => {
    await aws.scenarioOn('approval');
    aws.app.versions = { v1: {}, v2: { healthStatus: 500 } };
    const execution = await aws.startExecution({ action: 'deploy', version: 'v2', image: IMAGE('v2') });
    const rejected = await cli(...(await approveCommand(execution, true)), '--by', 'lead', '--comment', 'data written since is worth more');
    expect(rejected.code, rejected.stderr).toBe(0);
    const ended = await aws.waitFor(execution);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'RolledBack']);
    expect(ended.states).toContain('RestoreNotApproved');
    expect(ended.states).not.toContain('AdvanceRestore');
    expect(ended.cause).toMatch(/not restored/i);
    expect((await inspect(aws).instances()).map((i) => i.id)).toEqual(['shop-db']);
    expect(await inspect(aws).runningTag()).toBe('v1');
  });

  /**
   * What the rule on the runbook's own executions does once `execution` ended `status` outside the runbook's end
   * states while it held the lock: the lock is marked stuck, an ACTION NEEDED notification names the execution,
   * and the next deployment is refused until a person unlocks the target.
   */
  async function expectAbandoned(execution: string, status: 'ABORTED' | 'TIMED_OUT'): Promise<void> {
    const lock = await waitUntil(() => inspect(aws).lock(), (found) => found?.state === 'stuck');
    expect(lock).toMatchObject({ executionId: execution, state: 'stuck', note: expect.stringMatching(new RegExp(`ended ${status} .*outside the runbook's own end states`)) });
    const notified = await waitUntil(() => aws.world.notifications(), (found) => found.some((n) => n.subject?.startsWith('ACTION NEEDED')));
    const actionNeeded = notified.filter((n) => n.subject?.startsWith('ACTION NEEDED'));
    expect(actionNeeded).toEqual([expect.objectContaining({ subject: `ACTION NEEDED: shop runbook execution ${status}` })]);
    expect(actionNeeded[0].message).toContain(execution);
    expect(actionNeeded[0].message).toMatch(new RegExp(`ended ${status}\\b`));
    const next = await aws.run({ action: 'deploy', version: 'v2', image: IMAGE('v2') });
    expect([next.status, next.error]).toEqual(['FAILED', 'DeploymentInProgress']);
  }

  it('marks the lock stuck and tells people when an execution is stopped mid-rollback, outside the runbook\'s end states', async () => {
    await aws.scenarioOn('approval');
    aws.app.versions = { v1: {}, v2: { healthStatus: 500 } };
    const execution = await aws.startExecution({ action: 'deploy', version: 'v2', image: IMAGE('v2') });
    await approvalRequest();

    await aws.operator.sfn.send(new StopExecutionCommand({ executionArn: execution, error: 'OperatorStopped', cause: 'stopped while the restore waited' }));

    const ended = await aws.waitFor(execution);
    expect(ended.status).toBe('ABORTED');
    await expectAbandoned(execution, 'ABORTED');
  });

  it('marks the lock stuck and tells people when the execution timeout elapses mid-rollback, while the restore waits for approval', async () => {
    await aws.scenarioOn('timeout');
    aws.app.versions = { v1: {}, v2: { healthStatus: 500 } };
    const started = Date.now();
    const execution = await aws.startExecution({ action: 'deploy', version: 'v2', image: IMAGE('v2') });
    await approvalRequest();

    // Nobody answers. The approval would time out after 30 minutes; the execution times out after 360 (compressed
    // like Wait states by moto/launch.py: 21.6 s after the start), while the request still waits.
    const ended = await aws.waitFor(execution);
    expect(ended.status).toBe('TIMED_OUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(21_600);
    expect(ended.end).toBe('AwaitRestoreApproval');
    expect(ended.events.map((e) => e.type)).not.toEqual(expect.arrayContaining(['ActivityStarted']));
    expect(ended.states).not.toContain('AdvanceRestore');
    await expectAbandoned(execution, 'TIMED_OUT');
    // The history ends as AWS ends it: the execution timed out, no Fail state was reached.
    const history = await aws.operator.sfn.send(new GetExecutionHistoryCommand({ executionArn: execution, maxResults: 1000 }));
    expect(history.events?.at(-1)?.type).toBe('ExecutionTimedOut');
    expect((await inspect(aws).instances()).map((i) => i.id)).toEqual(['shop-db']);
  });

  it('restores an Aurora cluster by rename-swap, keeping the failed cluster', async () => {
    await aws.scenarioOn('aurora');
    aws.app.versions = { v1: {}, v2: { healthStatus: 500 } };
    const ended = await aws.run({ action: 'deploy', version: 'v2', image: IMAGE('v2') });
    expect([ended.status, ended.error]).toEqual(['FAILED', 'RolledBack']);
    expect(ended.states).toContain('AdvanceRestore');
    expect((await inspect(aws).clusters()).sort()).toEqual(['shop-cluster', expect.stringMatching(/^shop-cluster-failed-\d{14}$/)]);
    expect(ended.cause).toMatch(/failed (database|cluster) is kept as shop-cluster-failed-\d{14}/);
  });
});
