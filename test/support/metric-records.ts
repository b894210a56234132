import type { Measurement, MetricRecord } from '../../core/model';

/**
 * `$.bake.analysis[]` of one metric: p95 latency judged against its baseline, measured at the given checks
 * (each a value, or null for no data), each measurement judged `success` unless `outcomes` says otherwise.
 */
export function metricRecordOf(
  name: string,
  values: readonly (number | null)[],
  overrides: Partial<MetricRecord> & { readonly outcomes?: readonly Measurement['outcome'][]; readonly checks?: readonly number[] } = {},
): MetricRecord {
  const { outcomes = [], checks = values.map((_, index) => index + 1), ...record } = overrides;
  return {
    name,
    condition: 'pass: result <= baseline * 1.2',
    baseline: 0.2,
    dryRun: false,
    measurements: values.map((value, index) => ({
      check: checks[index],
      at: new Date(Date.UTC(2025, 2, 4, 10, 15) + checks[index] * 60_000).toISOString(),
      value,
      outcome: outcomes[index] ?? 'success',
      detail: null,
    })),
    failures: outcomes.filter((outcome) => outcome === 'failure').length,
    consecutiveErrors: 0,
    verdict: outcomes.includes('failure') ? 'failed' : 'passing',
    ...record,
  };
}
