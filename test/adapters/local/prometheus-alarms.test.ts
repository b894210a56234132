import { createServer, type Server } from 'node:http';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { histogramQuantile, PrometheusAlarms, type PrometheusAlarmsConfig } from '../../../adapters/local/prometheus-alarms';
import { MetricsFormatError, parsePrometheusText } from '../../../adapters/local/prometheus-text';
import { AlarmStateUnavailableError } from '../../../core/errors';
import { freePort } from '../../../local/free-port';
import { type DemoApp, startDemoApp } from '../../examples/demo-app-process';

const clock = { now: () => new Date('2025-01-02T03:04:05.000Z') };
const UPDATED = '2025-01-02T03:04:05.000Z';

/** A stub app whose /metrics page the test rewrites between scrapes. */
let page = { status: 200, text: '' };
let stub: Server;
let metricsUrl: string;

beforeAll(async () => {
  stub = createServer((req, res) => {
    res.writeHead(req.url === '/metrics' ? page.status : 404, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(page.text);
  });
  await new Promise<void>((done) => stub.listen(0, '127.0.0.1', done));
  const address = stub.address();
  metricsUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/metrics`;
});

afterAll(async () => {
  await new Promise((done) => stub.close(done));
});

const rules: PrometheusAlarmsConfig['rules'] = [
  { name: 'five-xx', metric: 'error-ratio', threshold: 0.01, minRequests: 10 },
  { name: 'p95', metric: 'latency-p95', threshold: 500, minRequests: 10 },
];
const alarms = () => new PrometheusAlarms({ kind: 'prometheus', metricsUrl, rules, preexisting: 'report' }, fetch, { clock });

/** A metrics page: request counts by status, and cumulative histogram counts by bucket bound. */
function metrics(requests: Record<string, number>, buckets: Record<string, number> = {}): string {
  const lines = ['# HELP http_requests_total Requests.', '# TYPE http_requests_total counter'];
  for (const [status, count] of Object.entries(requests)) lines.push(`http_requests_total{method="GET",route="/api/items",status="${status}"} ${count}`);
  lines.push('# TYPE http_request_duration_seconds histogram');
  for (const [le, count] of Object.entries(buckets)) lines.push(`http_request_duration_seconds_bucket{method="GET",route="/api/items",le="${le}"} ${count}`);
  lines.push('# TYPE app_info gauge', 'app_info{version="v2"} 1');
  return `${lines.join('\n')}\n`;
}

describe('PrometheusAlarms', () => {
  it('judges the 5xx ratio on the requests since the previous scrape', async () => {
    const source = alarms();
    page = { status: 200, text: metrics({ '200': 900, '500': 100 }) };
    expect(await source.states(['five-xx'])).toEqual([
      { name: 'five-xx', state: 'ALARM', reason: 'error ratio 10% (100 of 1000 requests since the last check) > threshold 1%', updatedAt: UPDATED },
    ]);

    page = { status: 200, text: metrics({ '200': 1098, '500': 102 }) };
    expect(await source.states(['five-xx'])).toEqual([
      { name: 'five-xx', state: 'OK', reason: 'error ratio 1% (2 of 200 requests since the last check) <= threshold 1%', updatedAt: UPDATED },
    ]);

    page = { status: 200, text: metrics({ '200': 1293, '500': 105, '503': 2 }) };
    expect((await source.states(['five-xx']))[0]).toMatchObject({ state: 'ALARM', reason: 'error ratio 2.5% (5 of 200 requests since the last check) > threshold 1%' });
  });

  it('computes the p95 latency in milliseconds from the histogram buckets', async () => {
    page = { status: 200, text: metrics({ '200': 100 }, { '0.1': 50, '0.2': 80, '0.5': 90, '1': 100, '+Inf': 100 }) };
    expect(await alarms().states(['p95'])).toEqual([
      { name: 'p95', state: 'ALARM', reason: 'p95 latency 750 ms over 100 requests since the last check > threshold 500 ms', updatedAt: UPDATED },
    ]);

    page = { status: 200, text: metrics({ '200': 100 }, { '0.1': 50, '0.2': 96, '0.5': 100, '1': 100, '+Inf': 100 }) };
    expect((await alarms().states(['p95']))[0]).toMatchObject({ state: 'OK', reason: 'p95 latency 198 ms over 100 requests since the last check <= threshold 500 ms' });
  });

  it('stays OK with fewer requests than minRequests in the window', async () => {
    const source = alarms();
    page = { status: 200, text: metrics({ '200': 50 }, { '0.1': 50, '+Inf': 50 }) };
    await source.states(['five-xx', 'p95']);

    page = { status: 200, text: metrics({ '200': 50, '500': 9 }, { '0.1': 50, '5': 59, '+Inf': 59 }) };
    expect(await source.states(['five-xx', 'p95'])).toEqual([
      { name: 'five-xx', state: 'OK', reason: 'not enough data: 9 requests since the last check, the rule needs 10', updatedAt: UPDATED },
      { name: 'p95', state: 'OK', reason: 'not enough data: 9 requests since the last check, the rule needs 10', updatedAt: UPDATED },
    ]);
  });

  it('starts a new window when the counters went down (the app restarted)', async () => {
    const source = alarms();
    page = { status: 200, text: metrics({ '200': 5000 }) };
    await source.states(['five-xx']);

    page = { status: 200, text: metrics({ '200': 30, '500': 20 }) };
    expect((await source.states(['five-xx']))[0]).toMatchObject({ state: 'ALARM', reason: 'error ratio 40% (20 of 50 requests since the last check) > threshold 1%' });
  });

  it('uses the fetch it is given', async () => {
    const seen: string[] = [];
    const fakeFetch = (async (url: string | URL | Request) => {
      seen.push(String(url));
      return new Response(metrics({ '200': 20 }));
    }) as typeof fetch;
    const source = new PrometheusAlarms({ kind: 'prometheus', metricsUrl: 'http://app.internal:9090/metrics', rules, preexisting: 'report' }, fakeFetch, { clock });
    expect((await source.states(['five-xx']))[0].state).toBe('OK');
    expect(seen).toEqual(['http://app.internal:9090/metrics']);
  });

  it('fails closed when the metrics URL is unreachable: AlarmStateUnavailableError', async () => {
    const port = await freePort();
    const source = new PrometheusAlarms({ kind: 'prometheus', metricsUrl: `http://127.0.0.1:${port}/metrics`, rules, preexisting: 'report' }, fetch, { clock });
    const failure = await source.states(['five-xx']).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AlarmStateUnavailableError);
    expect((failure as Error).message).toMatch(new RegExp(`^cannot read alarms.metricsUrl http://127.0.0.1:${port}/metrics: fetch failed`));
  });

  it('fails when the metrics page answers an HTTP error', async () => {
    page = { status: 503, text: 'unavailable' };
    await expect(alarms().states(['five-xx'])).rejects.toThrow(new AlarmStateUnavailableError(`cannot read alarms.metricsUrl ${metricsUrl}: HTTP 503`));
  });

  it('fails when the page is not Prometheus text', async () => {
    page = { status: 200, text: '<html>login</html>\n' };
    await expect(alarms().states(['five-xx'])).rejects.toThrow(AlarmStateUnavailableError);
  });

  it('fails when asked for an alarm no rule defines, naming it', async () => {
    page = { status: 200, text: metrics({ '200': 1 }) };
    await expect(alarms().states(['five-xx', 'cpu'])).rejects.toThrow(new AlarmStateUnavailableError('alarms.rules has no rule named "cpu" (rules: five-xx, p95)'));
  });

  describe('against the demo app', () => {
    let app: DemoApp | undefined;
    afterEach(async () => {
      await app?.stop();
    });

    it('fires the error-ratio alarm once the app starts failing after the smoke tests (errors-after)', async () => {
      app = await startDemoApp({ DEMO_FAULT: 'errors-after:0' });
      const source = new PrometheusAlarms({ kind: 'prometheus', metricsUrl: `${app.url}/metrics`, rules, preexisting: 'report' }, fetch, { clock });
      for (let i = 0; i < 20; i++) await (await fetch(`${app.url}/health`)).text();
      expect((await source.states(['five-xx']))[0]).toMatchObject({ state: 'OK', reason: 'error ratio 0% (0 of 20 requests since the last check) <= threshold 1%' });

      for (let i = 0; i < 20; i++) await (await fetch(`${app.url}/api/items`)).text();
      for (let i = 0; i < 5; i++) await (await fetch(`${app.url}/health`)).text();
      expect((await source.states(['five-xx']))[0]).toMatchObject({ state: 'ALARM', reason: 'error ratio 80% (20 of 25 requests since the last check) > threshold 1%' });
    });
  });
});

describe('histogramQuantile', () => {
  const histogram = fc
    .array(fc.tuple(fc.double({ min: 0.001, max: 100, noNaN: true }), fc.nat({ max: 1000 })), { minLength: 1, maxLength: 12 })
    .map((pairs) => {
      const bounds = [...new Set(pairs.map(([le]) => le))].sort((a, b) => a - b);
      let cumulative = 0;
      const buckets = bounds.map((le, i) => ({ le, count: (cumulative += pairs[i]?.[1] ?? 0) }));
      return [...buckets, { le: Number.POSITIVE_INFINITY, count: cumulative + 1 }];
    });

  it('lies within the bounds of the bucket holding the rank, and never decreases with q', () => {
    fc.assert(
      fc.property(histogram, fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (buckets, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(histogramQuantile(low, buckets)).toBeLessThanOrEqual(histogramQuantile(high, buckets) + 1e-9);
        const rank = high * (buckets.at(-1)?.count ?? 0);
        const index = buckets.findIndex((bucket) => bucket.count >= rank);
        const upper = buckets[index].le === Number.POSITIVE_INFINITY ? (buckets.at(-2)?.le ?? 0) : buckets[index].le;
        const lower = index === 0 ? 0 : buckets[index - 1].le;
        const value = histogramQuantile(high, buckets);
        expect(value).toBeGreaterThanOrEqual(Math.min(lower, upper) - 1e-9);
        expect(value).toBeLessThanOrEqual(upper + 1e-9);
      }),
    );
  });
});

describe('parsePrometheusText', () => {
  it('reads names, escaped label values, special values and ignores comments and timestamps', () => {
    const samples = parsePrometheusText(
      ['# HELP x help text', 'up 1', 'temp{room="a \\"b\\"\\\\c",floor="2",} -3.5e1 1700000000000', 'ratio NaN', 'bucket{le="+Inf"} +Inf', ''].join('\n'),
    );
    expect(samples.slice(0, 2)).toEqual([
      { name: 'up', labels: {}, value: 1 },
      { name: 'temp', labels: { room: 'a "b"\\c', floor: '2' }, value: -35 },
    ]);
    expect(samples[2].value).toBeNaN();
    expect(samples[3]).toEqual({ name: 'bucket', labels: { le: '+Inf' }, value: Number.POSITIVE_INFINITY });
  });

  it('fails when a line is not a sample, naming the line', () => {
    expect(() => parsePrometheusText('up 1\nup{job="x} 1\n')).toThrow(new MetricsFormatError('line 2 is not a Prometheus sample: unterminated label value (got "up{job=\\"x} 1")'));
    expect(() => parsePrometheusText('up one')).toThrow(MetricsFormatError);
  });
});
