import { describe, expect, it } from 'vitest';
import { DeployTargetEvent, elapsed, runDeployTarget } from '../../../../core/tasks/deploy-target/deploy-target';
import type { DeployRequest, DeployTarget } from '../../../../core/ports/deploy-target';
import { InvalidInputError } from '../../../../core/errors';
import type { DeployedVersion, DeployHandle } from '../../../../core/model';
import { config, deployment, fixedClock, newRelease, REPO, TD41 } from '../../../adapters/aws/deploy-fixtures';

const previous = { version: 'v1.4.2', image: `${REPO}:v1.4.2`, ref: TD41 };

/** Records what the task asked of the target. */
class RecordingTarget implements DeployTarget {
  readonly calls: unknown[][] = [];
  async current(): Promise<DeployedVersion> {
    return previous;
  }
  async preflight() {
    return [];
  }
  async deploy(request: DeployRequest): Promise<DeployHandle> {
    this.calls.push(['deploy', request]);
    return newRelease;
  }
  async status(handle: DeployHandle) {
    this.calls.push(['status', handle]);
    return { status: 'in-progress' as const, detail: 'running 2/3, pending 1', checkedAt: '2025-06-01T10:05:00.000Z' };
  }
  async rollback(to: DeployedVersion, from: DeployHandle | null): Promise<DeployHandle> {
    this.calls.push(['rollback', to, from]);
    return { ...newRelease, ref: to.ref, version: to.version, image: to.image };
  }
}

const preflight = {
  running: previous,
  baseline: { takenAt: '2025-06-01T10:00:30.000Z', alarms: [] },
  database: null,
  checks: [],
  checkedAt: '2025-06-01T10:00:30.000Z',
};

describe('runDeployTarget', () => {
  it('deploys the requested version and image under the runbook deployment id', async () => {
    const target = new RecordingTarget();
    const event = DeployTargetEvent.parse({ operation: 'deploy', config: config(), deployment, preflight });

    await expect(runDeployTarget(event, { target, clock: fixedClock })).resolves.toEqual(newRelease);
    expect(target.calls).toEqual([['deploy', { version: 'v1.5.0', image: `${REPO}:v1.5.0`, deploymentId: deployment.id }]]);
  });

  it('fails when the deployment carries no version', async () => {
    const target = new RecordingTarget();
    const event = DeployTargetEvent.parse({ operation: 'deploy', config: config(), deployment: { ...deployment, version: null }, preflight });

    await expect(runDeployTarget(event, { target, clock: fixedClock })).rejects.toThrow(
      new InvalidInputError('deployment.version: Deploy needs a version (got null for action "deploy")'),
    );
    expect(target.calls).toEqual([]);
  });

  it('reports the status with the time since the rollout started', async () => {
    const target = new RecordingTarget();
    const event = DeployTargetEvent.parse({ operation: 'status', config: config(), deployment, handle: newRelease });

    await expect(runDeployTarget(event, { target, clock: fixedClock })).resolves.toEqual({
      status: 'in-progress',
      detail: 'running 2/3, pending 1 (4m 00s since the rollout started)',
      checkedAt: '2025-06-01T10:05:00.000Z',
    });
    expect(target.calls).toEqual([['status', newRelease]]);
  });

  it('rolls back to the remembered version, undoing the release', async () => {
    const target = new RecordingTarget();
    const error = { Error: 'SmokeTestFailed', Cause: '1 of 5 checks failed: health' };
    const event = DeployTargetEvent.parse({ operation: 'rollback', config: config(), deployment, rollbackTo: previous, handle: newRelease, error });

    await expect(runDeployTarget(event, { target, clock: fixedClock })).resolves.toMatchObject({ ref: TD41, version: 'v1.4.2' });
    expect(target.calls).toEqual([['rollback', previous, newRelease]]);
  });

  it('rolls back when Deploy failed before it returned a handle', async () => {
    const target = new RecordingTarget();
    const event = DeployTargetEvent.parse({
      operation: 'rollback',
      config: config(),
      deployment,
      rollbackTo: previous,
      handle: null,
      error: { Error: 'DeploymentFailedError', Cause: '{"errorType":"DeploymentFailedError","errorMessage":"container missing"}' },
    });

    await runDeployTarget(event, { target, clock: fixedClock });
    expect(target.calls).toEqual([['rollback', previous, null]]);
  });

  it('fails to parse an event with an unknown operation', () => {
    expect(DeployTargetEvent.safeParse({ operation: 'promote', config: config(), deployment }).success).toBe(false);
  });
});

describe('elapsed', () => {
  it.each([
    ['2025-06-01T10:04:58.000Z', '2s'],
    ['2025-06-01T10:00:55.000Z', '4m 05s'],
    ['2025-06-01T07:58:00.000Z', '2h 07m'],
    ['2025-06-01T10:05:00.000Z', '0s'],
  ])('formats the time since %s', (startedAt, text) => {
    expect(elapsed(startedAt, fixedClock.now())).toBe(text);
  });

  it('returns null for an unreadable or future start', () => {
    expect(elapsed('yesterday-ish', fixedClock.now())).toBeNull();
    expect(elapsed('2025-06-01T11:00:00.000Z', fixedClock.now())).toBeNull();
  });
});

describe('runDeployTarget: shift', () => {
  const plan = { steps: [{ percent: 10, seconds: 300 }, { percent: 100, seconds: null }], given: 0, total: 2, percent: 0, bakeChecks: 1, history: [] };
  const shiftEvent = (traffic: typeof plan) =>
    DeployTargetEvent.parse({ operation: 'shift', config: { target: config().target, bake: { durationSeconds: 600, pollSeconds: 60 } }, handle: newRelease, rollbackTo: previous, traffic });

  class ShiftingTarget extends RecordingTarget {
    async shift(release: DeployHandle, from: DeployedVersion, percent: number): Promise<string> {
      this.calls.push(['shift', release.ref, from.ref, percent]);
      return `${percent} % to ${release.ref}`;
    }
  }

  it('gives the next step its weight, sized in bake evaluations, and records it', async () => {
    const target = new ShiftingTarget();
    const first = await runDeployTarget(shiftEvent(plan), { target, clock: fixedClock });

    expect(first).toEqual({ ...plan, given: 1, percent: 10, bakeChecks: 5, history: [{ percent: 10, at: '2025-06-01T10:05:00.000Z', detail: `10 % to ${newRelease.ref}` }] });
    const last = await runDeployTarget(shiftEvent(first as typeof plan), { target, clock: fixedClock });
    expect(last).toMatchObject({ given: 2, percent: 100, bakeChecks: 10, history: [{ percent: 10 }, { percent: 100 }] });
    expect(target.calls).toEqual([
      ['shift', newRelease.ref, TD41, 10],
      ['shift', newRelease.ref, TD41, 100],
    ]);
  });

  it('fails past the last step, and for a target that cannot shift', async () => {
    await expect(runDeployTarget(shiftEvent({ ...plan, given: 2 }), { target: new ShiftingTarget(), clock: fixedClock })).rejects.toThrow(
      'traffic: all 2 step(s) were given already: there is no step 3',
    );
    await expect(runDeployTarget(shiftEvent(plan), { target: new RecordingTarget(), clock: fixedClock })).rejects.toThrow('target.kind: "ecs" cannot shift traffic in steps');
  });
});
