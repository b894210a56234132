import { describe, expect, it } from 'vitest';
import { wrongPlace } from '../../config/kinds';
import { type MetricQueries, metricRouter } from '../../adapters/metric-router';
import type { MetricQuery } from '../../core/ports/metric-query';
import { InvalidInputError } from '../../core/errors';
import { analysisMetric } from '../support/metric-queries';

const AT = new Date('2025-03-14T09:30:00.000Z');
const prometheus = analysisMetric();
const logs = analysisMetric({ name: 'log-errors', provider: { kind: 'logs', logGroupNames: ['/ecs/shop-api'], query: 'stats count()' } });
const logFile = analysisMetric({ name: 'app-errors', provider: { kind: 'log-file', path: 'app.log', pattern: 'ERROR' } });

/** A table whose adapters answer a number per kind and count how often each was made. */
function countingTable(kinds: readonly string[]): { table: Record<string, () => MetricQuery>; made: Record<string, number> } {
  const made: Record<string, number> = {};
  const table = Object.fromEntries(
    kinds.map((kind, index) => [
      kind,
      () => {
        made[kind] = (made[kind] ?? 0) + 1;
        return { value: async () => index + 1 };
      },
    ]),
  );
  return { table, made };
}

describe('metricRouter', () => {
  it('sends each metric to its provider’s adapter, made once and only when a metric needs it', async () => {
    const { table, made } = countingTable(['prometheus', 'cloudwatch', 'logs', 'http']);
    const router = metricRouter('aws', table as MetricQueries<'aws'>);

    expect(await router.value(prometheus, AT)).toBe(1);
    expect(await router.value(logs, AT)).toBe(3);
    expect(await router.value(prometheus, AT)).toBe(1);
    expect(made).toEqual({ prometheus: 1, logs: 1 });
  });

  it('refuses a provider that does not run in its place, naming the metric, the kind and what runs there', async () => {
    const { table, made } = countingTable(['prometheus', 'cloudwatch', 'logs', 'http']);
    const router = metricRouter('aws', table as MetricQueries<'aws'>);

    const answer = router.value(logFile, AT);
    await expect(answer).rejects.toThrow(InvalidInputError);
    await expect(answer).rejects.toThrow(wrongPlace('metricProvider', 'log-file', 'aws', 'analysis metric app-errors: provider.kind'));
    await expect(answer).rejects.toThrow(/^analysis metric app-errors: provider\.kind: 'log-file' \(lines of a local log file\) runs only in a local rehearsal/);
    expect(made).toEqual({});
  });

  it('refuses a CloudWatch Logs metric in a rehearsal', async () => {
    const { table } = countingTable(['prometheus', 'log-file', 'http']);
    const router = metricRouter('local', table as MetricQueries<'local'>);
    await expect(router.value(logs, AT)).rejects.toThrow(/^analysis metric log-errors: provider\.kind: 'logs' \(a CloudWatch Logs Insights query\) runs only on AWS/);
    expect(await router.value(logFile, AT)).toBe(2);
  });
});
