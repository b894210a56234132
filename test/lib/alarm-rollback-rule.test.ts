import { describe, expect, it } from 'vitest';
import { RollbackRequest } from '../../config/deployment-input';
import { bareInput, exampleInput, resources, synth } from './fixtures';

describe('alarm-triggered rollback', () => {
  const s = synth({ config: exampleInput });
  const rollback = s.stack.runbook.alarmRollback;
  const all = resources(s.template);
  const id = (construct: object) => s.stack.getLogicalId((construct as { node: { defaultChild: never } }).node.defaultChild);
  const rule = rollback && all[id(rollback.rule)].Properties;
  const target = (rule?.Targets as Record<string, unknown>[] | undefined)?.[0];

  it('matches the configured alarms entering ALARM, and nothing else', () => {
    expect(rule?.EventPattern).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: { alarmName: ['shop-api-5xx-rate', 'shop-api-p95-latency'], state: { value: ['ALARM'] } },
    });
    expect(rule?.State).toBe('ENABLED');
  });

  it('starts the runbook state machine with a rollback request naming the alarm', () => {
    expect(rule?.Targets).toHaveLength(1);
    expect(target).toMatchObject({
      Arn: { Ref: id(s.stack.runbook.stateMachine) },
      InputTransformer: {
        InputPathsMap: { 'detail-alarmName': '$.detail.alarmName', 'detail-state-reason': '$.detail.state.reason', time: '$.time' },
        InputTemplate: '{"action":"rollback","alarm":{"name":<detail-alarmName>,"reason":<detail-state-reason>,"time":<time>}}',
      },
    });
  });

  it('sends an input that the execution input schema accepts once EventBridge fills it in', () => {
    const template = (target?.InputTransformer as { InputTemplate: string }).InputTemplate;
    const event = { alarmName: 'shop-api-5xx-rate', reason: 'Threshold Crossed: 1 datapoint [4.2] was greater than 1.0', time: '2024-05-01T12:00:00Z' };
    const filled = template
      .replace('<detail-alarmName>', JSON.stringify(event.alarmName))
      .replace('<detail-state-reason>', JSON.stringify(event.reason))
      .replace('<time>', JSON.stringify(event.time));
    expect(RollbackRequest.parse(JSON.parse(filled))).toEqual({ action: 'rollback', alarm: { name: event.alarmName, reason: event.reason, time: event.time } });
  });

  it('retries delivery and keeps undeliverable events in an encrypted, TLS-only dead-letter queue', () => {
    const queueId = id(rollback?.deadLetterQueue as object);
    expect(target).toMatchObject({
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
    });
    expect(all[queueId].Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const policy = Object.values(all).find((r) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties.Queues) === JSON.stringify([{ Ref: queueId }]));
    expect(policy?.Properties).toMatchObject({
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          expect.objectContaining({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [id(rollback?.rule as object), 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  it.each([
    ['no alarm is named', bareInput],
    ['the rollback window is 0 hours', { ...exampleInput, rollbackWindowHours: 0 }],
  ])('creates no rule and no queue when %s', (_why, input) => {
    const { stack, template } = synth({ config: input });
    expect(stack.runbook.alarmRollback).toBeUndefined();
    expect(Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties.EventPattern.source)).toEqual([['aws.states']]);
    template.resourceCountIs('AWS::SQS::Queue', 1);
  });

  it('creates no rule when alarmRollback is false', () => {
    const { template } = synth({ config: exampleInput, alarmRollback: false });
    expect(Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties.EventPattern.source)).toEqual([['aws.states']]);
  });
});
