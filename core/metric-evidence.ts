import { boundOf, type Comparison, type Condition, parseCondition } from '../config/analysis';
import { formatNumber } from './analysis';
import type { Measurement, MetricRecord } from './model';
import { markdownCode } from './untrusted-text';

/**
 * An analysis metric's verdict as people read it: baseline, each checkpoint's value, the threshold each
 * condition came to, and whether the metric let the release through. The evidence report, the GitHub step
 * summary, the CLI's table and its --json all show these same fields.
 */

/** The number a condition compares with: written (`result > 0.05`) or computed from the baseline (`baseline * 1.2`). */
export interface Threshold {
  /** `pass`: a successCondition; `fail`: a failureCondition. */
  readonly kind: 'pass' | 'fail';
  /** As configured: `result <= baseline * 1.2`. */
  readonly condition: string;
  readonly comparison: Comparison;
  /** Null when the condition compares with a baseline that had no data. */
  readonly bound: number | null;
  /** Whether the bound was computed from the baseline. */
  readonly relative: boolean;
}

export interface MetricVerdict {
  readonly name: string;
  /** Reported, never deciding. */
  readonly dryRun: boolean;
  readonly condition: string;
  readonly baseline: number | null;
  /** Each checkpoint's value and how it was judged, in order. */
  readonly checkpoints: readonly Pick<Measurement, 'check' | 'at' | 'value' | 'outcome'>[];
  /** The value of the last measurement; null when it had no data or its query failed. */
  readonly last: number | null;
  readonly thresholds: readonly Threshold[];
  readonly verdict: MetricRecord['verdict'];
}

/**
 * The thresholds of a record's condition text, which core/analysis.ts writes as `pass: <condition>; fail: <condition>`
 * (either part alone); a part that does not read as a condition is left out.
 */
export function thresholdsOf(condition: string, baseline: number | null): Threshold[] {
  return condition.split(';').flatMap((part): Threshold[] => {
    const match = /^\s*(pass|fail):\s*(.+?)\s*$/.exec(part);
    if (!match) return [];
    let parsed: Condition;
    try {
      parsed = parseCondition(match[2]);
    } catch {
      return [];
    }
    return [{ kind: match[1] as Threshold['kind'], condition: parsed.text, comparison: parsed.comparison, bound: boundOf(parsed, baseline), relative: parsed.bound.kind === 'baseline' }];
  });
}

export function metricVerdict(record: MetricRecord): MetricVerdict {
  return {
    name: record.name,
    dryRun: record.dryRun,
    condition: record.condition,
    baseline: record.baseline,
    checkpoints: record.measurements.map(({ check, at, value, outcome }) => ({ check, at, value, outcome })),
    last: record.measurements.at(-1)?.value ?? null,
    thresholds: thresholdsOf(record.condition, record.baseline),
    verdict: record.verdict,
  };
}

/** `fail > 0.05`, `pass <= 0.24 (baseline * 1.2)`, `pass <= baseline * 1.2 (no baseline)`. */
export function thresholdText(threshold: Threshold): string {
  const against = threshold.condition.replace(/^result\s*(<=|>=|==|!=|<|>)\s*/i, '');
  const head = `${threshold.kind} ${threshold.comparison}`;
  if (threshold.bound === null) return `${head} ${against} (no baseline)`;
  return threshold.relative ? `${head} ${formatNumber(threshold.bound)} (${against})` : `${head} ${formatNumber(threshold.bound)}`;
}

/** `passing`, `FAILED`, `FAILED (dry run)`. */
export function verdictText(verdict: Pick<MetricVerdict, 'verdict' | 'dryRun'>): string {
  return `${verdict.verdict === 'failed' ? 'FAILED' : 'passing'}${verdict.dryRun ? ' (dry run)' : ''}`;
}

/** A number of the table, or `-` for none. */
export function numberText(value: number | null): string {
  return value === null ? '-' : formatNumber(value);
}

/** A checkpoint's cell: `0.31 ✖` failed, `0.2 ?` inconclusive, `error` (the query failed), `no data`. */
export function measurementText(measurement: Pick<Measurement, 'value' | 'outcome'>): string {
  if (measurement.outcome === 'error') return 'error';
  const value = measurement.value === null ? 'no data' : formatNumber(measurement.value);
  return `${value}${{ success: '', failure: ' ✖', inconclusive: ' ?' }[measurement.outcome]}`;
}

/** The verdict table as plain cells, for a renderer to escape: Metric, Baseline, one column per checkpoint, Threshold, Verdict. */
export interface VerdictTable {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Each row's verdict, so that a renderer can stress the failed ones. */
  readonly failed: readonly boolean[];
}

/** Where a table leaves out the middle checkpoints of a long bake. */
export const ELIDED = '…';

/**
 * One row per metric. The columns are the checkpoints any metric was measured at (`check 3`: the bake's third
 * evaluation); a metric not measured at one (its initial delay, or already failed) shows `-` there. With more
 * checkpoints than `maxCheckpoints`, the first and the last ones are kept around a `…` column.
 */
export function verdictTable(verdicts: readonly MetricVerdict[], options: { readonly maxCheckpoints?: number } = {}): VerdictTable {
  const checks = [...new Set(verdicts.flatMap((verdict) => verdict.checkpoints.map((checkpoint) => checkpoint.check)))].sort((a, b) => a - b);
  const max = Math.max(2, options.maxCheckpoints ?? Number.POSITIVE_INFINITY);
  const head = Math.ceil((max - 1) / 2);
  const shown: (number | null)[] = checks.length <= max ? checks : [...checks.slice(0, head), null, ...checks.slice(checks.length - (max - 1 - head))];
  return {
    headers: ['Metric', 'Baseline', ...shown.map((check) => (check === null ? ELIDED : `check ${check}`)), 'Threshold', 'Verdict'],
    rows: verdicts.map((verdict) => [
      verdict.name,
      numberText(verdict.baseline),
      ...shown.map((check) => {
        if (check === null) return ELIDED;
        const checkpoint = verdict.checkpoints.find((candidate) => candidate.check === check);
        return checkpoint ? measurementText(checkpoint) : '-';
      }),
      verdict.thresholds.map(thresholdText).join('; ') || '-',
      verdictText(verdict),
    ]),
    failed: verdicts.map((verdict) => verdict.verdict === 'failed'),
  };
}

/**
 * The table in GitHub Markdown. Names and conditions are read back from execution state: each is inline code,
 * in which GitHub renders no markup, link or HTML (markdownCode); a failed verdict is bold.
 */
export function markdownVerdictTable(verdicts: readonly MetricVerdict[]): string[] {
  const table = verdictTable(verdicts);
  const last = table.headers.length - 1;
  const cell = (text: string, column: number, failed: boolean) => {
    if (column === 0 || column === last - 1) return markdownCode(text);
    if (column === last) return failed ? `**${text}**` : text;
    return text;
  };
  return [
    `| ${table.headers.join(' | ')} |`,
    `|${table.headers.map((_, column) => (column === 0 || column >= last - 1 ? '---' : '---:')).join('|')}|`,
    ...table.rows.map((row, index) => `| ${row.map((text, column) => cell(text, column, table.failed[index])).join(' | ')} |`),
  ];
}
