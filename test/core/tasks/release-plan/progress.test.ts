import { describe, expect, it } from 'vitest';
import type { PlanProgress, Release } from '../../../../core/release-plan';
import { advancePlan, childOutcome } from '../../../../core/tasks/release-plan/progress';

const ARN = (name: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:${name}`;
const release: Release = {
  id: 'shop-1-0a1b2c3d',
  name: 'shop',
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:Plans:shop-1',
  requestedBy: null,
  reason: null,
  startedAt: '2026-12-06T10:00:00.000Z',
  stages: [
    { name: 'backend', stateMachineArn: ARN('backend'), target: 'backend', version: 'v2', image: null, gates: [{ kind: 'approval', timeoutSeconds: 600 }] },
    { name: 'frontend', stateMachineArn: ARN('frontend'), target: 'frontend', version: 'v7', image: null, gates: [] },
    { name: 'admin', stateMachineArn: ARN('admin'), target: 'admin', version: 'v3', image: null, gates: [] },
  ],
};

/** What startExecution.sync:2 leaves in $.last when the child succeeded, and what its Catch writes when it did not. */
const succeeded = (id: string) => ({ ExecutionArn: `arn:exec:${id}`, Status: 'SUCCEEDED', Output: { deployment: { id } } });
const failed = (error: string | null, status = 'FAILED') => ({
  Error: 'States.TaskFailed',
  Cause: JSON.stringify({ ExecutionArn: 'arn:exec:child', Status: status, ...(error ? { Error: error, Cause: `${error} because` } : {}) }),
});

function run(steps: Record<string, unknown>[]): PlanProgress {
  let progress = advancePlan(release, null, null);
  for (const last of steps) progress = advancePlan(release, progress, last);
  return progress;
}

describe('the plan progress (Advance)', () => {
  it('reads a failed child from the Cause Step Functions writes: its own Error, or its status when it has none', () => {
    expect(childOutcome(failed('RolledBack'), null)).toMatchObject({ executionArn: 'arn:exec:child', ended: 'RolledBack', cause: 'RolledBack because' });
    expect(childOutcome(failed(null, 'TIMED_OUT'), null)).toMatchObject({ ended: 'TIMED_OUT' });
    expect(childOutcome({ Error: 'StepFunctions.AccessDeniedException', Cause: 'not authorized' }, null)).toMatchObject({ executionArn: null, ended: 'StepFunctions.AccessDeniedException', cause: 'not authorized' });
  });

  it('waits on the gate after a stage, and goes on to the next stage once it is approved', () => {
    const afterBackend = run([succeeded('backend-d1')]);
    expect(afterBackend).toMatchObject({ next: 'approval', index: 0, gate: { stage: 'backend', kind: 'approval', timeoutSeconds: 600 } });
    expect(afterBackend.stages[0]).toMatchObject({ status: 'succeeded', deploymentId: 'backend-d1' });
    const approved = advancePlan(release, afterBackend, { approved: true, by: 'ana', comment: null });
    expect(approved).toMatchObject({ next: 'run-stage', index: 1, run: { stateMachineArn: ARN('frontend'), name: 'shop-1-0a1b2c3d-s2-frontend' } });
    expect(approved.stages[0].gates).toEqual([{ kind: 'approval', passed: true, detail: 'approved by ana' }]);
  });

  it('rolls back the gated stage when nobody approves in time', () => {
    const timedOut = run([succeeded('backend-d1'), { Error: 'States.Timeout', Cause: null }]);
    expect(timedOut).toMatchObject({ next: 'undo', index: 0, failure: { stage: 'backend', Error: 'ApprovalTimedOut' } });
    expect(timedOut.run?.input).toMatchObject({ action: 'rollback', plan: { name: 'shop', stage: 'backend', version: 'v2' } });
  });

  it('rolls back every deployed stage newest first when the third fails, and ends rolled back', () => {
    const steps = [succeeded('b'), { approved: true, by: 'ana' }, succeeded('f'), failed('RolledBack')];
    const undoing = run(steps);
    expect(undoing).toMatchObject({ next: 'undo', index: 1 });
    const next = advancePlan(release, undoing, failed('RolledBack'));
    expect(next).toMatchObject({ next: 'undo', index: 0 });
    const done = advancePlan(release, next, failed('RolledBack'));
    expect(done.next).toBe('rolled-back');
    expect(done.stages.map((s) => s.status)).toEqual(['rolled-back', 'rolled-back', 'rolled-back']);
    expect(done.cause).toBe('Release plan shop: admin failed (RolledBack: RolledBack because); rolled back backend, frontend, admin.');
  });

  it('still rolls back the earlier stages when a stage ends RollbackFailed, and ends rollback-failed', () => {
    const undoing = run([succeeded('b'), { approved: true }, failed('RollbackFailed')]);
    expect(undoing).toMatchObject({ next: 'undo', index: 0 });
    const done = advancePlan(release, undoing, failed('RolledBack'));
    expect(done.next).toBe('rollback-failed');
    expect(done.stages.map((s) => s.status)).toEqual(['rolled-back', 'rollback-failed', 'pending']);
  });

  it('counts a rollback child that ends otherwise than RolledBack as a failed rollback (NoRollbackNeeded: not the version it released)', () => {
    const done = run([succeeded('b'), { approved: true }, failed('RolledBack'), { ExecutionArn: 'arn:exec:r', Status: 'SUCCEEDED', Output: {} }]);
    expect(done.next).toBe('rollback-failed');
    expect(done.stages[0]).toMatchObject({ status: 'rollback-failed', rollback: { ended: 'SUCCEEDED' } });
  });

  it('ends aborted when the first stage fails before changing anything', () => {
    expect(run([failed('DeploymentAborted')])).toMatchObject({ next: 'aborted', stages: [{ status: 'failed' }, { status: 'pending' }, { status: 'pending' }] });
  });
});
