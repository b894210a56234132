import { describe, expect, it } from 'vitest';
import { EvaluateAlarmsFunctionEvent, isWatchCheckpoint, measureWatch, type WatchCheckpointEvent } from '../../../../core/tasks/evaluate-alarms/evaluate-alarms';
import type { MetricRecord, ReleaseRecord, WatchStatus } from '../../../../core/model';
import { deploymentFor, executionNamed } from '../../../support/builders';
import { scriptedMetrics, type ScriptedAnswer } from '../../../support/metric-queries';
import { TestClock, config } from '../../../adapters/aws/rds-fixtures';

const clock = new TestClock('2025-03-14T13:00:00.000Z');
const execution = executionNamed('watch-7d1e', '2025-03-14T13:00:00.000Z');
const watchDeployment = deploymentFor(execution, { action: 'watch', version: null, image: null, requestedBy: 'post-release watch schedule' });

const PROMETHEUS = { kind: 'prometheus', url: 'https://prometheus.example.com', query: 'q' };
const METRICS = [
  { name: 'p95', provider: PROMETHEUS, successCondition: 'result <= baseline * 2' },
  { name: 'errors', provider: PROMETHEUS, failureCondition: 'result > 0.01', failureLimit: 1 },
  { name: 'cpu', provider: PROMETHEUS, successCondition: 'result < 70', dryRun: true },
];

const release: ReleaseRecord = {
  deploymentId: 'deploy-v2-1a2b3c4d',
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:shop-api-runbook:deploy-v2',
  version: 'v2',
  image: null,
  ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:42',
  previous: { version: 'v1', image: null, ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:41' },
  snapshot: null,
  migrationsRan: false,
  finishedAt: '2025-03-14T10:00:00.000Z',
  rolledBack: null,
  baselines: [
    { name: 'p95', value: 0.2, at: '2025-03-14T09:01:00.000Z' },
    { name: 'errors', value: 0, at: '2025-03-14T09:01:00.000Z' },
    { name: 'cpu', value: 30, at: '2025-03-14T09:01:00.000Z' },
  ],
};

function status(checkpoint = 3, records: MetricRecord[] = []): WatchStatus {
  return { decision: 'measure', message: 'Checkpoint', release, checkpoint, records, until: '2025-03-14T18:00:00.000Z' };
}

function event(watch: WatchStatus = status()): WatchCheckpointEvent {
  const parsed = EvaluateAlarmsFunctionEvent.parse({
    operation: 'watch-checkpoint',
    config: config({ analysis: { metrics: METRICS, watch: { everyMinutes: 60 } } } as never),
    deployment: watchDeployment,
    execution,
    watch,
  });
  if (!isWatchCheckpoint(parsed)) throw new Error('not parsed as a watch checkpoint');
  return parsed;
}

async function measure(script: Record<string, ScriptedAnswer[]>, watch?: WatchStatus) {
  const metrics = scriptedMetrics(script);
  const result = await measureWatch(event(watch), { metrics, clock });
  return { result, asked: metrics.asked.map((a) => a.name) };
}

describe('measureWatch: a checkpoint of the post-release watch', () => {
  it('measures every deciding metric once against the release baselines and passes; dry-run metrics are not measured', async () => {
    const { result, asked } = await measure({ p95: [0.3], errors: [0] });
    expect(asked.sort()).toEqual(['errors', 'p95']);
    expect(result).toMatchObject({ releaseId: release.deploymentId, version: 'v2', checkpoint: 3, at: '2025-03-14T13:00:00.000Z', execution: 'watch-7d1e', decision: 'passed', reason: null, patch: null });
    expect(result.metrics.map((m) => [m.name, m.baseline, m.verdict, m.measurements])).toEqual([
      ['p95', 0.2, 'passing', [{ check: 3, at: '2025-03-14T13:00:00.000Z', value: 0.3, outcome: 'success', detail: null }]],
      ['errors', 0, 'passing', [{ check: 3, at: '2025-03-14T13:00:00.000Z', value: 0, outcome: 'success', detail: null }]],
    ]);
  });

  it('fails when a metric fails against its baseline, and hands over the rollback request naming the metric', async () => {
    const { result } = await measure({ p95: [0.9], errors: [0] });
    const reason = 'Metric p95: 1 failed measurement(s), the last at check 3: 0.9 does not meet "result <= baseline * 2" (baseline 0.2, so <= 0.4)';
    expect(result).toMatchObject({ decision: 'failed', reason });
    expect(result.patch).toEqual({
      deployment: { ...watchDeployment, action: 'rollback', watch: { releaseId: release.deploymentId, checkpoint: 3, at: '2025-03-14T13:00:00.000Z', metrics: ['p95'], reason } },
    });
  });

  it('counts failureLimit over the watch: the first failure of errors is tolerated, the second one at a later checkpoint fails it', async () => {
    const first = await measure({ p95: [0.3], errors: [0.05] });
    expect(first.result.decision).toBe('passed');
    const second = await measure({ p95: [0.3], errors: [0.05] }, status(4, first.result.metrics));
    expect(second.result).toMatchObject({ decision: 'failed', patch: { deployment: { watch: { metrics: ['errors'], checkpoint: 4 } } } });
    // Each checkpoint keeps its own measurement; the counts carry over.
    expect(second.result.metrics[1]).toMatchObject({ failures: 2, verdict: 'failed', measurements: [{ check: 4, outcome: 'failure' }] });
  });

  it('tolerates a query error within consecutiveErrorLimit, as the bake does', async () => {
    const { result } = await measure({ p95: [{ error: 'Prometheus answered 503' }], errors: [0] });
    expect(result.decision).toBe('passed');
    expect(result.metrics[0]).toMatchObject({ consecutiveErrors: 1, verdict: 'passing', measurements: [{ outcome: 'error', detail: 'Prometheus answered 503' }] });
  });

  it('keeps a failed metric failed at the next checkpoint, even when it measures well again', async () => {
    const failed: MetricRecord = { name: 'p95', condition: 'pass: result <= baseline * 2', baseline: 0.2, dryRun: false, measurements: [], failures: 1, consecutiveErrors: 0, verdict: 'failed' };
    const { result } = await measure({ p95: [0.1], errors: [0] }, status(5, [failed]));
    expect(result).toMatchObject({ decision: 'failed', patch: { deployment: { watch: { metrics: ['p95'] } } } });
  });

  it('refuses a status that is not "measure"', async () => {
    await expect(measureWatch(event({ ...status(), decision: 'window-closed', release: null }), { metrics: scriptedMetrics({}), clock })).rejects.toThrow(
      'a watch checkpoint needs CheckWatch\'s decision "measure" and the release to measure (got "window-closed")',
    );
  });
});

describe("measureWatch with operation analyze: a release plan's analysis gate", () => {
  const gateDeployment = (metrics: string[] | null) => ({ ...deploymentFor(execution, { action: 'analyze', version: null, image: null, requestedBy: 'release-plan shop' }), metrics });
  const gateStatus: WatchStatus = { decision: 'measure', message: 'Analysis', release, checkpoint: 1, records: [], until: null };

  async function analyze(script: Record<string, ScriptedAnswer[]>, metrics: string[] | null = null) {
    const parsed = EvaluateAlarmsFunctionEvent.parse({
      operation: 'analyze',
      config: config({ analysis: { metrics: METRICS } } as never),
      deployment: gateDeployment(metrics),
      execution,
      watch: gateStatus,
    });
    if (!isWatchCheckpoint(parsed)) throw new Error('not parsed as a one-shot measurement');
    const query = scriptedMetrics(script);
    return { result: await measureWatch(parsed, { metrics: query, clock }), asked: query.asked.map((a) => a.name).sort() };
  }

  it('measures every deciding metric once against the baselines the release kept and passes, asking for no rollback', async () => {
    const { result, asked } = await analyze({ p95: [0.3], errors: [0] });
    expect(asked).toEqual(['errors', 'p95']);
    expect(result).toMatchObject({ releaseId: release.deploymentId, version: 'v2', checkpoint: 1, decision: 'passed', reason: null, patch: null });
  });

  it('measures only the metrics the gate names', async () => {
    const { result, asked } = await analyze({ p95: [0.3] }, ['p95']);
    expect(asked).toEqual(['p95']);
    expect(result.metrics.map((m) => m.name)).toEqual(['p95']);
  });

  it('fails naming the metric, its value and the bound, and never hands over a rollback', async () => {
    const { result } = await analyze({ p95: [0.9], errors: [0] });
    expect(result).toMatchObject({
      decision: 'failed',
      reason: 'Metric p95: 1 failed measurement(s), the last at check 1: 0.9 does not meet "result <= baseline * 2" (baseline 0.2, so <= 0.4)',
      patch: null,
    });
  });

  it('judges once for good: a failure within failureLimit, or a query error within consecutiveErrorLimit, still fails the gate', async () => {
    const tolerated = await analyze({ p95: [0.3], errors: [0.05] });
    expect(tolerated.result).toMatchObject({ decision: 'failed', reason: expect.stringContaining('Metric errors: 1 failed measurement(s), the last at check 1: 0.05') });
    const unanswered = await analyze({ p95: [{ error: 'Prometheus answered 503' }], errors: [0] });
    expect(unanswered.result).toMatchObject({ decision: 'failed', reason: 'Metric p95: its query failed 1 time(s) in a row: Prometheus answered 503' });
  });
});

