import { describe, expect, it } from 'vitest';
import { PreflightFailedError } from '../../core/errors';
import type { AlarmSource } from '../../core/ports/alarm-source';
import type { DatabaseBackups } from '../../core/ports/database-backups';
import type { DeployTarget } from '../../core/ports/deploy-target';
import { evaluateAlarms, EvaluateAlarmsEvent } from '../../core/tasks/evaluate-alarms/evaluate-alarms';
import { PreflightEvent, runPreflight } from '../../core/tasks/preflight/preflight';
import type { TaskCall } from '../../local/engine/engine';
import { type ScriptedAnswer, scriptedMetrics } from '../support/metric-queries';
import { ABORT_TAIL, BAKE_CHECKS, deployInput, ending, happyPath, happyPathThrough, lambdaCause, NOW, rollbackTail, RUNNING, runScripted, type Scripts, testConfig } from './harness';

/**
 * The analysis decides through the real Preflight and EvaluateAlarms logic, the metrics scripted: the ASL
 * carries the baselines and the records from one evaluation to the next, and a failed metric ends the bake.
 */

const clock = { now: () => new Date(NOW) };
const alarmsOk: AlarmSource = { states: async (names) => names.map((name) => ({ name, state: 'OK', reason: null, updatedAt: NOW })) };

/** The example configuration, its 3-check bake measuring p95 latency against the baseline (at most 20 % worse). */
function analysisConfig() {
  return testConfig({
    analysis: {
      metrics: [
        {
          name: 'p95',
          provider: { kind: 'prometheus', url: 'https://prometheus.example.com', query: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))' },
          successCondition: 'result <= baseline * 1.2',
        },
      ],
    },
  });
}

/** A target and database fit for a deploy; any change they are asked for fails the test. */
function fitTarget(): DeployTarget {
  const refused = () => Promise.reject(new Error('the preflight must not change anything'));
  return { preflight: async () => [], current: async () => RUNNING, deploy: refused, status: refused, rollback: refused };
}
const fitDatabase: DatabaseBackups = {
  describe: async () => ({ kind: 'rds-instance', identifier: 'shop-prod-db', arn: null, engine: 'postgres', engineVersion: '16.4', status: 'available', encrypted: true, sizeBytes: 1 }),
  quota: async () => ({ used: 1, max: 100 }),
  find: () => Promise.reject(new Error('not used')),
  create: () => Promise.reject(new Error('not used')),
  verify: () => Promise.reject(new Error('not used')),
};

/** Preflight and EvaluateAlarms served by the task logic itself, reading p95 from `answers` in order. */
function measured(answers: ScriptedAnswer[]): { tasks: Scripts; metrics: ReturnType<typeof scriptedMetrics> } {
  const metrics = scriptedMetrics({ p95: answers });
  const tasks: Scripts = {
    Preflight: (call: TaskCall) =>
      runPreflight(PreflightEvent.parse(call.event), { target: fitTarget(), backups: fitDatabase, alarms: alarmsOk, secrets: { resolve: async () => 'not-shown' }, metrics, clock }),
    EvaluateAlarms: (call: TaskCall) => evaluateAlarms(EvaluateAlarmsEvent.parse(call.event), { alarms: alarmsOk, metrics, clock }),
  };
  return { tasks, metrics };
}

describe('analysis metrics in the runbook', () => {
  it('keeps the release when the metric stays within 20 % of its baseline at every check', async () => {
    const { tasks, metrics } = measured([0.2, 0.21, 0.22, 0.24]);
    const run = await runScripted({ config: analysisConfig(), input: deployInput(), tasks });

    expect(ending(run)).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(run.states).toEqual(happyPath());
    expect(metrics.asked).toHaveLength(1 + BAKE_CHECKS);
    const last = run.log.event('RecordRelease').bake;
    expect(last.analysis).toMatchObject([{ name: 'p95', baseline: 0.2, verdict: 'passing', measurements: [{ check: 1 }, { check: 2 }, { check: 3 }] }]);
  });

  it('rolls back through AlarmFired when the metric fails during the bake, the cause naming it', async () => {
    const run = await runScripted({ config: analysisConfig(), input: deployInput(), tasks: measured([0.2, 0.21, 0.6]).tasks });

    const reason = 'Metric p95: 1 failed measurement(s), the last at check 2: 0.6 does not meet "result <= baseline * 1.2" (baseline 0.2, so <= 0.24)';
    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'RolledBack', error: 'RolledBack', cause: `rolled back to v1.4.2 after AlarmFired: ${reason}` });
    expect(run.states).toEqual([...happyPathThrough('SmokeTest'), 'EvaluateAlarms', 'EvaluateAlarms', ...rollbackTail(true)]);
    expect(run.log.event('RecordRollback').error).toEqual({ Error: 'AlarmFired', Cause: reason });
    expect(run.log.callsTo('RecordRelease')).toEqual([]);
  });

  it('aborts before anything changes when the baseline query fails, naming the metric and the provider’s error', async () => {
    const why = 'Prometheus refused the query (HTTP 400): bad_data: 1:27: parse error: unclosed left parenthesis';
    const run = await runScripted({ config: analysisConfig(), input: deployInput(), tasks: measured([{ error: why }]).tasks });

    const message = `pre-flight failed for shop-api (1 check(s)): metric p95: the prometheus query failed: ${why}`;
    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'DeploymentAborted', error: 'DeploymentAborted', cause: lambdaCause(new PreflightFailedError(message)) });
    expect(run.states).toEqual([...happyPathThrough('Preflight'), ...ABORT_TAIL]);
  });
});
