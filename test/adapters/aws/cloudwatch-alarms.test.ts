import { type AlarmType, CloudWatchClient, CloudWatchServiceException, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchAlarmSource } from '../../../adapters/aws/cloudwatch-alarms';
import { AlarmStateUnavailableError } from '../../../core/errors';
import { clientConfig } from './rds-fixtures';

const ALARM_TYPES: AlarmType[] = ['CompositeAlarm', 'MetricAlarm'];
const UPDATED = new Date('2025-03-14T09:20:00.000Z');

function metricAlarm(name: string, state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' = 'OK') {
  return { AlarmName: name, StateValue: state, StateReason: `Threshold ${state}`, StateUpdatedTimestamp: UPDATED };
}

function serviceError(name: string, message: string) {
  return new CloudWatchServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

describe('CloudWatchAlarmSource', () => {
  const client = new CloudWatchClient(clientConfig);
  const cloudwatch = mockClient(client);
  const source = new CloudWatchAlarmSource(client);
  beforeEach(() => cloudwatch.reset());

  it('reads metric and composite alarms by name, in the order asked', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [metricAlarm('shop-api-p95-latency', 'INSUFFICIENT_DATA')],
      CompositeAlarms: [{ AlarmName: 'shop-api-health', StateValue: 'ALARM', StateReason: 'child alarms in ALARM' }],
    });
    expect(await source.states(['shop-api-health', 'shop-api-p95-latency'])).toEqual([
      { name: 'shop-api-health', state: 'ALARM', reason: 'child alarms in ALARM', updatedAt: null },
      { name: 'shop-api-p95-latency', state: 'INSUFFICIENT_DATA', reason: 'Threshold INSUFFICIENT_DATA', updatedAt: '2025-03-14T09:20:00.000Z' },
    ]);
    expect(cloudwatch).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 1);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)[0].args[0].input).toEqual({
      AlarmNames: ['shop-api-health', 'shop-api-p95-latency'],
      AlarmTypes: ALARM_TYPES,
    });
  });

  it('follows NextToken until every page is read', async () => {
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [metricAlarm('a')], NextToken: 'page-2' })
      .resolvesOnce({ MetricAlarms: [metricAlarm('b', 'ALARM')] });
    expect((await source.states(['a', 'b'])).map((alarm) => alarm.state)).toEqual(['OK', 'ALARM']);
    expect(cloudwatch).toHaveReceivedNthCommandWith(DescribeAlarmsCommand, 1, { AlarmNames: ['a', 'b'], AlarmTypes: ALARM_TYPES });
    expect(cloudwatch).toHaveReceivedNthCommandWith(DescribeAlarmsCommand, 2, { AlarmNames: ['a', 'b'], AlarmTypes: ALARM_TYPES, NextToken: 'page-2' });
  });

  it('asks for at most 100 names per call', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `alarm-${i}`);
    cloudwatch.on(DescribeAlarmsCommand).callsFake(async ({ AlarmNames }) => ({ MetricAlarms: AlarmNames.map((name: string) => metricAlarm(name)) }));
    expect(await source.states(names)).toHaveLength(150);
    const asked = cloudwatch.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input.AlarmNames);
    expect(asked).toEqual([names.slice(0, 100), names.slice(100)]);
  });

  it('asks once for a name configured twice', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [metricAlarm('a')] });
    expect(await source.states(['a', 'a'])).toHaveLength(1);
    expect(cloudwatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNames: ['a'] });
  });

  it('fails when a configured alarm does not exist, naming it', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [metricAlarm('shop-api-5xx-rate')] });
    await expect(source.states(['shop-api-5xx-rate', 'shop-api-p95-latncy'])).rejects.toThrow(
      new AlarmStateUnavailableError('CloudWatch has no metric or composite alarm named "shop-api-p95-latncy" (alarms.names)'),
    );
  });

  it('fails when CloudWatch keeps throttling, with the cause', async () => {
    const throttled = serviceError('ThrottlingException', 'Rate exceeded');
    cloudwatch.on(DescribeAlarmsCommand).rejects(throttled);
    const error = await source.states(['shop-api-5xx-rate']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlarmStateUnavailableError);
    expect(error).toMatchObject({ name: 'AlarmStateUnavailableError', message: 'could not read CloudWatch alarm states (ThrottlingException: Rate exceeded)', cause: throttled });
  });

  it('fails when access is denied', async () => {
    cloudwatch.on(DescribeAlarmsCommand).rejects(serviceError('AccessDenied', 'not authorized to perform: cloudwatch:DescribeAlarms'));
    await expect(source.states(['shop-api-5xx-rate'])).rejects.toThrow(/AccessDenied: not authorized/);
  });

  it('fails when the network is down', async () => {
    cloudwatch.on(DescribeAlarmsCommand).rejects(Object.assign(new Error('connect ETIMEDOUT 52.94.0.1:443'), { name: 'TimeoutError' }));
    await expect(source.states(['shop-api-5xx-rate'])).rejects.toThrow(AlarmStateUnavailableError);
  });

  it('fails when CloudWatch returns an alarm without a state', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'a' }] });
    await expect(source.states(['a'])).rejects.toThrow(new AlarmStateUnavailableError('CloudWatch returned no state for alarm "a"'));
  });
});
