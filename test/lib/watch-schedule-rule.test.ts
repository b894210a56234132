import { describe, expect, it } from 'vitest';
import { requestSchemaFor } from '../../config/deployment-input';
import type { RunbookConfigInput } from '../../config/schema';
import { exampleInput, resources, synth } from './fixtures';

const P95 = { name: 'p95', provider: { kind: 'prometheus', url: 'https://prometheus.example.com', query: 'p95' }, successCondition: 'result <= baseline * 2' };
const watchedInput = { ...exampleInput, analysis: { metrics: [P95], watch: { everyMinutes: 60 } } } as RunbookConfigInput;

describe('the post-release watch schedule', () => {
  const s = synth({ config: watchedInput });
  const watch = s.stack.runbook.watchSchedule;
  const all = resources(s.template);
  const id = (construct: object) => s.stack.getLogicalId((construct as { node: { defaultChild: never } }).node.defaultChild);
  const rule = watch && all[id(watch.rule)].Properties;
  const target = (rule?.Targets as Record<string, unknown>[] | undefined)?.[0];

  it('fires at analysis.watch.everyMinutes, with no event pattern', () => {
    expect(rule).toMatchObject({ ScheduleExpression: 'rate(1 hour)', State: 'ENABLED' });
    expect(rule?.EventPattern).toBeUndefined();
    expect(synth({ config: { ...watchedInput, analysis: { metrics: [P95], watch: { everyMinutes: 15 } } } as RunbookConfigInput }).template.findResources('AWS::Events::Rule', { Properties: { ScheduleExpression: 'rate(15 minutes)' } })).not.toEqual({});
  });

  it('starts the runbook with {action: "watch"}, an input ValidateInput accepts', () => {
    expect(rule?.Targets).toHaveLength(1);
    expect(target).toMatchObject({ Arn: { Ref: id(s.stack.runbook.stateMachine) } });
    const input = JSON.parse(target?.Input as string);
    expect(input).toEqual({ action: 'watch', requestedBy: 'post-release watch schedule' });
    expect(requestSchemaFor(input).parse(input)).toEqual(input);
  });

  it('may start executions of this state machine only', () => {
    const roleId = (target?.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const policies = Object.values(all).filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]));
    expect(policies.flatMap((p) => (p.Properties.PolicyDocument as { Statement: unknown[] }).Statement)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: id(s.stack.runbook.stateMachine) } },
    ]);
  });

  it('retries delivery for no longer than one interval and keeps the rest in an encrypted dead-letter queue', () => {
    const queueId = id(watch?.deadLetterQueue as object);
    expect(target).toMatchObject({ DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } }, RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 } });
    expect(all[queueId].Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('lets the ledger function read the lock object, and write nothing more, only with a watch', () => {
    const ledgerPolicy = (config: RunbookConfigInput) => {
      const { stack, template } = synth({ config });
      const role = stack.getLogicalId(stack.runbook.functions.ledger.role!.node.defaultChild as never);
      const statements = Object.values(resources(template))
        .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: role }]))
        .flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }).Statement);
      return statements.filter((statement) => JSON.stringify(statement.Resource).includes('locks/'));
    };
    expect(ledgerPolicy(watchedInput)).toEqual([
      { Action: 's3:GetObject', Effect: 'Allow', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.any(String), 'Arn'] }, '/locks/shop-api.json']] } },
    ]);
    expect(ledgerPolicy(exampleInput)).toEqual([]);
  });

  it('creates no schedule without analysis.watch', () => {
    const { stack, template } = synth({ config: exampleInput });
    expect(stack.runbook.watchSchedule).toBeUndefined();
    expect(Object.values(template.findResources('AWS::Events::Rule')).filter((r) => r.Properties.ScheduleExpression !== undefined)).toEqual([]);
  });
});
