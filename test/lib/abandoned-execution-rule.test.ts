import { describe, expect, it } from 'vitest';
import { DeploymentLockEvent } from '../../core/tasks/deployment-lock/deployment-lock';
import { NotifyEvent } from '../../core/tasks/notify/notify';
import { failStateErrors } from '../../lib/abandoned-execution-rule';
import { loadDefinition } from '../../statemachines/definition';
import { bareInput, exampleInput, resources, synth } from './fixtures';

/** What EventBridge sends for an execution stopped by StopExecution (an ABORTED execution has no error or cause). */
const ABORTED = {
  'detail-type': 'Step Functions Execution Status Change',
  source: 'aws.states',
  detail: {
    executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:runbook:ci-release-1-5-0',
    stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:runbook',
    name: 'ci-release-1-5-0',
    status: 'ABORTED',
    error: null,
    cause: null,
  },
};

/** An input transformer filled the way EventBridge fills it: a quoted placeholder becomes the value's text, null an empty string. */
function filled(transformer: { InputPathsMap: Record<string, string>; InputTemplate: string }, event: typeof ABORTED): unknown {
  const text = Object.entries(transformer.InputPathsMap).reduce((template, [name, path]) => {
    const value = path.split('.').slice(1).reduce<unknown>((at, key) => (at as Record<string, unknown>)?.[key], event);
    return template.replaceAll(`<${name}>`, JSON.stringify(value ?? ''));
  }, transformer.InputTemplate);
  return JSON.parse(text);
}

describe('the rule on executions that end outside the runbook', () => {
  const s = synth({ config: exampleInput });
  const watcher = s.stack.runbook.abandonedExecutions;
  const all = resources(s.template);
  const id = (construct: object) => s.stack.getLogicalId((construct as { node: { defaultChild: never } }).node.defaultChild);
  const rule = all[id(watcher.rule)].Properties;
  const targets = rule.Targets as { Arn: unknown; InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string } }[];

  it('matches the runbook state machine timing out, stopped, or failing outside its Fail states', () => {
    const fails = failStateErrors(loadDefinition());
    expect(fails).toEqual(
      expect.arrayContaining(['InvalidInput', 'ValidationUnavailable', 'DeploymentInProgress', 'LockUnavailable', 'DeploymentAborted', 'RolledBack', 'RollbackFailed']),
    );
    expect(rule.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        stateMachineArn: [{ Ref: id(s.stack.runbook.stateMachine) }],
        $or: [{ status: ['TIMED_OUT', 'ABORTED'] }, { status: ['FAILED'], error: [{ 'anything-but': fails }] }],
      },
    });
  });

  it('marks the lock stuck through the lock function, with an event its schema accepts', () => {
    const lock = targets.find((t) => JSON.stringify(t.Arn).includes(id(s.stack.runbook.functions['deployment-lock'])));
    expect(DeploymentLockEvent.parse(filled(lock!.InputTransformer, ABORTED))).toEqual({
      operation: 'mark-abandoned',
      config: { name: 'shop-api' },
      ended: { executionArn: ABORTED.detail.executionArn, name: 'ci-release-1-5-0', status: 'ABORTED', error: '', cause: '' },
    });
  });

  it('passes an execution that timed out to both functions as TIMED_OUT', () => {
    const timedOut = { ...ABORTED, detail: { ...ABORTED.detail, status: 'TIMED_OUT' } };
    const [lock, notify] = ['deployment-lock', 'notify'].map((name) =>
      targets.find((t) => JSON.stringify(t.Arn).includes(id(s.stack.runbook.functions[name as 'notify']))),
    );
    expect(DeploymentLockEvent.parse(filled(lock!.InputTransformer, timedOut))).toMatchObject({ operation: 'mark-abandoned', ended: { status: 'TIMED_OUT', executionArn: ABORTED.detail.executionArn } });
    expect(NotifyEvent.parse(filled(notify!.InputTransformer, timedOut))).toMatchObject({ event: 'execution-ended', ended: { status: 'TIMED_OUT', name: 'ci-release-1-5-0' } });
  });

  it('notifies through the notify function, to the configured topic', () => {
    const notify = targets.find((t) => JSON.stringify(t.Arn).includes(id(s.stack.runbook.functions.notify)));
    expect(NotifyEvent.parse(filled(notify!.InputTransformer, ABORTED))).toMatchObject({
      event: 'execution-ended',
      config: { name: 'shop-api', notifications: { topicArn: exampleInput.notifications?.topicArn } },
      ended: { status: 'ABORTED' },
    });
    expect(targets).toHaveLength(2);
  });

  it('lets EventBridge invoke exactly those two functions, from this rule only', () => {
    const permissions = Object.values(all).filter((r) => r.Type === 'AWS::Lambda::Permission' && JSON.stringify(r.Properties.SourceArn).includes(id(watcher.rule)));
    expect(permissions.map((p) => p.Properties.Principal)).toEqual(['events.amazonaws.com', 'events.amazonaws.com']);
  });

  it('is there without alarms or a topic too: every runbook needs its lock watched', () => {
    const bare = synth({ config: bareInput });
    expect(bare.stack.runbook.abandonedExecutions.rule).toBeDefined();
  });
});
