import { analysisMetric, NO_METRICS, scriptedMetrics } from '../../../support/metric-queries';
import { CloudWatchClient, CloudWatchServiceException, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CloudWatchAlarmSource } from '../../../../adapters/aws/cloudwatch-alarms';
import { evaluateAlarms, EvaluateAlarmsEvent } from '../../../../core/tasks/evaluate-alarms/evaluate-alarms';
import type { AlarmSource } from '../../../../core/ports/alarm-source';
import { AlarmStateUnavailableError } from '../../../../core/errors';
import type { AlarmState, BakeState } from '../../../../core/model';
import { TestClock, clientConfig, config, deployment } from '../../../adapters/aws/rds-fixtures';

const FIVE_XX = 'shop-api-5xx-rate';
const LATENCY = 'shop-api-p95-latency';
const clock = new TestClock('2025-03-14T09:30:00.000Z');

/** What StartBake puts in `$.bake`. */
const startBake: BakeState = { checks: 0, startedAt: null, decision: 'healthy', firing: [], newlyFiring: [], firingAtBaseline: [], lastCheckedAt: null, analysis: [], reason: null };

const alarm = (name: string, state: AlarmState['state']): AlarmState => ({ name, state, reason: null, updatedAt: null });

/** An alarm source answering fixed states and remembering what it was asked. */
function fixedAlarms(states: AlarmState[]): AlarmSource & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    asked,
    states: async (names) => {
      asked.push([...names]);
      return states.filter((s) => names.includes(s.name));
    },
  };
}

function event(baseline: AlarmState[], bake: BakeState = startBake, runbookConfig = config()): EvaluateAlarmsEvent {
  return EvaluateAlarmsEvent.parse({ config: runbookConfig, deployment, baseline: { takenAt: '2025-03-14T09:01:00.000Z', alarms: baseline, metrics: [] }, bake, bakeChecks: 10 });
}

describe('evaluateAlarms', () => {
  it('counts the check and stamps the start of the bake on the first evaluation', async () => {
    const alarms = fixedAlarms([alarm(FIVE_XX, 'OK'), alarm(LATENCY, 'OK')]);
    expect(await evaluateAlarms(event([]), { alarms, metrics: NO_METRICS, clock })).toEqual({
      checks: 1,
      startedAt: '2025-03-14T09:30:00.000Z',
      decision: 'healthy',
      firing: [],
      newlyFiring: [],
      firingAtBaseline: [],
      lastCheckedAt: '2025-03-14T09:30:00.000Z',
      analysis: [],
      reason: null,
    });
    expect(alarms.asked).toEqual([[FIVE_XX, LATENCY]]);
  });

  it('keeps the start of the bake on later evaluations', async () => {
    const earlier = { ...startBake, checks: 4, startedAt: '2025-03-14T09:26:00.000Z', lastCheckedAt: '2025-03-14T09:29:00.000Z' };
    const next = await evaluateAlarms(event([], earlier), { alarms: fixedAlarms([alarm(FIVE_XX, 'OK'), alarm(LATENCY, 'OK')]), metrics: NO_METRICS, clock });
    expect(next).toMatchObject({ checks: 5, startedAt: '2025-03-14T09:26:00.000Z', lastCheckedAt: '2025-03-14T09:30:00.000Z' });
  });

  it('regresses on an alarm that fires now and was OK at the baseline', async () => {
    const firing = alarm(FIVE_XX, 'ALARM');
    const next = await evaluateAlarms(event([alarm(FIVE_XX, 'OK'), alarm(LATENCY, 'OK')]), { alarms: fixedAlarms([firing, alarm(LATENCY, 'OK')]), metrics: NO_METRICS, clock });
    expect(next).toMatchObject({ decision: 'regressed', firing: [firing], newlyFiring: [FIVE_XX], firingAtBaseline: [] });
  });

  it('reports an alarm already firing at the baseline without regressing', async () => {
    const next = await evaluateAlarms(event([alarm(LATENCY, 'ALARM'), alarm(FIVE_XX, 'OK')]), {
      alarms: fixedAlarms([alarm(FIVE_XX, 'OK'), alarm(LATENCY, 'ALARM')]),
      metrics: NO_METRICS,
      clock,
    });
    expect(next).toMatchObject({ decision: 'healthy', newlyFiring: [], firingAtBaseline: [LATENCY] });
    expect(next.firing.map((a) => a.name)).toEqual([LATENCY]);
  });

  it('separates the newly firing alarm from the one that fired before the deploy', async () => {
    const next = await evaluateAlarms(event([alarm(LATENCY, 'ALARM'), alarm(FIVE_XX, 'OK')]), {
      alarms: fixedAlarms([alarm(FIVE_XX, 'ALARM'), alarm(LATENCY, 'ALARM')]),
      metrics: NO_METRICS,
      clock,
    });
    expect(next).toMatchObject({ decision: 'regressed', newlyFiring: [FIVE_XX], firingAtBaseline: [LATENCY] });
  });

  it('does not count INSUFFICIENT_DATA as firing', async () => {
    const next = await evaluateAlarms(event([]), { alarms: fixedAlarms([alarm(FIVE_XX, 'INSUFFICIENT_DATA'), alarm(LATENCY, 'OK')]), metrics: NO_METRICS, clock });
    expect(next).toMatchObject({ decision: 'healthy', firing: [], newlyFiring: [] });
  });

  it('treats an alarm missing from the baseline as not firing there', async () => {
    const next = await evaluateAlarms(event([alarm(LATENCY, 'OK')]), { alarms: fixedAlarms([alarm(FIVE_XX, 'ALARM'), alarm(LATENCY, 'OK')]), metrics: NO_METRICS, clock });
    expect(next).toMatchObject({ decision: 'regressed', newlyFiring: [FIVE_XX] });
  });

  it('treats an alarm at INSUFFICIENT_DATA in the baseline as not firing there', async () => {
    const next = await evaluateAlarms(event([alarm(FIVE_XX, 'INSUFFICIENT_DATA')]), { alarms: fixedAlarms([alarm(FIVE_XX, 'ALARM'), alarm(LATENCY, 'OK')]), metrics: NO_METRICS, clock });
    expect(next.newlyFiring).toEqual([FIVE_XX]);
  });

  it('reads the rehearsal rules by name when alarms come from Prometheus', async () => {
    const prometheus = config({
      alarms: { kind: 'prometheus', metricsUrl: 'http://127.0.0.1:8080/metrics', rules: [{ name: 'error-ratio-above-1pct', metric: 'error-ratio', threshold: 0.01 }] },
    });
    const alarms = fixedAlarms([alarm('error-ratio-above-1pct', 'ALARM')]);
    const next = await evaluateAlarms(event([], startBake, prometheus), { alarms, metrics: NO_METRICS, clock });
    expect(alarms.asked).toEqual([['error-ratio-above-1pct']]);
    expect(next.newlyFiring).toEqual(['error-ratio-above-1pct']);
  });

  it('asks nothing and stays healthy when no alarm is configured', async () => {
    const alarms = fixedAlarms([]);
    const next = await evaluateAlarms(event([], startBake, config({ alarms: { kind: 'cloudwatch', names: [] } })), { alarms, metrics: NO_METRICS, clock });
    expect(alarms.asked).toEqual([]);
    expect(next).toMatchObject({ checks: 1, decision: 'healthy' });
  });

  it('fails when CloudWatch throttles past its retries, so the state machine retries and then rolls back', async () => {
    const client = new CloudWatchClient(clientConfig);
    mockClient(client)
      .on(DescribeAlarmsCommand)
      .rejects(new CloudWatchServiceException({ name: 'ThrottlingException', message: 'Rate exceeded', $fault: 'client', $metadata: {} }));
    await expect(evaluateAlarms(event([]), { alarms: new CloudWatchAlarmSource(client), metrics: NO_METRICS, clock })).rejects.toThrow(AlarmStateUnavailableError);
  });

  it('fails when a configured alarm is missing from CloudWatch', async () => {
    const client = new CloudWatchClient(clientConfig);
    mockClient(client).on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: FIVE_XX, StateValue: 'OK' }] });
    await expect(evaluateAlarms(event([]), { alarms: new CloudWatchAlarmSource(client), metrics: NO_METRICS, clock })).rejects.toThrow(`"${LATENCY}"`);
  });

  it('regresses exactly when some alarm fires now that did not fire at the baseline', async () => {
    const stateValue = fc.constantFrom<AlarmState['state']>('OK', 'ALARM', 'INSUFFICIENT_DATA');
    const names = [FIVE_XX, LATENCY];
    await fc.assert(
      fc.asyncProperty(fc.tuple(stateValue, stateValue), fc.tuple(fc.option(stateValue), fc.option(stateValue)), async (now, before) => {
        const current = names.map((name, i) => alarm(name, now[i]));
        const baseline = names.flatMap((name, i) => (before[i] === null ? [] : [alarm(name, before[i])]));
        const next = await evaluateAlarms(event(baseline), { alarms: fixedAlarms(current), metrics: NO_METRICS, clock });
        const expectedNew = names.filter((_, i) => now[i] === 'ALARM' && before[i] !== 'ALARM');
        expect(next.newlyFiring).toEqual(expectedNew);
        expect(next.decision).toBe(expectedNew.length > 0 ? 'regressed' : 'healthy');
        expect([...next.newlyFiring, ...next.firingAtBaseline].sort()).toEqual(next.firing.map((a) => a.name).sort());
      }),
    );
  });
});

describe('evaluateAlarms: analysis metrics', () => {
  const p95 = analysisMetric({ successCondition: 'result <= baseline * 1.2' });
  const healthy = () => fixedAlarms([alarm(FIVE_XX, 'OK'), alarm(LATENCY, 'OK')]);

  /** An evaluation of a 3-check bake measuring p95 (baseline 0.2 s) at every check. */
  function analysisEvent(bake: BakeState = startBake): EvaluateAlarmsEvent {
    return EvaluateAlarmsEvent.parse({
      config: config({ analysis: { metrics: [p95] }, bake: { durationSeconds: 180, pollSeconds: 60 } }),
      baseline: { takenAt: '2025-03-14T09:01:00.000Z', alarms: [], metrics: [{ name: 'p95', value: 0.2, at: '2025-03-14T09:01:00.000Z' }] },
      bake,
      bakeChecks: 3,
    });
  }

  it('stays healthy while the metric passes, carrying its record to the next evaluation', async () => {
    const metrics = scriptedMetrics({ p95: [0.22] });
    const next = await evaluateAlarms(analysisEvent(), { alarms: healthy(), metrics, clock });

    expect(next).toMatchObject({ checks: 1, decision: 'healthy', reason: null });
    expect(next.analysis).toEqual([
      {
        name: 'p95',
        condition: 'pass: result <= baseline * 1.2',
        baseline: 0.2,
        dryRun: false,
        measurements: [{ check: 1, at: '2025-03-14T09:30:00.000Z', value: 0.22, outcome: 'success', detail: null }],
        failures: 0,
        consecutiveErrors: 0,
        verdict: 'passing',
      },
    ]);
    const second = await evaluateAlarms(analysisEvent(next), { alarms: healthy(), metrics, clock });
    expect(second.analysis[0].measurements.map((m) => m.check)).toEqual([1, 2]);
  });

  it('regresses when a metric fails, the reason naming the metric, its value and the bound', async () => {
    const next = await evaluateAlarms(analysisEvent(), { alarms: healthy(), metrics: scriptedMetrics({ p95: [0.6] }), clock });

    expect(next).toMatchObject({ decision: 'regressed', newlyFiring: [], firing: [] });
    expect(next.reason).toBe('Metric p95: 1 failed measurement(s), the last at check 1: 0.6 does not meet "result <= baseline * 1.2" (baseline 0.2, so <= 0.24)');
  });

  it('names both a newly firing alarm and a failed metric in the reason', async () => {
    const next = await evaluateAlarms(analysisEvent(), { alarms: fixedAlarms([alarm(FIVE_XX, 'ALARM'), alarm(LATENCY, 'OK')]), metrics: scriptedMetrics({ p95: [0.6] }), clock });

    expect(next.decision).toBe('regressed');
    expect(next.reason).toBe(`New alarm(s) during the bake: ${FIVE_XX}; metric p95: 1 failed measurement(s), the last at check 1: 0.6 does not meet "result <= baseline * 1.2" (baseline 0.2, so <= 0.24)`);
  });

  it('regresses at the last evaluation when the metric never passed', async () => {
    const inconclusive = { ...p95, noData: 'inconclusive' as const };
    const event = (bake: BakeState) => EvaluateAlarmsEvent.parse({ ...analysisEvent(bake), config: config({ analysis: { metrics: [inconclusive] }, bake: { durationSeconds: 180, pollSeconds: 60 } }) });
    const metrics = scriptedMetrics({ p95: [null] });
    let bake = startBake;
    const decisions: string[] = [];
    for (let check = 1; check <= 3; check += 1) {
      bake = await evaluateAlarms(event(bake), { alarms: healthy(), metrics, clock });
      decisions.push(bake.decision);
    }
    expect(decisions).toEqual(['healthy', 'healthy', 'regressed']);
    expect(bake.reason).toBe('Metric p95: no measurement passed (no data (noData: inconclusive))');
  });

  it('stays healthy when only a dry-run metric fails', async () => {
    const event = EvaluateAlarmsEvent.parse({ ...analysisEvent(), config: config({ analysis: { metrics: [{ ...p95, dryRun: true }] }, bake: { durationSeconds: 180, pollSeconds: 60 } }) });
    const next = await evaluateAlarms(event, { alarms: healthy(), metrics: scriptedMetrics({ p95: [0.6] }), clock });
    expect(next).toMatchObject({ decision: 'healthy', reason: null });
    expect(next.analysis[0]).toMatchObject({ dryRun: true, verdict: 'failed' });
  });
});
