import { type CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { AnalysisMetric, MetricProvider } from '../../config/schema';
import type { MetricQuery } from '../../core/ports/metric-query';
import { MetricQueryError } from '../../core/errors';

/** The IAM action behind each call CloudWatchMetricQuery makes (lib/task-permissions.ts grants from here). */
export const CLOUDWATCH_METRICS_IAM = {
  getMetricData: 'cloudwatch:GetMetricData',
} as const;

type CloudWatchProvider = Extract<MetricProvider, { kind: 'cloudwatch' }>;

/** The id GetMetricData returns the expression's result under. */
const RESULT_ID = 'result';

/**
 * A CloudWatch metric, or metric math over several, as one number: GetMetricData over the metric's window (one
 * period of the window, rounded up to a whole minute), the most recent value. No datapoint is no data; a
 * refused expression or a partial answer is a MetricQueryError carrying CloudWatch's message.
 */
export class CloudWatchMetricQuery implements MetricQuery {
  constructor(private readonly cloudwatch: CloudWatchClient) {}

  async value(metric: AnalysisMetric, at: Date): Promise<number | null> {
    const provider = metric.provider;
    if (provider.kind !== 'cloudwatch') throw new MetricQueryError(`analysis metric ${metric.name}: the CloudWatch adapter got a ${provider.kind} provider`);
    const period = Math.max(60, Math.ceil(metric.windowSeconds / 60) * 60);
    const queries = dataQueries(provider, period);
    let answer;
    try {
      answer = await this.cloudwatch.send(
        new GetMetricDataCommand({ StartTime: new Date(at.getTime() - period * 1000), EndTime: at, MetricDataQueries: queries, ScanBy: 'TimestampDescending' }),
      );
    } catch (error) {
      throw new MetricQueryError(`CloudWatch GetMetricData failed: ${(error as Error).name}: ${(error as Error).message}`);
    }
    const returned = queries.find((query) => query.ReturnData)?.Id;
    const result = answer.MetricDataResults?.find((one) => one.Id === returned);
    const messages = [...(answer.Messages ?? []), ...(result?.Messages ?? [])].map((message) => `${message.Code}: ${message.Value}`);
    if (!result || (result.StatusCode !== 'Complete' && result.StatusCode !== 'PartialData')) {
      throw new MetricQueryError(`CloudWatch GetMetricData answered ${result?.StatusCode ?? 'no result'} for ${returned}${messages.length > 0 ? `: ${messages.join('; ')}` : ''}`);
    }
    const [latest] = result.Values ?? [];
    return latest === undefined || !Number.isFinite(latest) ? null : latest;
  }
}

/** The metrics by id, and the expression (when there is one) as the only query returning data. */
function dataQueries(provider: CloudWatchProvider, period: number): MetricDataQuery[] {
  const ids = Object.keys(provider.metrics);
  // An expression that is one of the ids reads that metric; only real metric math gets a query of its own.
  const math = provider.expression !== undefined && !ids.includes(provider.expression);
  const returned = math ? RESULT_ID : (provider.expression ?? ids[0]);
  const stats: MetricDataQuery[] = Object.entries(provider.metrics).map(([id, one]) => ({
    Id: id,
    MetricStat: {
      Metric: { Namespace: one.namespace, MetricName: one.metricName, Dimensions: Object.entries(one.dimensions).map(([Name, Value]) => ({ Name, Value })) },
      Period: period,
      Stat: one.stat,
    },
    ReturnData: id === returned,
  }));
  return math ? [...stats, { Id: RESULT_ID, Expression: provider.expression, Period: period, ReturnData: true }] : stats;
}
