import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cloudwatch, handler } from '../../../lambdas/evaluate-alarms/handler';
import { config } from '../../adapters/aws/rds-fixtures';

const context = { functionName: 'evaluate-alarms', awsRequestId: '8f5c3a1e-2b7d-4e8a-9c0f-1d2e3f4a5b6c' } as Context;

const mock = mockClient(CloudWatchClient);
afterEach(() => mock.reset());
afterAll(() => mock.restore());

describe('evaluate-alarms handler', () => {
  it('retries CloudWatch calls five times, adaptively', async () => {
    expect(await cloudwatch.config.maxAttempts()).toBe(5);
    expect(await cloudwatch.config.retryStrategy()).toMatchObject({ mode: 'adaptive' });
  });
});

describe('evaluate-alarms handler, invoked', () => {
  it('parses the EvaluateAlarms event and returns the next bake state', async () => {
    mock.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'shop-api-5xx-rate', StateValue: 'ALARM' },
        { AlarmName: 'shop-api-p95-latency', StateValue: 'OK' },
      ],
    });
    const bake = { checks: 0, startedAt: null, decision: 'healthy' as const, firing: [], newlyFiring: [], firingAtBaseline: [], lastCheckedAt: null, analysis: [], reason: null };
    const result = await handler({ config: config(), baseline: { takenAt: '2025-03-14T09:01:00.000Z', alarms: [], metrics: [] }, bake, bakeChecks: 10, expectedVersion: 'v2' }, context);
    expect(result).toMatchObject({ checks: 1, decision: 'regressed', newlyFiring: ['shop-api-5xx-rate'] });
  });
});
