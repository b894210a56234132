import { describe, expect, it } from 'vitest';
import { deploymentIdFor } from '../../core/deployment-id';
import { runCli } from './cli';
import { type Ended, useEmulatedAws } from './emulated-aws';
import { inspect } from './inspect';
import { IMAGE } from './world';

// Issue 12, item 4: the approval before an automatic rollback, through the synthesized stack in moto: the request on
// the topic, the wait on the stack's activity, the CLI answering it, and the timeout's configured default (keep).
describe('the deployed runbook on emulated AWS: approval before an automatic rollback', { timeout: 180_000 }, () => {
  // Deployed once: each scenario starts on an emptied bucket (ledger, lock, reports), the service back on v1.
  const aws = useEmulatedAws({ stack: 'rollback' });

  const cli = (...args: string[]) => runCli(aws, ...args);

  /** The rollback approval request the runbook published, read from the topic's subscription. */
  const rollbackRequest = () => aws.notification('APPROVAL NEEDED: roll back', 'no rollback approval request was published', 300);

  /** The evidence report the execution wrote, by its deterministic deployment id. */
  async function reportOf(execution: string): Promise<Record<string, any> | null> {
    const id = deploymentIdFor(execution.split(':').at(-1) ?? '', execution);
    return aws.artifact<Record<string, any>>(`reports/shop/${id}.json`);
  }

  function scheduled(ended: Ended) {
    return ended.events.find((e) => e.type === 'ActivityScheduled')?.activityScheduledEventDetails;
  }

  it('rolls back once a person approves with deploy-runbook approve, the approver in the report', async () => {
    aws.app.versions = { v1: {}, v2: { healthStatus: 500 } };
    const execution = await aws.startExecution({ action: 'deploy', version: 'v2', image: IMAGE('v2') });
    const message = await rollbackRequest();
    const command = /npx deploy-runbook (approve --execution (\S+)) --by <name>/.exec(message);
    expect(command?.[2]).toBe(execution);
    expect(message).not.toMatch(/task-token|taskToken|--token/i);

    const approved = await cli(...command![1].split(' '), '--by', 'lead', '--comment', 'roll it back');
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain('✔ rollback approved by lead');

    const ended = await aws.waitFor(execution);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'RolledBack']);
    expect(ended.states).toEqual(expect.arrayContaining(['SmokeTest', 'RequestRollbackApproval', 'AwaitRollbackApproval', 'RollbackApp', 'RecordRollback']));
    expect(scheduled(ended)?.resource).toBe(aws.stack.restoreApprovalActivityArn);
    expect(JSON.parse(scheduled(ended)?.input ?? '{}')).toEqual({ kind: 'rollback-approval', execution, target: 'shop', version: 'v2', rollbackTo: 'v1', reason: 'SmokeTestFailed' });
    expect(ended.events.find((e) => e.type === 'ActivityStarted')?.activityStartedEventDetails).toEqual({ workerName: 'deploy-runbook approve by lead' });
    expect(JSON.stringify(ended.events)).not.toMatch(/taskToken|Task\.Token/);
    expect(ended.cause).toContain('The rollback was approved by lead (roll it back).');
    expect(await inspect(aws).runningTag()).toBe('v1');
    expect(await reportOf(execution)).toMatchObject({ outcome: { result: 'rolled-back' }, rollbackApproval: { decision: 'approved', by: 'lead', comment: 'roll it back' } });
  });

  it('keeps the release when nobody answers in time (onTimeout keep): nothing rolled back, recorded as current, ends ReleaseKept', async () => {
    // 30 minutes waited as 1.8 s: the harness compresses activity timeouts only when asked.
    aws.setControl({ activityTimeScale: 0.001 });
    aws.app.versions = { v1: {}, v2: { healthStatus: 500 } };
    const execution = await aws.startExecution({ action: 'deploy', version: 'v2', image: IMAGE('v2') });

    const ended = await aws.waitFor(execution);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'ReleaseKept']);
    expect(ended.states).toEqual(expect.arrayContaining(['RequestRollbackApproval', 'AwaitRollbackApproval', 'RecordKept', 'ReleaseLockAfterKeep', 'NotifyKept']));
    expect(ended.states).not.toContain('RollbackApp');
    expect(ended.events.map((e) => e.type)).toContain('ActivityTimedOut');
    expect(ended.cause).toContain('Nobody answered the rollback approval in time: rollbackApproval.onTimeout decided.');
    expect(await inspect(aws).runningTag()).toBe('v2');
    const ledger = await aws.artifact<{ current: { version: string; rolledBack: unknown }; events: { kind: string }[] }>('ledger/shop.json');
    expect(ledger?.current).toMatchObject({ version: 'v2', rolledBack: null });
    expect(ledger?.events.at(-1)?.kind).toBe('kept');
    expect(await inspect(aws).lock()).toMatchObject({ state: 'released' });
    expect(await reportOf(execution)).toMatchObject({ outcome: { result: 'kept' }, rollbackApproval: { decision: 'unanswered', error: expect.stringMatching(/^States\.Timeout/) }, rollback: null });
    expect((await aws.world.notifications()).map((n) => n.subject)).toContain('shop: v2 kept, not rolled back');
  });
});
