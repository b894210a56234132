import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvSecretSource } from '../adapters/env-secret-source';
import { PrometheusQuery } from '../adapters/prometheus-query';
import { Analysis } from '../config/schema';
import { measureBaselines, measureCheckpoint } from '../core/analysis';
import { startPrometheus } from '../local/prometheus/server';

/** What one bake checkpoint costs when it measures ten PromQL metrics against a real Prometheus. */
export interface AnalysisCheckpointBenchResult {
  readonly metrics: number;
  readonly rounds: number;
  /** The series Prometheus held for the queries to read. */
  readonly series: number;
  readonly medianMs: number;
  readonly maxMs: number;
  /** Preflight's baselines of the same metrics, once. */
  readonly baselineMs: number;
}

export interface AnalysisCheckpointBenchOptions {
  /** @default BENCH_CHECKPOINT_ROUNDS or 20 */
  readonly rounds?: number;
  readonly log?: (line: string) => void;
}

const ROUTES = ['/api/items', '/api/orders', '/api/users/me', '/api/auth/login', '/health'];
const STATUSES = ['200', '201', '404', '500', '503'];
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.75, 1, 2, 5];
const SCRAPE_INTERVAL_MS = 500;
/** Scraped history before the checkpoint: the queries' 30 s windows are mostly full. */
const HISTORY_MS = 20_000;

/** The seeds' thresholds as ten PromQL metrics: latency quantiles, error rates, throughput, per route. */
const QUERIES: readonly (readonly [string, string, string])[] = [
  ['p50-latency', 'histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[30s])))', 'result <= baseline * 2'],
  ['p95-latency', 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[30s])))', 'result <= baseline * 1.5'],
  ['p99-latency', 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[30s])))', 'result <= 2'],
  ['items-p95', 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{route="/api/items"}[30s])))', 'result <= 0.5'],
  ['error-rate', '(sum(rate(http_requests_total{status=~"5.."}[30s])) or vector(0)) / sum(rate(http_requests_total[30s]))', 'result <= baseline + 0.05'],
  ['server-errors', 'sum(increase(http_requests_total{status="500"}[30s]))', 'result <= baseline * 1.5'],
  ['not-found-rate', 'sum(rate(http_requests_total{status="404"}[30s])) / sum(rate(http_requests_total[30s]))', 'result <= 0.5'],
  ['throughput', 'sum(rate(http_requests_total[30s]))', 'result >= baseline * 0.5'],
  ['login-rate', 'sum(rate(http_requests_total{route="/api/auth/login"}[30s]))', 'result >= 0'],
  ['mean-latency', 'sum(rate(http_request_duration_seconds_sum[30s])) / sum(rate(http_request_duration_seconds_count[30s]))', 'result <= baseline * 2'],
];

/**
 * Starts Prometheus scraping a synthetic app (5 routes × 5 statuses of counters, a 20-bucket histogram per route),
 * lets it gather a short history, then times measureCheckpoint with ten prometheus metrics through PrometheusQuery,
 * as EvaluateAlarms does at one checkpoint. Prints a JSON line and a readable one.
 */
export async function run(options: AnalysisCheckpointBenchOptions = {}): Promise<AnalysisCheckpointBenchResult> {
  const rounds = options.rounds ?? Number(process.env.BENCH_CHECKPOINT_ROUNDS ?? 20);
  const log = options.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const app = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(syntheticMetrics((Date.now() - started) / 1000));
  });
  await new Promise<void>((done) => app.listen(0, '127.0.0.1', done));
  const address = app.address();
  const target = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const prometheus = await startPrometheus({ targets: [target], scrapeIntervalMs: SCRAPE_INTERVAL_MS });
  try {
    await prometheus.scraped();
    await sleep(HISTORY_MS);
    const analysis = Analysis.parse({
      metrics: QUERIES.map(([name, query, successCondition]) => ({ name, provider: { kind: 'prometheus', url: prometheus.url, query }, successCondition })),
    });
    const query = new PrometheusQuery({ secretRefs: {}, secrets: new EnvSecretSource({}) });
    const baselineStarted = performance.now();
    const { baselines, checks } = await measureBaselines(analysis.metrics, query, new Date());
    const baselineMs = performance.now() - baselineStarted;
    const refused = checks.filter((check) => !check.ok);
    if (refused.length > 0) throw new Error(`the benchmark's baselines failed: ${refused.map((check) => `${check.name}: ${check.detail}`).join('; ')}`);
    const timings: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const at = new Date();
      const begun = performance.now();
      const records = await measureCheckpoint({ analysis, bake: { durationSeconds: 600, pollSeconds: 60 }, bakeChecks: 10, check: 1, baselines, records: [] }, query, at);
      timings.push(performance.now() - begun);
      const unmeasured = records.filter((record) => record.measurements.length !== 1 || record.measurements[0].outcome === 'error');
      if (unmeasured.length > 0) throw new Error(`the checkpoint did not measure ${unmeasured.map((record) => `${record.name} (${record.measurements[0]?.detail ?? 'no measurement'})`).join(', ')}`);
    }
    timings.sort((a, b) => a - b);
    const result: AnalysisCheckpointBenchResult = {
      metrics: analysis.metrics.length,
      rounds,
      series: ROUTES.length * (STATUSES.length + BUCKETS.length + 3),
      medianMs: Math.round(timings[Math.floor(timings.length / 2)]),
      maxMs: Math.round(timings[timings.length - 1]),
      baselineMs: Math.round(baselineMs),
    };
    log(JSON.stringify({ bench: 'analysis-checkpoint', ...result }));
    log(
      `analysis-checkpoint: ${result.metrics} PromQL metrics against Prometheus on 127.0.0.1 (${result.series} series, ${HISTORY_MS / 1000} s of history): ` +
        `one checkpoint ${result.medianMs} ms median, ${result.maxMs} ms max over ${rounds} rounds (target <= 2000 ms); baselines ${result.baselineMs} ms`,
    );
    return result;
  } finally {
    await prometheus.stop();
    await new Promise((done) => app.close(done));
  }
}

/** Counters and histograms that grow steadily with the seconds since start, as an app under steady traffic would. */
function syntheticMetrics(seconds: number): string {
  const lines = ['# TYPE http_requests_total counter'];
  ROUTES.forEach((route, r) => {
    STATUSES.forEach((status, s) => lines.push(`http_requests_total{route="${route}",status="${status}"} ${Math.floor(seconds * (s === 0 ? 40 : 1) * (r + 1))}`));
  });
  lines.push('# TYPE http_request_duration_seconds histogram');
  ROUTES.forEach((route, r) => {
    const count = Math.floor(seconds * 40 * (r + 1));
    // Cumulative: a share of the requests at or under each bound, rising to all of them.
    BUCKETS.forEach((le, b) => lines.push(`http_request_duration_seconds_bucket{route="${route}",le="${le}"} ${Math.floor((count * (b + 1)) / BUCKETS.length)}`));
    lines.push(`http_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${count}`);
    lines.push(`http_request_duration_seconds_sum{route="${route}"} ${(count * 0.12).toFixed(3)}`);
    lines.push(`http_request_duration_seconds_count{route="${route}"} ${count}`);
  });
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
