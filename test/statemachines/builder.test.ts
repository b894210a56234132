import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  activity,
  activityTask,
  catchAll,
  DuplicateStateError,
  format,
  is,
  lambdaFunction,
  parameters,
  ParametersMismatchError,
  placeholder,
  PlaceholderPositionError,
  root,
  States,
  task,
  TaskTokenInParametersError,
  wait,
} from '../../statemachines/asl';
import { renderDefinition } from '../../statemachines/build';
import { DEFINITION_PATH } from '../../statemachines/definition';

const $ = root<{ deployment: { id: string; version: string | null }; lock: { key: string } }>('$');
const Event = z.discriminatedUnion('operation', [
  z.object({ operation: z.literal('acquire'), deployment: z.object({ id: z.string() }) }),
  z.object({ operation: z.literal('release'), deployment: z.object({ id: z.string() }), note: z.string().nullable().default(null) }),
]);
const lockFunction = lambdaFunction('DeploymentLockFunctionArn', Event);
const settings = placeholder<{ name: string; polling: { intervalSeconds: number; maxAttempts: number } }>('RunbookConfig');
const $poll = root<{ poll: { attempts: number; limit: number } }>('$');
const options = { resultPath: '$.lock', timeoutSeconds: 30, catch: [catchAll({ resultPath: '$.error', next: 'Failed' })], next: 'Done' };

describe('the definition builder', () => {
  it('writes exactly the committed statemachines/deployment.asl.json (run npm run build:asl after changing statemachines/runbook.ts)', () => {
    expect(renderDefinition()).toBe(readFileSync(DEFINITION_PATH, 'utf8'));
  });

  it('writes Refs and intrinsics as path fields, literals and nested objects as they are', () => {
    expect(parameters({ id: $.deployment.id, cause: format('{} failed', $.deployment.version), kind: 'ecs', nested: { key: $.lock.key, n: 1 } })).toEqual({
      'id.$': '$.deployment.id',
      'cause.$': "States.Format('{} failed', $.deployment.version)",
      kind: 'ecs',
      nested: { 'key.$': '$.lock.key', n: 1 },
    });
  });

  it('writes a placeholder where its value goes, filled at synth: a whole string, never a path field', () => {
    expect(parameters({ config: { name: settings.name }, all: settings })).toEqual({ config: { name: '${RunbookConfig.name}' }, all: '${RunbookConfig}' });
    expect(wait(settings.polling.intervalSeconds, 'Check')).toEqual({ Type: 'Wait', Seconds: '${RunbookConfig.polling.intervalSeconds}', Next: 'Check' });
    expect(is.atLeast($poll.poll.attempts, settings.polling.maxAttempts)).toEqual({
      Variable: '$.poll.attempts',
      NumericGreaterThanEquals: '${RunbookConfig.polling.maxAttempts}',
    });
    expect(is.atLeast($poll.poll.attempts, $poll.poll.limit)).toEqual({ Variable: '$.poll.attempts', NumericGreaterThanEqualsPath: '$.poll.limit' });
  });

  it('fails when a placeholder stands where a JSONPath is read', () => {
    expect(() => is.null(settings.name)).toThrow(
      new PlaceholderPositionError('${RunbookConfig.name} is filled at synth: it cannot stand where a JSONPath is read'),
    );
  });

  it('gives every Task the Lambda retrier, its catchers and the ARN placeholder of its function', () => {
    expect(task('AcquireLock', lockFunction, { operation: 'acquire', deployment: $.deployment }, options)).toMatchObject({
      Type: 'Task',
      Resource: '${DeploymentLockFunctionArn}',
      Parameters: { operation: 'acquire', 'deployment.$': '$.deployment' },
      Retry: [{ ErrorEquals: expect.arrayContaining(['Lambda.TooManyRequestsException']), JitterStrategy: 'FULL' }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' }],
      Next: 'Done',
    });
  });

  it('waits on an activity without the Lambda retrier, its Parameters checked against the task input', () => {
    const approvals = activity('RestoreApprovalActivityArn', z.object({ execution: z.string() }));
    const $$ = root<{ Execution: { Id: string } }>('$$');
    expect(activityTask('AwaitApproval', approvals, { execution: $$.Execution.Id }, { ...options, timeoutSeconds: '${RestoreApprovalTimeoutSeconds}' })).toEqual({
      Type: 'Task',
      Resource: '${RestoreApprovalActivityArn}',
      Parameters: { 'execution.$': '$$.Execution.Id' },
      ResultPath: '$.lock',
      TimeoutSeconds: '${RestoreApprovalTimeoutSeconds}',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' }],
      Next: 'Done',
    });
    expect(() => activityTask('AwaitApproval', approvals, { execution: $$.Execution.Id, extra: 1 } as never, options)).toThrow(ParametersMismatchError);
  });

  // Issue 9, item 13: Parameters are logged with execution data (level ALL); the token is a credential.
  it('refuses to write the task token into Parameters, as a path or inside an intrinsic', () => {
    const $$ = root<{ Task: { Token: string } }>('$$');
    expect(() => parameters({ taskToken: $$.Task.Token })).toThrow(TaskTokenInParametersError);
    expect(() => parameters({ nested: { token: format('token {}', $$.Task.Token) } })).toThrow(
      new TaskTokenInParametersError('Parameters.token reads $$.Task.Token: the token would be logged with the Parameters; wait on an activity instead'),
    );
  });

  it('leaves out fields the event fills with a default', () => {
    expect(() => task('ReleaseLock', lockFunction, { operation: 'release', deployment: $.deployment }, options)).not.toThrow();
  });

  it('fails when Parameters name a field the event does not have', () => {
    const extra = { operation: 'acquire', deployment: $.deployment, lease: $.lock } as never;
    expect(() => task('AcquireLock', lockFunction, extra, options)).toThrow(
      new ParametersMismatchError('AcquireLock (DeploymentLockFunctionArn): Parameters.lease is not a field of the event (fields: operation, deployment)'),
    );
  });

  it('fails when Parameters leave out a field the event requires', () => {
    expect(() => task('AcquireLock', lockFunction, { operation: 'acquire' } as never, options)).toThrow(
      'AcquireLock (DeploymentLockFunctionArn): the event needs deployment, which the Parameters do not give',
    );
  });

  it('fails when the discriminator selects no event of the function', () => {
    expect(() => task('StealLock', lockFunction, { operation: 'steal', deployment: $.deployment } as never, options)).toThrow(
      'StealLock: Parameters.operation is "steal", which selects no event of the function',
    );
  });

  it('fails when two states have the same name', () => {
    expect(() => new States().add('Done', { Type: 'Succeed' }).add('Done', { Type: 'Succeed' })).toThrow(
      new DuplicateStateError('state Done is defined twice'),
    );
  });
});
