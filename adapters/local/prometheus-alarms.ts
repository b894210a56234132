import type { AlarmsConfig } from '../../config/schema';
import type { AlarmSource } from '../../core/ports/alarm-source';
import { type Clock, systemClock } from '../../core/ports/clock';
import { AlarmStateUnavailableError } from '../../core/errors';
import type { AlarmState } from '../../core/model';
import { redact } from './pg-connection';
import { parsePrometheusText, type Sample } from './prometheus-text';

export type PrometheusAlarmsConfig = Extract<AlarmsConfig, { kind: 'prometheus' }>;
type Rule = PrometheusAlarmsConfig['rules'][number];

/** The counter `error-ratio` reads: labelled with `status`. */
export const REQUESTS_METRIC = 'http_requests_total';
/** The histogram `latency-p95` reads, in seconds. */
export const DURATION_METRIC = 'http_request_duration_seconds';

export interface PrometheusAlarmsOptions {
  readonly clock?: Clock;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

/**
 * Rehearsal alarms: each rule is a threshold over the app's Prometheus `/metrics`, judged on what changed
 * since the previous scrape, as a CloudWatch alarm judges its last period rather than the app's lifetime.
 * A restarted app (counters going down) starts a new window. Unreadable metrics fail closed.
 */
export class PrometheusAlarms implements AlarmSource {
  private previous: Sample[] | null = null;
  private readonly clock: Clock;

  constructor(
    private readonly config: PrometheusAlarmsConfig,
    private readonly fetchMetrics: typeof fetch = fetch,
    private readonly options: PrometheusAlarmsOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async states(names: readonly string[]): Promise<AlarmState[]> {
    const rules = names.map((name) => this.config.rules.find((rule) => rule.name === name) ?? name);
    const unknown = rules.filter((rule): rule is string => typeof rule === 'string');
    if (unknown.length > 0) {
      throw new AlarmStateUnavailableError(`alarms.rules has no rule named ${unknown.map((n) => `"${n}"`).join(', ')} (rules: ${this.config.rules.map((r) => r.name).join(', ') || 'none'})`);
    }
    const current = (await this.scrape()).filter(isRead);
    const window = difference(current, this.previous);
    this.previous = current;
    const updatedAt = this.clock.now().toISOString();
    return (rules as Rule[]).map((rule) => ({ name: rule.name, updatedAt, ...evaluate(rule, window) }));
  }

  private async scrape(): Promise<Sample[]> {
    const url = this.config.metricsUrl;
    let text: string;
    try {
      const response = await this.fetchMetrics(url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000) });
      text = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    } catch (error) {
      throw new AlarmStateUnavailableError(`cannot read alarms.metricsUrl ${redact(url, [])}: ${(error as Error).message}`);
    }
    try {
      return parsePrometheusText(text);
    } catch (error) {
      throw new AlarmStateUnavailableError(`alarms.metricsUrl ${redact(url, [])} did not return Prometheus metrics: ${(error as Error).message}`);
    }
  }
}

/** Only the two families the rules read: other series (gauges) may go down without a restart. */
function isRead(sample: Sample): boolean {
  return sample.name === REQUESTS_METRIC || sample.name.startsWith(`${DURATION_METRIC}_`);
}

/** Counter increases since `previous`; when any counter went down the app restarted, and all of `current` is new. */
function difference(current: Sample[], previous: Sample[] | null): Sample[] {
  if (!previous) return current;
  const before = new Map(previous.map((sample) => [seriesKey(sample), sample.value]));
  const restarted = current.some((sample) => sample.value < (before.get(seriesKey(sample)) ?? 0));
  if (restarted) return current;
  return current.map((sample) => ({ ...sample, value: sample.value - (before.get(seriesKey(sample)) ?? 0) }));
}

function seriesKey(sample: Sample): string {
  const labels = Object.keys(sample.labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(sample.labels[name])}`);
  return `${sample.name}{${labels.join(',')}}`;
}

function evaluate(rule: Rule, window: Sample[]): Pick<AlarmState, 'state' | 'reason'> {
  return rule.metric === 'error-ratio' ? errorRatio(rule, window) : latencyP95(rule, window);
}

function errorRatio(rule: Rule, window: Sample[]): Pick<AlarmState, 'state' | 'reason'> {
  const requests = window.filter((sample) => sample.name === REQUESTS_METRIC);
  const total = sum(requests);
  const errors = sum(requests.filter((sample) => /^5\d\d$/.test(sample.labels.status ?? '')));
  if (total === 0 || total < rule.minRequests) return notEnough(total, rule);
  const ratio = errors / total;
  const breached = ratio > rule.threshold;
  return {
    state: breached ? 'ALARM' : 'OK',
    reason: `error ratio ${percent(ratio)} (${errors} of ${total} requests since the last check) ${breached ? '>' : '<='} threshold ${percent(rule.threshold)}`,
  };
}

function latencyP95(rule: Rule, window: Sample[]): Pick<AlarmState, 'state' | 'reason'> {
  const cumulative = new Map<number, number>();
  for (const sample of window.filter((s) => s.name === `${DURATION_METRIC}_bucket`)) {
    const le = sample.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(sample.labels.le);
    if (Number.isNaN(le)) continue;
    cumulative.set(le, (cumulative.get(le) ?? 0) + sample.value);
  }
  const buckets = [...cumulative].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.le === Number.POSITIVE_INFINITY ? (buckets.at(-1)?.count ?? 0) : 0;
  if (total === 0 || total < rule.minRequests) return notEnough(total, rule);
  const p95Ms = Math.round(histogramQuantile(0.95, buckets) * 1000);
  const breached = p95Ms > rule.threshold;
  return {
    state: breached ? 'ALARM' : 'OK',
    reason: `p95 latency ${p95Ms} ms over ${total} requests since the last check ${breached ? '>' : '<='} threshold ${rule.threshold} ms`,
  };
}

/**
 * The q-quantile of a cumulative histogram, interpolating linearly inside the bucket that holds it, as
 * PromQL's histogram_quantile does; a quantile in the +Inf bucket is the highest finite bound.
 */
export function histogramQuantile(q: number, buckets: readonly { le: number; count: number }[]): number {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Number.POSITIVE_INFINITY) return lowerBound;
      return lowerBound + (bucket.le - lowerBound) * ((rank - lowerCount) / (bucket.count - lowerCount));
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

function notEnough(total: number, rule: Rule): Pick<AlarmState, 'state' | 'reason'> {
  const seen = total === 0 ? 'no requests' : `${total} requests`;
  return { state: 'OK', reason: `not enough data: ${seen} since the last check, the rule needs ${Math.max(rule.minRequests, 1)}` };
}

function sum(samples: readonly Sample[]): number {
  return samples.reduce((total, sample) => total + sample.value, 0);
}

function percent(ratio: number): string {
  return `${Number((ratio * 100).toFixed(2))}%`;
}
