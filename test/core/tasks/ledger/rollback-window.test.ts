import { beforeEach, describe, expect, it } from 'vitest';
import type { RunbookConfig } from '../../../../config/schema';
import { acquireLock, releaseLock } from '../../../../core/tasks/deployment-lock/deployment-lock';
import { LedgerEvent, runLedger } from '../../../../core/tasks/ledger/ledger';
import { readLedger, updateLedger } from '../../../../core/tasks/ledger/release-ledger';
import { DeploymentInProgressError } from '../../../../core/errors';
import type { Execution, Outcome, WindowDecision } from '../../../../core/model';
import { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import { config, deployment, deploymentFor, executionNamed, fixedClock, preflight, releasedSlots, smokeReport, snapshot, STATE_MACHINE, tempFileStore, RecordingMetrics } from './fixtures';

const RELEASED_AT = '2025-03-04T10:45:00.000Z';
const ALARM_AT = '2025-03-04T12:20:00.000Z';
const ALARM_REASON = 'Threshold Crossed: 1 out of the last 1 datapoints [5.2] was greater than the threshold (1.0)';

function alarmRollback(execution: Execution, alarmTime = ALARM_AT) {
  return deploymentFor(execution, {
    action: 'rollback',
    version: null,
    image: null,
    requestedBy: 'eventbridge',
    reason: null,
    alarm: { name: 'shop-api-5xx-rate', reason: ALARM_REASON, time: alarmTime },
  });
}

function eventOf(operation: LedgerEvent['operation'], slots: object): LedgerEvent {
  return LedgerEvent.parse(JSON.parse(JSON.stringify({ operation, ...slots })));
}

describe('check-window', () => {
  let store: FileArtifactStore;
  const clock = fixedClock(RELEASED_AT);
  const deps = () => ({ store, clock, metrics: new RecordingMetrics() });

  beforeEach(async () => {
    const temp = await tempFileStore('rollback-window-');
    store = temp.store;
    clock.set(RELEASED_AT);
    return temp.remove;
  });

  /** v1.4.1 released the day before, then v1.4.2 at RELEASED_AT. */
  async function releaseTwoVersions(): Promise<void> {
    const earlierExecution = executionNamed('deploy-v1-4-1', '2025-03-03T09:00:00.000Z');
    clock.set('2025-03-03T09:40:00.000Z');
    await runLedger(
      eventOf('record-release', {
        ...releasedSlots(),
        execution: earlierExecution,
        deployment: deploymentFor(earlierExecution, { version: 'v1.4.1', image: preflight.running.image }),
        preflight: { ...preflight, running: { version: 'v1.4.0', image: null, ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:40' } },
        release: { ...releasedSlots().release, ref: preflight.running.ref, version: 'v1.4.1', image: preflight.running.image },
      }),
      deps(),
    );
    clock.set(RELEASED_AT);
    await runLedger(eventOf('record-release', releasedSlots()), deps());
  }

  async function checkWindow(execution: Execution, cfg: RunbookConfig = config, alarmTime = ALARM_AT): Promise<WindowDecision> {
    return (await runLedger(eventOf('check-window', { config: cfg, deployment: alarmRollback(execution, alarmTime), execution }), deps())) as WindowDecision;
  }

  /** What the state machine does after a `rollback` decision: merge the patch, roll back, verify, record. */
  async function rollBack(execution: Execution, window: WindowDecision): Promise<Outcome> {
    const merged = {
      ...releasedSlots(),
      preflight: null,
      snapshot: null,
      backup: null,
      smoke: null,
      bake: null,
      migrations: null,
      deployment: alarmRollback(execution),
      execution,
      window,
      ...window.patch,
      rollback: { kind: 'ecs', ref: window.patch!.rollbackTo.ref, version: window.patch!.rollbackTo.version, image: null, deploymentId: 'ecs-svc/9', startedAt: clock.now().toISOString() },
      restore: { restored: false, decision: 'skipped' },
      verify: smokeReport('rollback'),
    };
    return (await runLedger(eventOf('record-rollback', merged), deps())) as Outcome;
  }

  it('finds no release in an empty ledger', async () => {
    const window = await checkWindow(executionNamed('alarm-1'));
    expect(window).toEqual({
      decision: 'no-release',
      message: 'No release of shop-api is recorded in ledger/shop-api.json: nothing to roll back for alarm shop-api-5xx-rate.',
      release: null,
      patch: null,
    });
  });

  it('rolls back the current release inside the window, with what a deploy would have left in the state', async () => {
    await releaseTwoVersions();
    clock.set('2025-03-04T12:21:00.000Z');
    const window = await checkWindow(executionNamed('alarm-1'));
    expect(window.decision).toBe('rollback');
    expect(window.release).toMatchObject({ version: 'v1.4.2', deploymentId: deployment.id });
    expect(window.patch).toEqual({
      rollbackTo: preflight.running,
      snapshot,
      migrations: { started: true, status: 'succeeded', ref: null, startedAt: null, finishedAt: null, detail: `as recorded for release ${deployment.id}` },
      error: { Error: 'AlarmFired', Cause: `Alarm shop-api-5xx-rate entered ALARM 95 min after release v1.4.2: ${ALARM_REASON}` },
      release: {
        kind: 'ecs',
        ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:42',
        version: 'v1.4.2',
        image: deployment.image,
        deploymentId: null,
        startedAt: RELEASED_AT,
      },
    });
  });

  it('hands the release snapshot over whatever the approval setting: the state machine decides whether to restore', async () => {
    await releaseTwoVersions();
    clock.set('2025-03-04T12:21:00.000Z');
    const approving = { ...config, database: { ...config.database!, restoreApproval: { required: true, timeoutMinutes: 60 } } };
    expect((await checkWindow(executionNamed('alarm-1'), approving)).patch?.snapshot).toEqual(snapshot);
    expect((await checkWindow(executionNamed('alarm-2'), config)).patch?.snapshot).toEqual(snapshot);
  });

  it('names who asked for a rollback that no alarm triggered', async () => {
    await releaseTwoVersions();
    const execution = executionNamed('manual-rollback');
    const requested = deploymentFor(execution, { action: 'rollback', version: null, image: null, requestedBy: 'alice', reason: 'checkout errors reported by support', alarm: null });
    const window = (await runLedger(eventOf('check-window', { config, deployment: requested, execution }), deps())) as WindowDecision;
    expect(window.patch?.error).toEqual({ Error: 'RollbackRequested', Cause: 'Rollback of release v1.4.2 requested by alice: checkout errors reported by support' });
  });

  describe('a rollback a release plan starts for a stage it deployed', () => {
    function planRollback(version: string) {
      const execution = executionNamed('plan-shop-r1-staging');
      const requested = deploymentFor(execution, {
        action: 'rollback',
        version: null,
        image: null,
        requestedBy: 'release-plan shop',
        reason: 'RolledBack at production: the plan rolls back every stage it deployed',
        alarm: null,
        plan: { name: 'shop', execution: 'arn:aws:states:eu-west-1:123456789012:execution:ReleasePlan:plan-1', stage: 'staging', version },
      });
      return runLedger(eventOf('check-window', { config: { ...config, rollbackWindowHours: 0 }, deployment: requested, execution }), deps()) as Promise<WindowDecision>;
    }

    it('rolls back the version it released even with rollbackWindowHours 0, naming the plan', async () => {
      await releaseTwoVersions();
      const window = await planRollback('v1.4.2');
      expect(window.decision).toBe('rollback');
      expect(window.patch?.error).toEqual({
        Error: 'ReleasePlanRolledBack',
        Cause: 'Release plan shop rolled back stage staging (release v1.4.2): RolledBack at production: the plan rolls back every stage it deployed',
      });
    });

    it('leaves a release of another version alone: the plan undoes only its own', async () => {
      await releaseTwoVersions();
      const window = await planRollback('v1.5.0');
      expect(window.decision).toBe('superseded');
      expect(window.message).toBe('v1.4.2 runs on shop-api now, not v1.5.0, which release plan shop (stage staging) released: nothing to do.');
    });
  });

  it('records an alarm outside the window in the ledger and does not roll back', async () => {
    await releaseTwoVersions();
    clock.set('2025-03-04T19:00:00.000Z');
    const window = await checkWindow(executionNamed('alarm-late'), config, '2025-03-04T18:59:00.000Z');
    const message = 'Release v1.4.2 of shop-api is not rolled back for alarm shop-api-5xx-rate: it finished 8.3 h ago, outside the 8 h rollback window.';
    expect(window).toMatchObject({ decision: 'outside-window', message, patch: null });
    const { document } = await readLedger(store, 'shop-api');
    expect(document.events.at(-1)).toEqual({ at: '2025-03-04T19:00:00.000Z', kind: 'alarm-outside-window', detail: `alarm-late: ${message}` });
    expect(document.current?.rolledBack).toBeNull();
  });

  it('still rolls back an alarm checked exactly rollbackWindowHours after the release, and not a millisecond later', async () => {
    await releaseTwoVersions();
    clock.set('2025-03-04T18:45:00.000Z');
    expect((await checkWindow(executionNamed('alarm-at-the-end'), config, '2025-03-04T18:44:59.000Z')).decision).toBe('rollback');

    clock.set('2025-03-04T18:45:00.001Z');
    expect((await checkWindow(executionNamed('alarm-just-after'), config, '2025-03-04T18:44:59.000Z')).decision).toBe('outside-window');
  });

  it('measures the window up to the time of the check, not to the alarm time the input claims', async () => {
    await releaseTwoVersions();
    clock.set('2025-03-04T18:46:00.000Z');
    expect((await checkWindow(executionNamed('alarm-claims-early'), config, '2025-03-04T12:00:00.000Z')).decision).toBe('outside-window');

    clock.set('2025-03-04T12:21:00.000Z');
    expect((await checkWindow(executionNamed('alarm-claims-late'), config, '2025-03-05T09:00:00.000Z')).decision).toBe('rollback');
  });

  it('does nothing when the current release is already marked rolled back, as a person may mark it by hand', async () => {
    await releaseTwoVersions();
    const mark = { at: '2025-03-04T11:00:00.000Z', executionId: `${STATE_MACHINE}:by-hand`, reason: 'rolled back by hand' };
    await updateLedger(store, 'shop-api', (doc) => ({ ...doc, current: doc.current && { ...doc.current, rolledBack: mark } }));
    clock.set('2025-03-04T12:21:00.000Z');

    const window = await checkWindow(executionNamed('alarm-after-hand-rollback'));

    expect(window).toMatchObject({
      decision: 'already-rolled-back',
      message: 'Release v1.4.2 of shop-api was already rolled back at 2025-03-04T11:00:00.000Z: nothing to do for alarm shop-api-5xx-rate.',
      patch: null,
    });
  });

  it('does not roll back when rollbackWindowHours is 0', async () => {
    await releaseTwoVersions();
    clock.set('2025-03-04T10:46:00.000Z');
    const window = await checkWindow(executionNamed('alarm-1'), { ...config, rollbackWindowHours: 0 });
    expect(window.decision).toBe('outside-window');
    expect(window.message).toContain('rollbackWindowHours is 0');
  });

  it('makes the version rolled back to current again, and the next alarm finds nothing to do', async () => {
    await releaseTwoVersions();
    clock.set('2025-03-04T12:21:00.000Z');
    const execution = executionNamed('alarm-1');
    const outcome = await rollBack(execution, await checkWindow(execution));
    expect(outcome.cause).toBe(
      `Rolled back shop-api from v1.4.2 to v1.4.1 after AlarmFired: Alarm shop-api-5xx-rate entered ALARM 95 min after release v1.4.2: ${ALARM_REASON}. ` +
        'Database not restored: restoring hours after a release would discard every write since, so it needs restoreApproval.required (false here).',
    );
    const { document } = await readLedger(store, 'shop-api');
    expect(document.current).toMatchObject({ version: 'v1.4.1', rolledBack: null });
    expect(document.releases[0]).toMatchObject({ version: 'v1.4.2', rolledBack: { executionId: execution.id } });
    const next = await checkWindow(executionNamed('alarm-2'));
    expect(next.decision).toBe('already-rolled-back');
    expect(next.message).toBe(
      'The latest deployment of shop-api (v1.4.2) was rolled back at 2025-03-04T12:21:00.000Z; v1.4.1 runs now and is not rolled back automatically: nothing to do for alarm shop-api-5xx-rate.',
    );
  });

  it('makes up a current record from rollbackTo when the earlier version was never recorded', async () => {
    await runLedger(eventOf('record-release', releasedSlots()), deps());
    clock.set('2025-03-04T12:21:00.000Z');
    const execution = executionNamed('alarm-1');
    await rollBack(execution, await checkWindow(execution));
    const { document } = await readLedger(store, 'shop-api');
    expect(document.current).toMatchObject({ version: 'v1.4.1', ref: preflight.running.ref, executionId: execution.id, previous: preflight.running });
    expect(document.releases.map((r) => r.version)).toEqual(['v1.4.2']);
  });

  it('rolls back exactly once for 10 alarm events about one release', async () => {
    await releaseTwoVersions();
    const decisions: string[] = [];
    for (let i = 0; i < 10; i++) {
      clock.set(new Date(Date.parse('2025-03-04T12:21:00.000Z') + i * 60_000).toISOString());
      const execution = executionNamed(`alarm-${i}`);
      const window = await checkWindow(execution);
      decisions.push(window.decision);
      if (window.decision === 'rollback') await rollBack(execution, window);
    }
    expect(decisions.filter((d) => d === 'rollback')).toHaveLength(1);
    expect(decisions.slice(1)).toEqual(Array(9).fill('already-rolled-back'));
    const { document } = await readLedger(store, 'shop-api');
    expect(document.events.filter((e) => e.kind === 'rolled-back')).toHaveLength(1);
  });

  it('rolls back exactly once for 10 concurrent alarm executions behind the lock', async () => {
    await releaseTwoVersions();
    clock.set('2025-03-04T12:21:00.000Z');
    const results = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const execution = executionNamed(`alarm-${i}`);
        const lockDeps = { store, clock };
        let lease;
        try {
          lease = await acquireLock({ operation: 'acquire', config, deployment: alarmRollback(execution), execution }, lockDeps);
        } catch (error) {
          if (error instanceof DeploymentInProgressError) return 'skipped-lock-held';
          throw error;
        }
        const window = await checkWindow(execution);
        if (window.decision === 'rollback') await rollBack(execution, window);
        await releaseLock({ operation: 'release', deployment: alarmRollback(execution), execution, lease }, lockDeps);
        return window.decision;
      }),
    );
    expect(results.filter((r) => r === 'rollback')).toHaveLength(1);
    expect(results.every((r) => ['rollback', 'already-rolled-back', 'skipped-lock-held'].includes(r))).toBe(true);
  });
});
