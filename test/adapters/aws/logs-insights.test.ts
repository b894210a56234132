import {
  CloudWatchLogsClient,
  CloudWatchLogsServiceException,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  StartQueryCommand,
  StopQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LogsInsightsQuery } from '../../../adapters/aws/logs-insights';
import { MetricQueryError } from '../../../core/errors';
import { analysisMetric } from '../../support/metric-queries';
import { clientConfig } from './rds-fixtures';

const AT = new Date('2025-03-14T09:30:00.750Z');
const QUERY_ID = '12ab3456-12ab-123a-789e-1234567890ab';
const QUERY = 'filter @message like /ERROR/ | stats count() as errors';
const logErrors = analysisMetric({
  name: 'log-errors',
  provider: { kind: 'logs', logGroupNames: ['/ecs/shop-api', '/ecs/shop-worker'], query: QUERY },
  successCondition: undefined,
  failureCondition: 'result > 0',
  windowSeconds: 120,
});

type Answer = Partial<GetQueryResultsCommandOutput>;
const running: Answer = { status: 'Running', results: [] };
const complete = (...rows: { field: string; value: string }[][]): Answer => ({ status: 'Complete', results: rows });

describe('LogsInsightsQuery', () => {
  const client = new CloudWatchLogsClient(clientConfig);
  const logs = mockClient(client);
  let slept: number[];
  const query = (options: { timeoutMs?: number } = {}) => new LogsInsightsQuery(client, { pollMs: 500, sleep: async (ms) => void slept.push(ms), ...options });
  beforeEach(() => {
    logs.reset();
    slept = [];
    logs.on(StartQueryCommand).resolves({ queryId: QUERY_ID });
  });

  it('starts the query over the window in seconds, polls until it completes and reads the first number', async () => {
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Scheduled' })
      .resolvesOnce(running)
      .resolves(
        complete(
          [
            { field: '@ptr', value: 'CmAKJgoiMTIzNDU2Nzg5MDEyOi9lY3Mvc2hvcC1hcGkQABI0GhgCBkQ' },
            { field: 'errors', value: '17' },
          ],
          [{ field: 'errors', value: '99' }],
        ),
      );

    expect(await query().value(logErrors, AT)).toBe(17);
    expect(logs.commandCalls(StartQueryCommand)[0].args[0].input).toEqual({
      logGroupNames: ['/ecs/shop-api', '/ecs/shop-worker'],
      queryString: QUERY,
      startTime: 1741944480,
      endTime: 1741944600,
      limit: 1,
    });
    expect(logs.commandCalls(GetQueryResultsCommand).map((call) => call.args[0].input)).toEqual([{ queryId: QUERY_ID }, { queryId: QUERY_ID }, { queryId: QUERY_ID }]);
    expect(slept).toEqual([500, 500]);
    expect(logs.commandCalls(StopQueryCommand)).toEqual([]);
  });

  it('skips text fields before the number', async () => {
    logs.on(GetQueryResultsCommand).resolves(complete([{ field: 'service', value: 'shop-api' }, { field: 'errors', value: ' ' }, { field: 'p95', value: '0.25' }]));
    expect(await query().value(logErrors, AT)).toBe(0.25);
  });

  it('reads no row as no data', async () => {
    logs.on(GetQueryResultsCommand).resolves(complete());
    expect(await query().value(logErrors, AT)).toBeNull();
  });

  it('fails when the first row holds no number, asking for stats', async () => {
    logs.on(GetQueryResultsCommand).resolves(complete([{ field: '@timestamp', value: '2025-03-14 09:29:01.000' }, { field: '@message', value: 'ERROR boom' }]));
    await expect(query().value(logErrors, AT)).rejects.toThrow(
      new MetricQueryError('the Logs Insights query answered no number in its first row (fields @timestamp, @message): end it with stats, such as "| stats count()"'),
    );
  });

  it.each(['Failed', 'Cancelled', 'Timeout', 'Unknown'] as const)('fails when the query ends %s', async (status) => {
    logs.on(GetQueryResultsCommand).resolves({ status });
    await expect(query().value(logErrors, AT)).rejects.toThrow(new MetricQueryError(`the Logs Insights query ${QUERY_ID} ended ${status}`));
  });

  it('stops a query still running after the timeout, and fails', async () => {
    logs.on(GetQueryResultsCommand).resolves(running);
    logs.on(StopQueryCommand).resolves({ success: true });

    await expect(query({ timeoutMs: 2000 }).value(logErrors, AT)).rejects.toThrow(new MetricQueryError(`the Logs Insights query ${QUERY_ID} was still Running after 2 s; it was stopped`));
    expect(logs.commandCalls(StopQueryCommand).map((call) => call.args[0].input)).toEqual([{ queryId: QUERY_ID }]);
    expect(logs.commandCalls(GetQueryResultsCommand)).toHaveLength(5);
    expect(slept).toEqual([500, 500, 500, 500]);
  });

  it('fails with the timeout even when stopping the query fails', async () => {
    logs.on(GetQueryResultsCommand).resolves(running);
    logs.on(StopQueryCommand).rejects(new Error('query already finished'));
    await expect(query({ timeoutMs: 500 }).value(logErrors, AT)).rejects.toThrow(/was still Running after 0.5 s; it was stopped$/);
  });

  it('fails with CloudWatch Logs’ error when it refuses the query', async () => {
    logs
      .on(StartQueryCommand)
      .rejects(new CloudWatchLogsServiceException({ name: 'MalformedQueryException', message: 'unexpected symbol found | at line 1 and position 30', $fault: 'client', $metadata: { httpStatusCode: 400 } }));

    await expect(query().value(logErrors, AT)).rejects.toThrow(new MetricQueryError('CloudWatch Logs StartQuery failed: MalformedQueryException: unexpected symbol found | at line 1 and position 30'));
    expect(logs.commandCalls(GetQueryResultsCommand)).toEqual([]);
  });

  it('fails when a log group does not exist, naming the SDK error', async () => {
    logs
      .on(StartQueryCommand)
      .rejects(new CloudWatchLogsServiceException({ name: 'ResourceNotFoundException', message: 'Log group does not exist', $fault: 'client', $metadata: { httpStatusCode: 400 } }));
    await expect(query().value(logErrors, AT)).rejects.toThrow('CloudWatch Logs StartQuery failed: ResourceNotFoundException: Log group does not exist');
  });

  it('fails when reading the results fails', async () => {
    logs.on(GetQueryResultsCommand).rejects(new CloudWatchLogsServiceException({ name: 'ThrottlingException', message: 'Rate exceeded', $fault: 'client', $metadata: {} }));
    await expect(query().value(logErrors, AT)).rejects.toThrow(new MetricQueryError('CloudWatch Logs GetQueryResults failed: ThrottlingException: Rate exceeded'));
  });

  it('fails when StartQuery answers no query id', async () => {
    logs.on(StartQueryCommand).resolves({});
    await expect(query().value(logErrors, AT)).rejects.toThrow(new MetricQueryError('CloudWatch Logs StartQuery answered no query id'));
  });

  it('refuses a metric of another provider', async () => {
    await expect(query().value(analysisMetric(), AT)).rejects.toThrow(new MetricQueryError('analysis metric p95: the Logs Insights adapter got a prometheus provider'));
    expect(logs.commandCalls(StartQueryCommand)).toEqual([]);
  });
});
