import { checkpointChecks, type Condition, holds, boundOf, parseCondition, parseSchedule } from '../config/analysis';
import type { AnalysisConfig, AnalysisMetric } from '../config/schema';
import type { MeasureContext, MetricQuery } from './ports/metric-query';
import { RunbookError } from './errors';
import type { Measurement, MetricBaseline, MetricRecord, PreflightCheck } from './model';

/**
 * Analysis metrics: the numbers that decide a release beside the alarms. Preflight measures each one before
 * anything changes (the baseline, and the proof that its query works); the bake measures them at its
 * checkpoints and judges each measurement by the metric's conditions, as Argo Rollouts' analysis does
 * (failureLimit, consecutiveErrorLimit, inconclusive results, dry-run metrics).
 */

/** The conditions of a metric, read once. */
function conditionsOf(metric: AnalysisMetric): { success: Condition | null; failure: Condition | null } {
  return {
    success: metric.successCondition === undefined ? null : parseCondition(metric.successCondition),
    failure: metric.failureCondition === undefined ? null : parseCondition(metric.failureCondition),
  };
}

/** Whether a condition of the metric compares with its baseline. */
export function needsBaseline(metric: AnalysisMetric): boolean {
  const { success, failure } = conditionsOf(metric);
  return success?.bound.kind === 'baseline' || failure?.bound.kind === 'baseline';
}

/** The conditions as a report writes them: `result <= baseline * 1.2`, or both joined. */
export function conditionText(metric: AnalysisMetric): string {
  const parts = [metric.successCondition && `pass: ${metric.successCondition}`, metric.failureCondition && `fail: ${metric.failureCondition}`].filter(Boolean);
  return parts.join('; ');
}

/** Where a metric comes from, for messages: `prometheus`, `cloudwatch`… */
function providerOf(metric: AnalysisMetric): string {
  return metric.provider.kind;
}

type Read = { value: number | null; error: null } | { value: null; error: string };

async function read(query: MetricQuery, metric: AnalysisMetric, at: Date, context: MeasureContext): Promise<Read> {
  try {
    const value = await query.value(metric, at, context);
    return { value: value === null || Number.isNaN(value) ? null : value, error: null };
  } catch (error) {
    // Anything else is a defect of this code, not of the metric: it fails the task.
    if (!(error instanceof RunbookError)) throw error;
    return { value: null, error: error.message };
  }
}

/**
 * Preflight's part: every metric measured once, in parallel, before anything changes. A query the provider
 * refuses, or a relative condition without a baseline to compare with, is a failed check, so a bad PromQL or an
 * unknown log group aborts the deploy while nothing has changed. Dry-run metrics are measured and reported but never block.
 */
export async function measureBaselines(
  metrics: readonly AnalysisMetric[],
  query: MetricQuery,
  at: Date,
  context: MeasureContext = { expectedVersion: null },
): Promise<{ baselines: MetricBaseline[]; checks: PreflightCheck[] }> {
  const reads = await Promise.all(metrics.map((metric) => read(query, metric, at, context)));
  const baselines: MetricBaseline[] = [];
  const checks: PreflightCheck[] = [];
  metrics.forEach((metric, index) => {
    const result = reads[index];
    const name = `metric ${metric.name}`;
    const dry = metric.dryRun ? ' (dry run: reported, never deciding)' : '';
    baselines.push({ name: metric.name, value: result.value, at: at.toISOString() });
    if (result.error !== null) {
      checks.push({ name, ok: metric.dryRun, detail: `the ${providerOf(metric)} query failed: ${result.error}${dry}` });
    } else if (result.value === null && needsBaseline(metric)) {
      checks.push({
        name,
        ok: metric.dryRun,
        detail: `no data before the deploy, and its condition compares with the baseline (${conditionText(metric)}): give it a window with data, an absolute condition, or dryRun${dry}`,
      });
    } else {
      checks.push({ name, ok: true, detail: result.value === null ? `no data yet (${conditionText(metric)})${dry}` : `baseline ${formatNumber(result.value)} (${conditionText(metric)})${dry}` });
    }
  });
  return { baselines, checks };
}

/** What one bake evaluation needs to judge the analysis. */
export interface CheckpointInput {
  readonly analysis: AnalysisConfig;
  readonly bake: { readonly durationSeconds: number; readonly pollSeconds: number };
  /** Evaluations in the whole bake (`deployment.bakeChecks`). */
  readonly bakeChecks: number;
  /** This evaluation, 1-based. */
  readonly check: number;
  readonly baselines: readonly MetricBaseline[];
  /** The records so far (`$.bake.analysis`). */
  readonly records: readonly MetricRecord[];
  /** The version deployed, which the http provider's checks expect. @default null */
  readonly expectedVersion?: string | null;
}

/** The evaluations (1-based) at which the analysis measures. */
export function checkpoints(analysis: AnalysisConfig, pollSeconds: number, bakeChecks: number): number[] {
  return checkpointChecks(analysis.checkpoints === undefined ? null : parseSchedule(analysis.checkpoints), pollSeconds, bakeChecks);
}

/**
 * One bake evaluation's analysis: at a checkpoint, each metric past its initial delay is measured (all in
 * parallel) and judged; between checkpoints the records are returned unchanged. A metric whose verdict is
 * `failed` stays failed.
 */
export async function measureCheckpoint(input: CheckpointInput, query: MetricQuery, at: Date): Promise<MetricRecord[]> {
  const { analysis, check } = input;
  const due = checkpoints(analysis, input.bake.pollSeconds, input.bakeChecks).includes(check);
  const last = check >= input.bakeChecks;
  const records = analysis.metrics.map((metric) => recordOf(metric, input));
  const measuring = analysis.metrics.filter((metric, index) => due && records[index].verdict === 'passing' && check * input.bake.pollSeconds >= metric.initialDelaySeconds);
  const context = { expectedVersion: input.expectedVersion ?? null };
  const reads = await Promise.all(measuring.map((metric) => read(query, metric, at, context)));
  return analysis.metrics.map((metric, index) => {
    const position = measuring.indexOf(metric);
    const record = position === -1 ? records[index] : judge(metric, records[index], reads[position], check, at);
    return last ? closed(record) : record;
  });
}

function recordOf(metric: AnalysisMetric, input: Pick<CheckpointInput, 'records' | 'baselines'>): MetricRecord {
  const found = input.records.find((record) => record.name === metric.name);
  if (found) return found;
  return {
    name: metric.name,
    condition: conditionText(metric),
    baseline: input.baselines.find((baseline) => baseline.name === metric.name)?.value ?? null,
    dryRun: metric.dryRun,
    measurements: [],
    failures: 0,
    consecutiveErrors: 0,
    verdict: 'passing',
  };
}

/** One measurement judged by the metric's rules. */
function judge(metric: AnalysisMetric, record: MetricRecord, result: Read, check: number, at: Date): MetricRecord {
  const measurement = outcomeOf(metric, record.baseline, result, check, at);
  const failures = record.failures + (measurement.outcome === 'failure' ? 1 : 0);
  const consecutiveErrors = measurement.outcome === 'error' ? record.consecutiveErrors + 1 : 0;
  const failed = failures > metric.failureLimit || consecutiveErrors > metric.consecutiveErrorLimit;
  return { ...record, measurements: [...record.measurements, measurement], failures, consecutiveErrors, verdict: failed ? 'failed' : 'passing' };
}

function outcomeOf(metric: AnalysisMetric, baseline: number | null, result: Read, check: number, at: Date): Measurement {
  const base = { check, at: at.toISOString(), value: result.value };
  if (result.error !== null) return { ...base, outcome: 'error', detail: result.error };
  if (result.value === null) {
    return { ...base, outcome: metric.noData, detail: `no data (noData: ${metric.noData})` };
  }
  const value = result.value;
  const { success, failure } = conditionsOf(metric);
  const unknown = (condition: Condition) => holds(condition, value, baseline) === null;
  if ((failure && unknown(failure)) || (success && unknown(success))) {
    return { ...base, outcome: 'inconclusive', detail: 'no baseline to compare with' };
  }
  if (failure && holds(failure, value, baseline)) return { ...base, outcome: 'failure', detail: `${formatBeside(value, boundOf(failure, baseline))} meets the failure condition ${describe(failure, baseline)}` };
  if (success) {
    if (holds(success, value, baseline)) return { ...base, outcome: 'success', detail: null };
    return failure
      ? { ...base, outcome: 'inconclusive', detail: `${formatNumber(value)} meets neither condition` }
      : { ...base, outcome: 'failure', detail: `${formatBeside(value, boundOf(success, baseline))} does not meet ${describe(success, baseline)}` };
  }
  return { ...base, outcome: 'success', detail: null };
}

/**
 * At the bake's last evaluation (and at a release plan's analysis gate) a metric is judged for good: one that never had
 * a successful measurement (only inconclusive ones, or none since its delay) fails, since a release is kept on
 * evidence, not on silence.
 */
export function closed(record: MetricRecord): MetricRecord {
  if (record.verdict === 'failed' || record.measurements.some((measurement) => measurement.outcome === 'success')) return record;
  return { ...record, verdict: 'failed' };
}

/** `result <= baseline * 1.2 (= 0.24)`: the condition with the bound it came to. */
function describe(condition: Condition, baseline: number | null): string {
  if (condition.bound.kind === 'number') return `"${condition.text}"`;
  const bound = boundOf(condition, baseline);
  return `"${condition.text}" (baseline ${baseline === null ? 'none' : formatNumber(baseline)}, so ${condition.comparison} ${bound === null ? '?' : formatNumber(bound)})`;
}

/** Numbers as people read them: at most 4 significant digits past the point, no exponent for ordinary values. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e15)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

/**
 * A value shown next to the bound it was compared with: as formatNumber, with more digits when the short form would
 * read as the bound itself (0.50001 against `result > 0.5` is 0.50001, not 0.5).
 */
export function formatBeside(value: number, bound: number | null): string {
  const short = formatNumber(value);
  if (bound === null || value === bound || short !== formatNumber(bound)) return short;
  for (let digits = 5; digits <= 17; digits += 1) {
    const longer = String(Number(value.toPrecision(digits)));
    if (longer !== String(Number(bound.toPrecision(digits)))) return longer;
  }
  return String(value);
}

/** The metrics that decide against the release, and why, in one sentence each. */
export function failedMetrics(records: readonly MetricRecord[]): string[] {
  return records
    .filter((record) => record.verdict === 'failed' && !record.dryRun)
    .map((record) => {
      const last = record.measurements.at(-1);
      const why = last?.detail ?? (last ? `${last.outcome} at check ${last.check}` : 'never measured');
      // Failed by failureLimit, by consecutiveErrorLimit, or closed at the last check without a passing measurement.
      const earlier = record.failures > 0 ? `; ${record.failures} failed measurement(s) earlier` : '';
      const what =
        record.consecutiveErrors > 0 && last?.outcome === 'error'
          ? `its query failed ${record.consecutiveErrors} time(s) in a row: ${why}`
          : last?.outcome === 'failure'
            ? `${record.failures} failed measurement(s), the last at check ${last.check}: ${why}`
            : `no measurement passed (${why}${earlier})`;
      return `metric ${record.name}: ${what}`;
    });
}

/** One checkpoint of the post-release watch. */
export interface WatchCheckpointInput {
  readonly analysis: AnalysisConfig;
  /** What Preflight measured before the release. */
  readonly baselines: readonly MetricBaseline[];
  /** The metrics after the previous checkpoint of the watch (empty before the first). */
  readonly records: readonly MetricRecord[];
  /** This checkpoint, 1-based: the number its measurements carry. */
  readonly checkpoint: number;
  /** The version released, which the http provider's checks expect. */
  readonly expectedVersion: string | null;
}

/**
 * A checkpoint of the post-release watch: every deciding metric measured once, in parallel, and judged by the same
 * rules as in the bake against the baseline taken before the release. failureLimit and consecutiveErrorLimit count
 * over the watch's checkpoints (each record carries this measurement only); a failed metric stays failed. Dry-run
 * metrics are not measured: the watch runs unattended, and they could decide nothing.
 */
export async function measureWatchCheckpoint(input: WatchCheckpointInput, query: MetricQuery, at: Date): Promise<MetricRecord[]> {
  const metrics = input.analysis.metrics.filter((metric) => !metric.dryRun);
  const context = { expectedVersion: input.expectedVersion };
  const reads = await Promise.all(metrics.map((metric) => read(query, metric, at, context)));
  return metrics.map((metric, index) => {
    const before = recordOf(metric, { baselines: input.baselines, records: input.records.map((record) => ({ ...record, measurements: [] })) });
    const judged = judge(metric, before, reads[index], input.checkpoint, at);
    return before.verdict === 'failed' ? { ...judged, verdict: 'failed' } : judged;
  });
}
