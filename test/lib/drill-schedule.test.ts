import { describe, expect, it } from 'vitest';
import { requestSchemaFor } from '../../config/deployment-input';
import type { RunbookConfigInput } from '../../config/schema';
import { DRILL_SCHEDULE_REQUESTER } from '../../lib/drill-schedule';
import { flatDeep, postgresInput, resources, roleStatements, synth } from './fixtures';

const scheduled = (backup: object): RunbookConfigInput => ({ ...postgresInput, backup: { drillSchedule: 'cron(0 3 ? * MON *)', ...backup } }) as RunbookConfigInput;

describe('the restore drill schedule (backup.drillSchedule)', () => {
  const s = synth({ config: scheduled({ drillScheduleTimezone: 'Europe/Paris' }) });
  const drill = s.stack.runbook.drillSchedule;
  const all = resources(s.template);
  const id = (construct: object) => s.stack.getLogicalId((construct as { node: { defaultChild: never } }).node.defaultChild);
  const schedule = drill && all[id(drill.schedule)];
  const target = schedule?.Properties.Target as Record<string, unknown> | undefined;

  it('is an EventBridge Scheduler schedule at the configured expression and time zone, with no flexible window', () => {
    expect(schedule?.Type).toBe('AWS::Scheduler::Schedule');
    expect(schedule?.Properties).toMatchObject({
      ScheduleExpression: 'cron(0 3 ? * MON *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
    });
    expect(s.template.findResources('AWS::Scheduler::Schedule')).toEqual({ [id(drill!.schedule)]: expect.anything() });
  });

  it('reads a schedule without a time zone in UTC', () => {
    const utc = synth({ config: scheduled({ drillSchedule: 'rate(7 days)' }) });
    utc.template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(7 days)', ScheduleExpressionTimezone: 'Etc/UTC', FlexibleTimeWindow: { Mode: 'OFF' } });
  });

  it('starts the runbook state machine with the drill input deploy-runbook drill sends, which ValidateInput accepts', () => {
    expect(target?.Arn).toEqual({ Ref: id(s.stack.runbook.stateMachine) });
    const input = JSON.parse(target?.Input as string);
    expect(input).toEqual({ action: 'drill', requestedBy: DRILL_SCHEDULE_REQUESTER, reason: 'scheduled restore drill, cron(0 3 ? * MON *)' });
    expect(requestSchemaFor(input).parse(input)).toEqual(input);
  });

  it('assumes a role of its own, trusted by EventBridge Scheduler for this account\'s default group only', () => {
    expect(target?.RoleArn).toEqual({ 'Fn::GetAtt': [id(drill!.role), 'Arn'] });
    expect(flatDeep(all[id(drill!.role)].Properties.AssumeRolePolicyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: {
            StringEquals: {
              'aws:SourceAccount': '<AWS::AccountId>',
              'aws:SourceArn': 'arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule-group/default',
            },
          },
        },
      ],
    });
  });

  it('may start executions of this state machine and send to its dead-letter queue, nothing else', () => {
    expect(roleStatements(s, drill!.role)).toEqual([
      { Effect: 'Allow', Action: ['states:StartExecution'], Resource: [`<${id(s.stack.runbook.stateMachine)}>`] },
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [`<${id(drill!.deadLetterQueue)}.Arn>`] },
    ]);
  });

  it('retries a start for two hours at most and keeps the rest in an encrypted dead-letter queue', () => {
    expect(target).toMatchObject({
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(drill!.deadLetterQueue), 'Arn'] } },
      RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
    });
    expect(all[id(drill!.deadLetterQueue)].Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('creates no schedule without backup.drillSchedule', () => {
    const { stack, template } = synth({ config: postgresInput });
    expect(stack.runbook.drillSchedule).toBeUndefined();
    expect(template.findResources('AWS::Scheduler::Schedule')).toEqual({});
  });
});
