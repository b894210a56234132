import { AnalysisMetric } from '../../config/schema';
import type { MetricQuery } from '../../core/ports/metric-query';
import { MetricQueryError } from '../../core/errors';

/** For configurations without analysis metrics: any query is a defect of the code under test. */
export const NO_METRICS: MetricQuery = {
  value(metric) {
    throw new Error(`no analysis metric is configured, yet ${metric.name} was queried`);
  },
};

/** One answer of a scripted metric: a value, no data (null), or a provider's error (a string). */
export type ScriptedAnswer = number | null | { readonly error: string };

/**
 * Answers each metric's queries in order from a script, the last answer repeating; remembers what was asked
 * and when. A metric without a script is a defect of the test.
 */
export function scriptedMetrics(script: Readonly<Record<string, readonly ScriptedAnswer[]>>): MetricQuery & { asked: { name: string; at: string }[] } {
  const asked: { name: string; at: string }[] = [];
  const counts = new Map<string, number>();
  return {
    asked,
    async value(metric: AnalysisMetric, at: Date) {
      const answers = script[metric.name];
      if (!answers) throw new Error(`no script for metric ${metric.name}`);
      const index = counts.get(metric.name) ?? 0;
      counts.set(metric.name, index + 1);
      asked.push({ name: metric.name, at: at.toISOString() });
      const answer = answers[Math.min(index, answers.length - 1)];
      if (answer !== null && typeof answer === 'object') throw new MetricQueryError(answer.error);
      return answer;
    },
  };
}

/** A Prometheus p95 latency metric passing at or under 0.5 s, with the schema's defaults; `overrides` as written in a configuration. */
export function analysisMetric(overrides: Record<string, unknown> = {}): AnalysisMetric {
  return AnalysisMetric.parse({
    name: 'p95',
    provider: { kind: 'prometheus', url: 'https://prometheus.example.com', query: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))' },
    successCondition: 'result <= 0.5',
    ...overrides,
  });
}
