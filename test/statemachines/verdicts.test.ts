import { describe, expect, it } from 'vitest';
import { AlarmStateUnavailableError } from '../../core/errors';
import type { TaskCall } from '../../local/engine/engine';
import {
  BAKE_CHECKS,
  byDefault,
  defaultResult,
  defaultWith,
  deployInput,
  ending,
  happyPath,
  happyPathThrough,
  lambdaCause,
  RESTORE_CALLS,
  ROLLBACK_FAILED_TAIL,
  rollbackTail,
  runScripted,
  sequence,
  testConfig,
} from './harness';

const SUMMARY = '2 of 5 checks failed: login (status 500, expected 200); profile with token (latency 912 ms > 500 ms)';

/** The bake evaluation a regression produces: the 5xx alarm fires, which it did not at the baseline. */
function regressed(call: TaskCall): unknown {
  const firing = { name: 'shop-api-5xx-rate', state: 'ALARM', reason: 'Threshold Crossed: 1 datapoint [4.2] > 1.0', updatedAt: '2025-03-04T10:02:00.000Z' };
  return { ...(defaultResult(call) as object), decision: 'regressed', firing: [firing], newlyFiring: ['shop-api-5xx-rate'], reason: 'New alarm(s) during the bake: shop-api-5xx-rate' };
}

describe('the smoke test verdict', () => {
  it('fails when a smoke check fails: rolled back, the summary carried as the cause', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { SmokeTest: defaultWith({ passed: false, summary: SUMMARY }) } });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'RolledBack', error: 'RolledBack', cause: `rolled back to v1.4.2 after SmokeTestFailed: ${SUMMARY}` });
    expect(run.states).toEqual([...happyPathThrough('SmokeTest'), ...rollbackTail(true)]);
    expect(run.log.event('RecordRollback').error).toEqual({ Error: 'SmokeTestFailed', Cause: SUMMARY });
    expect(run.log.event('RecordRollback')).toMatchObject({ error: { Error: 'SmokeTestFailed', Cause: SUMMARY }, smoke: { passed: false, summary: SUMMARY } });
    expect(run.log.callsTo('EvaluateAlarms')).toEqual([]);
  });

  it('fails when the smoke tests after the rollback fail too: RollbackFailed with their summary, the lock kept', async () => {
    const after = '1 of 5 checks failed: health (status 503, expected 200)';
    const run = await runScripted({
      config: testConfig(),
      input: deployInput(),
      tasks: { SmokeTest: defaultWith({ passed: false, summary: SUMMARY }), VerifyRollback: defaultWith({ passed: false, summary: after }) },
    });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'RollbackFailed', error: 'RollbackFailed', cause: after });
    expect(run.states).toEqual([...happyPathThrough('SmokeTest'), 'RollbackApp', 'CheckRollback', ...RESTORE_CALLS, 'VerifyRollback', ...ROLLBACK_FAILED_TAIL]);
    expect(run.log.event('KeepLockForHuman').rollbackError).toEqual({ Error: 'RollbackVerificationFailed', Cause: after });
  });
});

describe('the bake verdict', () => {
  it('fails when an alarm fires on the 2nd evaluation: AlarmFired, rolled back with no further evaluation', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { EvaluateAlarms: sequence(byDefault, regressed) } });

    const cause = 'New alarm(s) during the bake: shop-api-5xx-rate';
    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'RolledBack', error: 'RolledBack', cause: `rolled back to v1.4.2 after AlarmFired: ${cause}` });
    expect(run.states).toEqual([...happyPathThrough('SmokeTest'), 'EvaluateAlarms', 'EvaluateAlarms', ...rollbackTail(true)]);
    expect(run.log.event('RecordRollback').error).toEqual({ Error: 'AlarmFired', Cause: cause });
    expect(run.log.event('EvaluateAlarms', 1).bake).toMatchObject({ checks: 1, decision: 'healthy' });
    expect(run.log.callsTo('RecordRelease')).toEqual([]);
  });

  it('fails when the alarm states stay unreadable: retried 3 times (4 calls), then rolled back (fail closed)', async () => {
    const unreadable = new AlarmStateUnavailableError('DescribeAlarms failed for shop-api-5xx-rate: ThrottlingException');
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { EvaluateAlarms: unreadable } });

    expect(ending(run)).toEqual({
      status: 'FAILED',
      terminal: 'RolledBack',
      error: 'RolledBack',
      cause: `rolled back to v1.4.2 after AlarmStateUnavailableError: ${unreadable.message}`,
    });
    expect(run.log.callsTo('EvaluateAlarms')).toHaveLength(4);
    expect(run.states).toEqual([...happyPathThrough('SmokeTest'), ...Array<string>(4).fill('EvaluateAlarms'), ...rollbackTail(true)]);
    expect(run.log.event('RecordRollback').error).toEqual({ Error: 'AlarmStateUnavailableError', Cause: lambdaCause(unreadable) });
  });

  it('keeps baking when the alarm states come back within the retries', async () => {
    const unreadable = new AlarmStateUnavailableError('DescribeAlarms timed out');
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { EvaluateAlarms: sequence(unreadable, unreadable, unreadable, byDefault) } });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.log.callsTo('EvaluateAlarms')).toHaveLength(BAKE_CHECKS + 3);
  });

  it('succeeds when the alarms stay healthy for every evaluation, however long the bake', async () => {
    const run = await runScripted({ config: testConfig({ bake: { durationSeconds: 600, pollSeconds: 60 } }), input: deployInput() });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual(happyPath(10));
    expect(run.log.event('RecordRelease').bake).toMatchObject({ checks: 10, decision: 'healthy' });
  });
});
