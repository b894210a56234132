import * as z from 'zod/mini';
import type { RunbookConfig } from '../../../config/schema';
import { watchedAlarms } from '../../../config/watched-alarms';
import { closed, failedMetrics, measureCheckpoint, measureWatchCheckpoint } from '../../analysis';
import { InvalidInputError } from '../../errors';
import type { AlarmSource } from '../../ports/alarm-source';
import type { Clock } from '../../ports/clock';
import type { MetricQuery } from '../../ports/metric-query';
import { Baseline, BakeState, Deployment, Execution, judged, WatchStatus, type WatchResult } from '../../model';

/** EvaluateAlarms' Parameters: the bake so far, the alarm states and metrics taken before the deploy, and how many evaluations the bake has. */
export const EvaluateAlarmsEvent = z.object({
  config: judged<Pick<RunbookConfig, 'alarms' | 'analysis' | 'bake' | 'smokeTests'>>(),
  baseline: Baseline,
  bake: BakeState,
  bakeChecks: z.int().check(z.minimum(1)),
  /** The version deployed: what the http provider's smoke checks expect. */
  expectedVersion: z._default(z.nullable(z.string()), null),
});
export type EvaluateAlarmsEvent = z.output<typeof EvaluateAlarmsEvent>;

/**
 * MeasureWatchCheckpoint's Parameters: the watch execution's request and CheckWatch's answer; MeasureAnalysis sends the
 * same with `operation: analyze` (a release plan's analysis gate) and CheckAnalysis' answer.
 */
export const WatchCheckpointEvent = z.object({
  operation: z.enum(['watch-checkpoint', 'analyze']),
  config: judged<Pick<RunbookConfig, 'analysis' | 'smokeTests'>>(),
  deployment: Deployment,
  execution: Execution,
  watch: WatchStatus,
});
export type WatchCheckpointEvent = z.output<typeof WatchCheckpointEvent>;

/** What the function accepts: a bake evaluation, or one measurement of the latest release (`operation: watch-checkpoint` or `analyze`). */
export const EvaluateAlarmsFunctionEvent = z.union([WatchCheckpointEvent, EvaluateAlarmsEvent]);
export type EvaluateAlarmsFunctionEvent = z.output<typeof EvaluateAlarmsFunctionEvent>;

/** Whether the event measures the latest release once (a watch checkpoint, an analysis gate) rather than a bake evaluation. */
export function isWatchCheckpoint(event: EvaluateAlarmsFunctionEvent): event is WatchCheckpointEvent {
  return 'operation' in event && (event.operation === 'watch-checkpoint' || event.operation === 'analyze');
}

/** Ports the evaluation needs. */
export interface EvaluateAlarmsDeps {
  readonly alarms: AlarmSource;
  readonly metrics: MetricQuery;
  readonly clock: Clock;
}

/**
 * One evaluation of the bake. Only an alarm that fires now and did not fire at the baseline counts against the
 * release: one already firing before the deploy is reported, not blamed on it (an alarm missing from the
 * baseline counts as not firing there). At the analysis' checkpoints the metrics are measured too; a metric
 * that fails (not a dry-run one) counts as a new alarm does.
 */
export async function evaluateAlarms(event: EvaluateAlarmsEvent, deps: EvaluateAlarmsDeps): Promise<BakeState> {
  const at = deps.clock.now();
  const now = at.toISOString();
  const check = event.bake.checks + 1;
  const names = watchedAlarms(event.config.alarms);
  const [states, analysis] = await Promise.all([
    names.length === 0 ? [] : deps.alarms.states(names),
    measureCheckpoint(
      {
        analysis: event.config.analysis,
        bake: event.config.bake,
        bakeChecks: event.bakeChecks,
        check,
        baselines: event.baseline.metrics,
        records: event.bake.analysis,
        expectedVersion: event.expectedVersion,
      },
      deps.metrics,
      at,
    ),
  ]);
  const firedAtBaseline = new Set(event.baseline.alarms.filter((alarm) => alarm.state === 'ALARM').map((alarm) => alarm.name));
  const firing = states.filter((alarm) => alarm.state === 'ALARM');
  const newlyFiring = firing.filter((alarm) => !firedAtBaseline.has(alarm.name)).map((alarm) => alarm.name);
  const failed = failedMetrics(analysis);
  const reasons = [...(newlyFiring.length > 0 ? [`new alarm(s) during the bake: ${newlyFiring.join(', ')}`] : []), ...failed];
  return {
    checks: check,
    startedAt: event.bake.startedAt ?? now,
    decision: reasons.length > 0 ? 'regressed' : 'healthy',
    firing,
    newlyFiring,
    firingAtBaseline: firing.filter((alarm) => firedAtBaseline.has(alarm.name)).map((alarm) => alarm.name),
    lastCheckedAt: now,
    analysis,
    reason: reasons.length > 0 ? capitalized(reasons.join('; ')) : null,
  };
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A checkpoint of the post-release watch: each deciding metric measured once against the baseline recorded with the
 * release, failureLimit and consecutiveErrorLimit counted over the watch. A failed checkpoint hands the state machine
 * the rollback request (`patch`): the same request an alarm makes, with the checkpoint and the metrics as its trigger.
 *
 * A release plan's analysis gate (`operation: analyze`) measures the same way, once, only the metrics it names (all
 * deciding ones when none), and judges each for good as the bake's end does: a metric without a passing measurement
 * (a failing one whatever its failureLimit, no data, inconclusive, an unanswered query) fails. It never asks for a
 * rollback: the plan decides.
 */
export async function measureWatch(event: WatchCheckpointEvent, deps: Pick<EvaluateAlarmsDeps, 'metrics' | 'clock'>): Promise<WatchResult> {
  const { watch, deployment, execution } = event;
  const release = watch.release;
  if (watch.decision !== 'measure' || release === null) {
    throw new InvalidInputError(`a watch checkpoint needs CheckWatch's decision "measure" and the release to measure (got "${watch.decision}")`);
  }
  const at = deps.clock.now();
  const gate = event.operation === 'analyze';
  const named = deployment.metrics ?? null;
  const analysis = gate && named !== null ? { ...event.config.analysis, metrics: event.config.analysis.metrics.filter((metric) => named.includes(metric.name)) } : event.config.analysis;
  const measured = await measureWatchCheckpoint(
    { analysis, baselines: release.baselines ?? [], records: watch.records, checkpoint: watch.checkpoint, expectedVersion: release.version },
    deps.metrics,
    at,
  );
  const metrics = gate ? measured.map(closed) : measured;
  const failed = failedMetrics(metrics);
  const reason = failed.length > 0 ? capitalized(failed.join('; ')) : null;
  const checkpoint = {
    releaseId: release.deploymentId,
    version: release.version,
    checkpoint: watch.checkpoint,
    at: at.toISOString(),
    execution: execution.name,
    decision: reason === null ? ('passed' as const) : ('failed' as const),
    metrics,
    reason,
  };
  if (reason === null || gate) return { ...checkpoint, patch: null };
  const trigger = {
    releaseId: release.deploymentId,
    checkpoint: watch.checkpoint,
    at: checkpoint.at,
    metrics: metrics.filter((metric) => metric.verdict === 'failed').map((metric) => metric.name),
    reason,
  };
  return { ...checkpoint, patch: { deployment: { ...deployment, action: 'rollback', watch: trigger } } };
}
