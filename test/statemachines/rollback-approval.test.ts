import { describe, expect, it } from 'vitest';
import { measureWatch, WatchCheckpointEvent } from '../../core/tasks/evaluate-alarms/evaluate-alarms';
import { NotifyEvent } from '../../core/tasks/notify/notify';
import { RollbackApprovalTask } from '../../core/rollback-approval';
import type { TaskCall } from '../../local/engine/engine';
import { scriptedMetrics } from '../support/metric-queries';
import {
  alarmInput,
  askingConfig,
  defaultWith,
  deployInput,
  ending,
  failure,
  happyPathThrough,
  KEPT_TAIL,
  lambdaAliasConfig,
  lambdaInput,
  NEW_VERSION,
  RUNNING,
  rollbackTail,
  runScripted,
  type Script,
  sequence,
  testConfig,
  watchConfig,
  watchInput,
} from './harness';

const SMOKE_FAILS = { SmokeTest: defaultWith({ passed: false, summary: '1 of 5 checks failed: login (status 500, expected 200)' }) };
const ASKED = ['RequestRollbackApproval', 'AwaitRollbackApproval'];
const REJECTED = { approved: false, by: 'lead@example.com', comment: 'customers need the new checkout; fixing forward' };
const APPROVED = { approved: true, by: 'lead@example.com', comment: null };

describe('the rollback approval (rollbackApproval.required)', () => {
  it('is not asked when not required: a failed smoke test rolls back at once', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: SMOKE_FAILS });

    expect(ending(run)).toMatchObject({ terminal: 'RolledBack' });
    expect(run.states).toEqual([...happyPathThrough('SmokeTest'), ...rollbackTail(true)]);
  });

  it('asks a person after a failed smoke test and rolls back once approved, the decision in the record', async () => {
    const run = await runScripted({ config: askingConfig(), input: deployInput(), tasks: { ...SMOKE_FAILS, AwaitRollbackApproval: APPROVED } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'RolledBack' });
    expect(run.states).toEqual([...happyPathThrough('SmokeTest'), ...ASKED, ...rollbackTail(true)]);
    const asked = run.log.event('RequestRollbackApproval');
    expect(asked).toMatchObject({
      event: 'rollback-approval-requested',
      config: { name: 'shop-api', rollbackApproval: { required: true, timeoutMinutes: 20, onTimeout: 'rollback' } },
      deployment: { executionId: run.executionId, version: NEW_VERSION },
      release: { version: NEW_VERSION },
      rollbackTo: RUNNING,
      error: { Error: 'SmokeTestFailed' },
    });
    expect(NotifyEvent.safeParse(asked).success).toBe(true);
    const [waiting] = run.log.callsTo('AwaitRollbackApproval');
    expect(waiting.event).toEqual({ kind: 'rollback-approval', execution: run.executionId, target: 'shop-api', version: NEW_VERSION, rollbackTo: RUNNING.version, reason: 'SmokeTestFailed' });
    expect(RollbackApprovalTask.safeParse(waiting.event).success).toBe(true);
    expect(run.log.event('RecordRollback')).toMatchObject({ rollbackApproval: APPROVED, rollbackApprovalError: null });
  });

  it('keeps the release when the person rejects the rollback: nothing rolled back, recorded, lock released, ends ReleaseKept', async () => {
    const run = await runScripted({ config: askingConfig(), input: deployInput(), tasks: { ...SMOKE_FAILS, AwaitRollbackApproval: REJECTED } });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'ReleaseKept', error: 'ReleaseKept', cause: `kept ${NEW_VERSION} after SmokeTestFailed` });
    expect(run.states).toEqual([...happyPathThrough('SmokeTest'), ...ASKED, ...KEPT_TAIL]);
    expect(run.log.callsTo('RollbackApp')).toEqual([]);
    expect(run.log.event('RecordKept')).toMatchObject({ operation: 'record-kept', rollbackApproval: REJECTED, error: { Error: 'SmokeTestFailed' }, release: { version: NEW_VERSION } });
    expect(run.log.event('ReleaseLockAfterKeep')).toMatchObject({ operation: 'release' });
    expect(run.log.event('NotifyKept')).toMatchObject({ event: 'kept', outcome: { result: 'kept' } });
  });

  it.each([
    ['rollback', 'RolledBack', [...ASKED, ...rollbackTail(true)]],
    ['keep', 'ReleaseKept', [...ASKED, ...KEPT_TAIL]],
  ] as const)('follows onTimeout %s when nobody answers in time', async (onTimeout, terminal, tail) => {
    const timeout = failure('States.Timeout', 'the activity task timed out after 1200 seconds');
    const run = await runScripted({ config: askingConfig(onTimeout), input: deployInput(), tasks: { ...SMOKE_FAILS, AwaitRollbackApproval: timeout } });

    expect(ending(run)).toMatchObject({ terminal });
    expect(run.states).toEqual([...happyPathThrough('SmokeTest'), ...tail]);
    const recorded = run.log.event(onTimeout === 'keep' ? 'RecordKept' : 'RecordRollback');
    expect(recorded).toMatchObject({ rollbackApproval: null, rollbackApprovalError: { Error: 'States.Timeout' } });
  });

  it('treats a request handed back by another execution\'s CLI (ApprovalMisdirected) as no answer', async () => {
    const run = await runScripted({ config: askingConfig('keep'), input: deployInput(), tasks: { ...SMOKE_FAILS, AwaitRollbackApproval: failure('ApprovalMisdirected', 'taken for another execution') } });

    expect(ending(run)).toMatchObject({ terminal: 'ReleaseKept' });
  });

  it('asks when the bake regresses after the release runs everywhere', async () => {
    const run = await runScripted({
      config: askingConfig(),
      input: deployInput(),
      tasks: { EvaluateAlarms: sequence(defaultWith({}), defaultWith({ decision: 'regressed', reason: 'alarm shop-api-5xx-rate entered ALARM' })), AwaitRollbackApproval: REJECTED },
    });

    expect(ending(run)).toMatchObject({ terminal: 'ReleaseKept' });
    expect(run.log.event('AwaitRollbackApproval')).toMatchObject({ reason: 'AlarmFired' });
  });

  it.each([
    ['the rollout fails', { CheckDeployment: failure('DeploymentFailedError', 'circuit breaker: 3 tasks failed to start') }],
    ['the migrations fail', { CheckMigrations: failure('MigrationFailedError', 'exit code 1') }],
  ])('does not ask when %s: a half-done release is rolled back at once', async (_case, tasks) => {
    const run = await runScripted({ config: askingConfig('keep'), input: deployInput(), tasks });

    expect(ending(run)).toMatchObject({ terminal: 'RolledBack' });
    expect(run.states.filter((state) => ASKED.includes(state))).toEqual([]);
  });

  it('does not ask at a partial canary weight, but asks once the alias serves the new version alone', async () => {
    const stepFails = await runScripted({ config: { ...lambdaAliasConfig(), rollbackApproval: { required: true, timeoutMinutes: 20, onTimeout: 'keep' } }, input: lambdaInput(), tasks: { SmokeTestStep: defaultWith({ passed: false, summary: 'health: 500' }) } });
    expect(ending(stepFails)).toMatchObject({ terminal: 'RolledBack' });
    expect(stepFails.states.filter((state) => ASKED.includes(state))).toEqual([]);

    const finalFails = await runScripted({ config: { ...lambdaAliasConfig(), rollbackApproval: { required: true, timeoutMinutes: 20, onTimeout: 'keep' } }, input: lambdaInput(), tasks: { SmokeTest: defaultWith({ passed: false, summary: 'health: 500' }), AwaitRollbackApproval: APPROVED } });
    expect(ending(finalFails)).toMatchObject({ terminal: 'RolledBack' });
    expect(finalFails.states).toEqual(expect.arrayContaining(ASKED));
  });

  it('asks before an alarm rollback within the window, and keeps the release when rejected', async () => {
    const run = await runScripted({ config: askingConfig(), input: alarmInput(), tasks: { AwaitRollbackApproval: REJECTED } });

    expect(ending(run)).toMatchObject({ terminal: 'ReleaseKept' });
    expect(run.states).toEqual(['ValidateInput', 'AcquireLock', 'CheckRollbackWindow', ...ASKED, ...KEPT_TAIL]);
    expect(run.log.event('AwaitRollbackApproval')).toMatchObject({ reason: 'AlarmFired', version: NEW_VERSION });
  });

  it('asks before the rollback of a failed watch checkpoint', async () => {
    const measuring: Script = (call: TaskCall) =>
      measureWatch(WatchCheckpointEvent.parse(call.event), { metrics: scriptedMetrics({ p95: [0.9] }), clock: { now: () => new Date('2025-03-04T10:00:00.000Z') } });
    const run = await runScripted({ config: { ...watchConfig(), rollbackApproval: { required: true, timeoutMinutes: 20, onTimeout: 'rollback' } }, input: watchInput(), tasks: { MeasureWatchCheckpoint: measuring, AwaitRollbackApproval: APPROVED } });

    expect(ending(run)).toMatchObject({ terminal: 'RolledBack' });
    expect(run.states).toEqual(expect.arrayContaining(['CheckRollbackWindow', ...ASKED, 'RollbackApp']));
    expect(run.log.event('AwaitRollbackApproval')).toMatchObject({ reason: 'WatchCheckpointFailed' });
  });

  it('does not ask before a rollback asked for by hand: that is a decision already', async () => {
    const run = await runScripted({ config: askingConfig('keep'), input: { action: 'rollback', requestedBy: 'lead@example.com', reason: 'checkout broken' } });

    expect(ending(run)).toMatchObject({ terminal: 'RolledBack' });
    expect(run.states).toEqual(['ValidateInput', 'AcquireLock', 'CheckRollbackWindow', 'RollbackApp', 'CheckRollback', 'VerifyRollback', 'RecordRollback', 'ReleaseLockAfterRollback', 'NotifyRolledBack']);
  });
});
