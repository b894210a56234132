import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load';
import type { AnalysisMetric } from '../../../config/schema';
import type { MetricQuery } from '../../../core/ports/metric-query';
import rehearsalConfig from '../../../examples/rehearsal/runbook.json';
import { withRehearsalPlaces } from '../../../local/rehearsal/rehearsal-config';
import { startAll, untilBaselineData } from '../../../local/rehearsal/setup';

const URL = 'http://127.0.0.1:41234';
/** The demo's analysis with the Prometheus address filled in: p95-latency is the one metric relative to its baseline. */
const config = withRehearsalPlaces(parseConfig(structuredClone(rehearsalConfig)), { prometheusAddress: '127.0.0.1:41234', workdir: '/tmp/w' });

/** Answers each metric from a script of values, one per call; the last one repeats. */
function scripted(values: Record<string, (number | null | Error)[]>): MetricQuery & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async value(metric: AnalysisMetric) {
      asked.push(metric.name);
      const script = values[metric.name] ?? [0];
      const next = script.length > 1 ? script.shift() : script[0];
      if (next instanceof Error) throw next;
      return next ?? null;
    },
  };
}

describe('untilBaselineData', () => {
  it("waits until the rehearsal Prometheus answers every metric compared with its baseline, asking nothing else", async () => {
    const query = scripted({ 'p95-latency': [null, new Error('Prometheus at … did not answer'), 0.1] });

    expect(await untilBaselineData(config, URL, query, undefined, 10_000)).toEqual([]);
    expect(query.asked).toEqual(['p95-latency', 'p95-latency', 'p95-latency']);
  });

  it('gives up after the time given, naming the metrics still without data', async () => {
    expect(await untilBaselineData(config, URL, scripted({ 'p95-latency': [null] }), undefined, 600)).toEqual(['p95-latency']);
  });

  it('asks nothing of metrics read from another Prometheus', async () => {
    const query = scripted({});

    expect(await untilBaselineData(config, 'http://127.0.0.1:9090', query)).toEqual([]);
    expect(query.asked).toEqual([]);
  });
});

describe('startAll', () => {
  it('resolves with every result, in order', async () => {
    expect(await startAll([Promise.resolve(1), Promise.resolve('two')] as const)).toEqual([1, 'two']);
  });

  it('waits for every start before throwing the first failure, so each can register its cleanup', async () => {
    let slowDone = false;
    const slow = new Promise<string>((resolve) => setTimeout(() => ((slowDone = true), resolve('slow')), 50));

    await expect(startAll([Promise.reject(new Error('PostgreSQL did not start')), slow] as const)).rejects.toThrow('PostgreSQL did not start');
    expect(slowDone).toBe(true);
  });
});
