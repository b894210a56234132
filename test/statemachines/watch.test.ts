import { describe, expect, it } from 'vitest';
import type { WatchStatus } from '../../core/model';
import { measureWatch, WatchCheckpointEvent } from '../../core/tasks/evaluate-alarms/evaluate-alarms';
import { validateInput, ValidateInputEvent } from '../../core/tasks/validate-input/validate-input';
import type { TaskCall } from '../../local/engine/engine';
import type { Json } from '../../statemachines/definition';
import { alarmsIn } from '../support/builders';
import { scriptedMetrics, type ScriptedAnswer } from '../support/metric-queries';
import { defaultWith, ending, failure, lambdaCause, NEW_VERSION, RUNNING, runScripted, type Script, testConfig, watchConfig, watchInput, watchStatus } from './harness';

const CLOCK = { now: () => new Date('2025-03-04T10:00:00.000Z') };
const WATCH_INPUT: Json = watchInput();
const P95 = { name: 'p95', provider: { kind: 'prometheus', url: 'https://prometheus.example.com', query: 'p95' }, successCondition: 'result <= baseline * 2' };
const watched = watchConfig;

/** The real checkpoint logic as MeasureWatchCheckpoint's handler, p95 answering `answers` against the baseline 0.2. */
const measuring =
  (...answers: ScriptedAnswer[]): Script =>
  (call: TaskCall) =>
    measureWatch(WatchCheckpointEvent.parse(call.event), { metrics: scriptedMetrics({ p95: answers }), clock: CLOCK });

const FAILED_P95 = 'Metric p95: 1 failed measurement(s), the last at check 2: 0.9 does not meet "result <= baseline * 2" (baseline 0.2, so <= 0.4)';
const WATCH_STEPS = ['ValidateInput', 'CheckWatch', 'MeasureWatchCheckpoint', 'RecordWatchCheckpoint'];
const LOCK_STATES = ['AcquireLock', 'ReleaseLock', 'ReleaseLockAfterRollback', 'ReleaseLockNoRollback', 'KeepLockForHuman'];

describe('a checkpoint of the post-release watch', () => {
  it('measures and records a passing checkpoint without the lock, and ends WatchPassed', async () => {
    const run = await runScripted({ config: watched(), input: WATCH_INPUT, tasks: { MeasureWatchCheckpoint: measuring(0.3) } });

    expect(ending(run)).toEqual({ status: 'SUCCEEDED', terminal: 'WatchPassed', error: null, cause: null });
    expect(run.states).toEqual(WATCH_STEPS);
    expect(run.log.event('CheckWatch')).toMatchObject({ operation: 'check-watch', config: { name: 'shop-api', rollbackWindowHours: 8, analysis: { watch: { everyMinutes: 60 } } }, deployment: { action: 'watch' } });
    expect(run.log.event('MeasureWatchCheckpoint')).toMatchObject({ operation: 'watch-checkpoint', config: { analysis: { metrics: [{ name: 'p95' }] }, smokeTests: {} }, watch: { decision: 'measure', checkpoint: 2 } });
    expect(run.log.event('RecordWatchCheckpoint')).toMatchObject({ operation: 'record-checkpoint', checkpoint: { decision: 'passed', checkpoint: 2, releaseId: 'ci-release-1-5-0-0badc0de', patch: null } });
  });

  it.each<WatchStatus['decision']>(['no-release', 'rolled-back', 'superseded', 'window-closed', 'deployment-running'])(
    'ends WatchNotNeeded when CheckWatch says %s: nothing measured, no lock taken',
    async (decision) => {
      const run = await runScripted({ config: watched(), input: WATCH_INPUT, tasks: { CheckWatch: watchStatus(decision, `why: ${decision}`) as unknown as Json } });

      expect(ending(run)).toEqual({ status: 'SUCCEEDED', terminal: 'WatchNotNeeded', error: null, cause: null });
      expect(run.states).toEqual(['ValidateInput', 'CheckWatch']);
    },
  );

  it('rolls the release back through the alarm rollback path when a metric fails: lock, single-rollback rule, the checkpoint as the error', async () => {
    const run = await runScripted({ config: watched(), input: WATCH_INPUT, tasks: { MeasureWatchCheckpoint: measuring(0.9) } });

    const cause = `Watch checkpoint 2 of release ${NEW_VERSION}, 120 min after it: ${FAILED_P95}`;
    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'RolledBack', error: 'RolledBack', cause: `rolled back to ${RUNNING.version} after WatchCheckpointFailed: ${cause}` });
    expect(run.states).toEqual([
      ...WATCH_STEPS,
      'AcquireLock',
      'CheckRollbackWindow',
      'RollbackApp',
      'CheckRollback',
      'VerifyRollback',
      'RecordRollback',
      'ReleaseLockAfterRollback',
      'NotifyRolledBack',
    ]);
    expect(run.log.event('RecordWatchCheckpoint')).toMatchObject({ checkpoint: { decision: 'failed', reason: FAILED_P95 } });
    const trigger = { releaseId: 'ci-release-1-5-0-0badc0de', checkpoint: 2, at: '2025-03-04T10:00:00.000Z', metrics: ['p95'], reason: FAILED_P95 };
    expect(run.log.event('AcquireLock')).toMatchObject({ operation: 'acquire', deployment: { action: 'rollback', watch: trigger } });
    expect(run.log.event('CheckRollbackWindow')).toMatchObject({ operation: 'check-window', deployment: { action: 'rollback', alarm: null, watch: trigger } });
    expect(run.log.event('NotifyRolledBack')).toMatchObject({ error: { Error: 'WatchCheckpointFailed', Cause: cause } });
  });

  it('rolls back even when the failed checkpoint could not be recorded', async () => {
    const run = await runScripted({
      config: watched(),
      input: WATCH_INPUT,
      tasks: { MeasureWatchCheckpoint: measuring(0.9), RecordWatchCheckpoint: failure('LedgerConflictError', 'the ledger changed under every attempt') },
    });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'RolledBack' });
    expect(run.states.slice(0, 6)).toEqual([...WATCH_STEPS, 'AcquireLock', 'CheckRollbackWindow']);
  });

  it('leaves the target to the execution holding the lock (SkippedLockHeld), as an alarm rollback does', async () => {
    const run = await runScripted({
      config: watched(),
      input: WATCH_INPUT,
      tasks: { MeasureWatchCheckpoint: measuring(0.9), AcquireLock: failure('DeploymentInProgressError', 'deploy-v1-6-0 holds the lock') },
    });

    expect(ending(run)).toEqual({ status: 'SUCCEEDED', terminal: 'SkippedLockHeld', error: null, cause: null });
    expect(run.states).toEqual([...WATCH_STEPS, 'AcquireLock']);
  });

  it('reports without rolling back when the single-rollback rule refuses (already rolled back, superseded)', async () => {
    const run = await runScripted({
      config: watched(),
      input: WATCH_INPUT,
      tasks: { MeasureWatchCheckpoint: measuring(0.9), CheckRollbackWindow: defaultWith({ decision: 'superseded', message: 'v1.6.0 runs now', patch: null }) },
    });

    expect(ending(run)).toEqual({ status: 'SUCCEEDED', terminal: 'NoRollbackNeeded', error: null, cause: null });
    expect(run.states).toEqual([...WATCH_STEPS, 'AcquireLock', 'CheckRollbackWindow', 'NotifyNoRollback', 'ReleaseLockNoRollback']);
  });

  it.each(['CheckWatch', 'MeasureWatchCheckpoint'])('fails WatchUnavailable, touching nothing, when %s fails', async (state) => {
    const error = failure('LedgerDocumentInvalidError', 'the ledger ledger/shop-api.json is not JSON');
    const run = await runScripted({ config: watched(), input: WATCH_INPUT, tasks: { [state]: error } });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'WatchUnavailable', error: 'WatchUnavailable', cause: lambdaCause(error) });
    expect(run.states.filter((s) => LOCK_STATES.includes(s))).toEqual([]);
  });

  it('refuses a watch input when the configuration has no watch, before anything (InvalidInput)', async () => {
    const validate: Script = (call: TaskCall) => validateInput(ValidateInputEvent.parse(call.event), { clock: CLOCK, alarms: alarmsIn('OK', '2025-03-04T09:00:00.000Z') });
    const refused = await runScripted({ config: testConfig({ analysis: { metrics: [P95] } }), input: WATCH_INPUT, tasks: { ValidateInput: validate } });
    expect(ending(refused)).toMatchObject({ status: 'FAILED', terminal: 'InvalidInput' });
    expect(refused.cause).toContain('action: \\"watch\\" needs analysis.watch in the configuration');

    const accepted = await runScripted({ config: watched(), input: WATCH_INPUT, tasks: { ValidateInput: validate } });
    expect(accepted.states).toEqual(WATCH_STEPS);
    expect(accepted.log.event('CheckWatch').deployment).toMatchObject({ action: 'watch', version: null, requestedBy: 'post-release watch schedule', alarm: null });
  });
});
