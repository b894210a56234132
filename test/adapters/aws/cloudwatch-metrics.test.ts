import { CloudWatchClient, CloudWatchServiceException, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchMetricQuery } from '../../../adapters/aws/cloudwatch-metrics';
import { MetricQueryError } from '../../../core/errors';
import { analysisMetric } from '../../support/metric-queries';
import { clientConfig } from './rds-fixtures';

const AT = new Date('2025-03-14T09:30:00.000Z');
const LOAD_BALANCER = 'app/shop-api/0123456789abcdef';
const ALB = { namespace: 'AWS/ApplicationELB', dimensions: { LoadBalancer: LOAD_BALANCER } };
const ALB_DIMENSIONS = [{ Name: 'LoadBalancer', Value: LOAD_BALANCER }];

function cloudwatchMetric(provider: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return analysisMetric({ name: 'error-rate', provider: { kind: 'cloudwatch', ...provider }, successCondition: 'result < 1', ...overrides });
}

const errorRate = cloudwatchMetric({
  expression: 'errors / requests * 100',
  metrics: { errors: { ...ALB, metricName: 'HTTPCode_Target_5XX_Count', stat: 'Sum' }, requests: { ...ALB, metricName: 'RequestCount', stat: 'Sum' } },
});
const latency = cloudwatchMetric({ metrics: { latency: { ...ALB, metricName: 'TargetResponseTime', stat: 'p95' } } }, { name: 'latency' });

describe('CloudWatchMetricQuery', () => {
  const client = new CloudWatchClient(clientConfig);
  const cloudwatch = mockClient(client);
  const query = new CloudWatchMetricQuery(client);
  beforeEach(() => cloudwatch.reset());

  it('reads metric math over the window, returning data from the expression only', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'result', StatusCode: 'Complete', Values: [0.42], Timestamps: [AT] }] });

    expect(await query.value(errorRate, AT)).toBe(0.42);
    expect(cloudwatch.commandCalls(GetMetricDataCommand)[0].args[0].input).toEqual({
      StartTime: new Date('2025-03-14T09:25:00.000Z'),
      EndTime: AT,
      ScanBy: 'TimestampDescending',
      MetricDataQueries: [
        { Id: 'errors', MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: ALB_DIMENSIONS }, Period: 300, Stat: 'Sum' }, ReturnData: false },
        { Id: 'requests', MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: ALB_DIMENSIONS }, Period: 300, Stat: 'Sum' }, ReturnData: false },
        { Id: 'result', Expression: 'errors / requests * 100', Period: 300, ReturnData: true },
      ],
    });
  });

  it('reads a single metric, a percentile, as the one query returning data', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'latency', StatusCode: 'Complete', Values: [0.31, 0.25], Timestamps: [AT, new Date('2025-03-14T09:25:00.000Z')] }] });

    expect(await query.value(latency, AT)).toBe(0.31);
    expect(cloudwatch.commandCalls(GetMetricDataCommand)[0].args[0].input.MetricDataQueries).toEqual([
      { Id: 'latency', MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'TargetResponseTime', Dimensions: ALB_DIMENSIONS }, Period: 300, Stat: 'p95' }, ReturnData: true },
    ]);
  });

  it('reads the metric an expression names by its id, without adding an expression', async () => {
    const named = cloudwatchMetric({ expression: 'errors', metrics: { errors: { ...ALB, metricName: 'HTTPCode_Target_5XX_Count', stat: 'Sum' }, requests: { ...ALB, metricName: 'RequestCount', stat: 'Sum' } } });
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'errors', StatusCode: 'Complete', Values: [3] }] });

    expect(await query.value(named, AT)).toBe(3);
    expect(cloudwatch.commandCalls(GetMetricDataCommand)[0].args[0].input.MetricDataQueries?.map((q) => [q.Id, q.ReturnData])).toEqual([
      ['errors', true],
      ['requests', false],
    ]);
  });

  it.each([
    ['a metric called result', { metrics: { result: { ...ALB, metricName: 'RequestCount', stat: 'Sum' } } }],
    ['a metric called result, named by the expression', { expression: 'result', metrics: { result: { ...ALB, metricName: 'RequestCount', stat: 'Sum' } } }],
  ])('asks each id once for %s', async (_case, provider) => {
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'result', StatusCode: 'Complete', Values: [7] }] });

    expect(await query.value(cloudwatchMetric(provider), AT)).toBe(7);
    expect(cloudwatch.commandCalls(GetMetricDataCommand)[0].args[0].input.MetricDataQueries).toEqual([
      { Id: 'result', MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: ALB_DIMENSIONS }, Period: 300, Stat: 'Sum' }, ReturnData: true },
    ]);
  });

  it.each([
    [10, 60],
    [60, 60],
    [61, 120],
    [300, 300],
    [301, 360],
    [3600, 3600],
  ])('covers a %s s window with one period of %s s, whole minutes', async (windowSeconds, period) => {
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'latency', StatusCode: 'Complete', Values: [] }] });

    await query.value({ ...latency, windowSeconds }, AT);
    const input = cloudwatch.commandCalls(GetMetricDataCommand)[0].args[0].input;
    expect(input.MetricDataQueries?.[0].MetricStat?.Period).toBe(period);
    expect(input.StartTime).toEqual(new Date(AT.getTime() - period * 1000));
  });

  it('reads no datapoint as no data, even with partial data', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'latency', StatusCode: 'PartialData', Values: [] }] });
    expect(await query.value(latency, AT)).toBeNull();
  });

  it('fails with CloudWatch’s messages when the expression is refused', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'result', StatusCode: 'InternalError', Values: [], Messages: [{ Code: 'ArithmeticError', Value: 'One or more data-points have been dropped due to non-numeric values (NaN, -Infinite, +Infinite)' }] }],
      Messages: [{ Code: 'Warning', Value: 'expression uses unknown id errorz' }],
    });

    const error = await query.value(errorRate, AT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetricQueryError);
    expect((error as Error).message).toBe(
      'CloudWatch GetMetricData answered InternalError for result: Warning: expression uses unknown id errorz; ArithmeticError: One or more data-points have been dropped due to non-numeric values (NaN, -Infinite, +Infinite)',
    );
  });

  it('fails when the answer has no result for the query returning data', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    await expect(query.value(latency, AT)).rejects.toThrow(new MetricQueryError('CloudWatch GetMetricData answered no result for latency'));
  });

  it('fails with the SDK’s error name and message when the call fails', async () => {
    cloudwatch
      .on(GetMetricDataCommand)
      .rejects(new CloudWatchServiceException({ name: 'InvalidParameterValueException', message: 'The value p950 for parameter Stat is not valid.', $fault: 'client', $metadata: { httpStatusCode: 400 } }));

    await expect(query.value(latency, AT)).rejects.toThrow(new MetricQueryError('CloudWatch GetMetricData failed: InvalidParameterValueException: The value p950 for parameter Stat is not valid.'));
  });

  it('refuses a metric of another provider', async () => {
    await expect(query.value(analysisMetric(), AT)).rejects.toThrow(new MetricQueryError('analysis metric p95: the CloudWatch adapter got a prometheus provider'));
    expect(cloudwatch.commandCalls(GetMetricDataCommand)).toEqual([]);
  });
});
