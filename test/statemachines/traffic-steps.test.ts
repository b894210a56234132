import { describe, expect, it } from 'vitest';
import { DeploymentFailedError } from '../../core/errors';
import { defaultWith, ending, lambdaAliasConfig, lambdaCause, lambdaInput, rollbackTail, runScripted, sequence } from './harness';

/** Up to the version being ready: the alias untouched so far. */
const PUBLISHED = ['ValidateInput', 'AcquireLock', 'NotifyStarted', 'Preflight', 'Deploy', 'CheckDeployment'];
/** The first step: its weight, its smoke tests and its two evaluations (2 minutes baked every 60 s). */
const FIRST_STEP = ['ShiftTraffic', 'SmokeTestStep', 'EvaluateStepAlarms', 'EvaluateStepAlarms'];
const TAIL_RELEASED = ['SmokeTest', 'EvaluateAlarms', 'EvaluateAlarms', 'EvaluateAlarms', 'RecordRelease', 'ReleaseLock', 'NotifySucceeded'];

describe('a lambda-alias target shifting traffic in steps', () => {
  it('gives each step its weight, smoke-tests and bakes it for its minutes, then bakes the last step (100 %) as configured', async () => {
    const run = await runScripted({ config: lambdaAliasConfig(), input: lambdaInput() });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual([
      ...PUBLISHED,
      ...FIRST_STEP,
      'ShiftTraffic',
      'SmokeTestStep',
      'EvaluateStepAlarms',
      'ShiftTraffic',
      ...TAIL_RELEASED,
    ]);
    const shifts = run.log.callsTo('ShiftTraffic').map((c) => c.event as { traffic: { given: number }; rollbackTo: unknown; config: { bake: unknown } });
    expect(shifts.map((e) => e.traffic.given)).toEqual([0, 1, 2]);
    expect(shifts[0]).toMatchObject({ operation: 'shift', config: { bake: { durationSeconds: 180, pollSeconds: 60 } }, handle: { kind: 'ecs' }, rollbackTo: { ref: expect.any(String) } });
    // Each step's evaluations are judged against the step's own length; the last bake against the configured one.
    expect(run.log.callsTo('EvaluateStepAlarms').map((c) => (c.event as { bakeChecks: number }).bakeChecks)).toEqual([2, 2, 1]);
    expect(run.log.callsTo('EvaluateAlarms').map((c) => (c.event as { bakeChecks: number }).bakeChecks)).toEqual([3, 3, 3]);
    expect(run.log.event('RecordRelease')).toMatchObject({
      traffic: { given: 3, total: 3, percent: 100, history: [{ percent: 10 }, { percent: 50 }, { percent: 100 }] },
    });
  });

  it('shifts all at once and bakes as any target with AllAtOnce', async () => {
    const run = await runScripted({ config: lambdaAliasConfig('AllAtOnce'), input: lambdaInput() });

    expect(run.states).toEqual([...PUBLISHED, 'ShiftTraffic', ...TAIL_RELEASED]);
  });

  it('rolls back when an alarm fires during a step, with the weights given so far in the record', async () => {
    const run = await runScripted({
      config: lambdaAliasConfig('Canary10Percent5Minutes'),
      input: lambdaInput(),
      tasks: { EvaluateStepAlarms: sequence(defaultWith({}), defaultWith({ decision: 'regressed', reason: 'alarm shop-fn-errors entered ALARM' })) },
    });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'RolledBack' });
    expect(run.states).toEqual([...PUBLISHED, ...FIRST_STEP, ...rollbackTail(false)]);
    expect(run.log.event('RecordRollback')).toMatchObject({ error: { Error: 'AlarmFired' }, traffic: { given: 1, percent: 10 } });
  });

  it('rolls back when a step fails its smoke tests, before any bake of that step', async () => {
    const run = await runScripted({ config: lambdaAliasConfig(), input: lambdaInput(), tasks: { SmokeTestStep: defaultWith({ passed: false, summary: 'health: 500' }) } });

    expect(ending(run)).toMatchObject({ terminal: 'RolledBack' });
    expect(run.log.callsTo('EvaluateStepAlarms')).toEqual([]);
    expect(run.states.slice(6, 9)).toEqual(['ShiftTraffic', 'SmokeTestStep', 'RollbackApp']);
  });

  it('rolls back when a weight cannot be set', async () => {
    const error = new DeploymentFailedError('UpdateAlias refused: ResourceConflictException');
    const run = await runScripted({ config: lambdaAliasConfig(), input: lambdaInput(), tasks: { ShiftTraffic: error } });

    expect(ending(run)).toMatchObject({ terminal: 'RolledBack' });
    expect(run.log.event('RecordRollback')).toMatchObject({ error: { Error: 'DeploymentFailedError', Cause: lambdaCause(error) } });
  });
});
