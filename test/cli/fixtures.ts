import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, type GetExecutionHistoryCommandInput, type HistoryEvent, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { expect } from 'vitest';
import type { CliIo } from '../../cli/io';
import { main } from '../../cli/main';
import type { StateEvent } from '../../core/state-event';

/** One entry of a scripted execution, in the order Step Functions would run it. */
export type ScriptItem =
  | {
      readonly task: string;
      /** The whole execution state after the task (stateExitedEventDetails.output). */
      readonly output?: unknown;
      /** Failed attempts that were retried. */
      readonly retriedErrors?: readonly { error: string; cause?: string }[];
      /** The last attempt failed with this and a Catch took it. */
      readonly caught?: { error: string; cause?: string };
      /** The last attempt failed with this and nothing caught it: the execution fails. */
      readonly uncaught?: { error: string; cause?: string };
      readonly ms?: number;
    }
  | { readonly pass: string }
  | { readonly choice: string }
  | { readonly wait: string; readonly ms?: number }
  | { readonly fail: string; readonly error: string; readonly cause?: string }
  | { readonly succeed: string; readonly output?: unknown };

/** The bake loop: Wait → EvaluateAlarms → BakeVerdict, `checks` times, a minute apart. */
export function bake(checks: number): ScriptItem[] {
  return Array.from({ length: checks }, (): ScriptItem[] => [{ wait: 'WaitDuringBake', ms: 60_000 }, { task: 'EvaluateAlarms' }, { choice: 'BakeVerdict' }]).flat();
}

export const EXECUTION_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:deploy-runbook-shop-api:v1.4.2-20250102T030405Z';
export const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:deploy-runbook-shop-api';
export const STARTED_AT = Date.parse('2025-01-02T03:04:05.000Z');

/**
 * The history Step Functions records for a script: StateEntered/Exited per state, and for a Lambda task
 * (Resource = function ARN) LambdaFunctionScheduled/Started/Succeeded or Failed per attempt.
 */
export function sfnHistory(script: readonly ScriptItem[], input: unknown = { action: 'deploy', version: 'v1.4.2' }): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  let at = STARTED_AT;
  const add = (type: string, details: Partial<HistoryEvent> = {}, advance = 100) => {
    at += advance;
    events.push({ id: events.length + 1, previousEventId: events.length, timestamp: new Date(at), type: type as HistoryEvent['type'], ...details });
  };
  add('ExecutionStarted', { executionStartedEventDetails: { input: JSON.stringify(input), roleArn: 'arn:aws:iam::123456789012:role/sfn' } }, 0);
  for (const item of script) {
    if ('task' in item) {
      add('TaskStateEntered', { stateEnteredEventDetails: { name: item.task, input: '{}' } });
      const attempt = (failure?: { error: string; cause?: string }) => {
        add('LambdaFunctionScheduled', { lambdaFunctionScheduledEventDetails: { resource: `arn:aws:lambda:eu-west-1:123456789012:function:${item.task}`, input: '{}' } });
        add('LambdaFunctionStarted');
        if (failure) add('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: failure }, item.ms ?? 100);
        else add('LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output: '{}' } }, item.ms ?? 100);
      };
      for (const failure of item.retriedErrors ?? []) attempt(failure);
      attempt(item.caught ?? item.uncaught);
      if (item.uncaught) continue;
      add('TaskStateExited', { stateExitedEventDetails: { name: item.task, output: JSON.stringify(item.output ?? {}) } });
    } else if ('pass' in item) {
      add('PassStateEntered', { stateEnteredEventDetails: { name: item.pass } });
      add('PassStateExited', { stateExitedEventDetails: { name: item.pass, output: '{}' } }, 1);
    } else if ('choice' in item) {
      add('ChoiceStateEntered', { stateEnteredEventDetails: { name: item.choice } });
      add('ChoiceStateExited', { stateExitedEventDetails: { name: item.choice, output: '{}' } }, 1);
    } else if ('wait' in item) {
      add('WaitStateEntered', { stateEnteredEventDetails: { name: item.wait } });
      add('WaitStateExited', { stateExitedEventDetails: { name: item.wait, output: '{}' } }, item.ms ?? 1000);
    } else if ('fail' in item) {
      add('FailStateEntered', { stateEnteredEventDetails: { name: item.fail } });
      add('ExecutionFailed', { executionFailedEventDetails: { error: item.error, cause: item.cause } });
    } else {
      add('SucceedStateEntered', { stateEnteredEventDetails: { name: item.succeed } });
      add('SucceedStateExited', { stateExitedEventDetails: { name: item.succeed, output: JSON.stringify(item.output ?? {}) } }, 1);
      add('ExecutionSucceeded', { executionSucceededEventDetails: { output: JSON.stringify(item.output ?? {}) } });
    }
  }
  const last = script.at(-1);
  if (last && 'task' in last && last.uncaught) add('ExecutionFailed', { executionFailedEventDetails: last.uncaught });
  return events;
}

/** The script of the StateEvents a local engine run emitted, so the same run can be replayed as SFN history. */
export function scriptOf(events: readonly StateEvent[]): ScriptItem[] {
  const script: ScriptItem[] = [];
  let failures: { error: string; cause?: string }[] = [];
  let caught: { error: string; cause?: string } | undefined;
  for (const event of events) {
    const failure = { error: event.error ?? 'Error', ...(event.cause ? { cause: event.cause } : {}) };
    if (event.state === '(execution)') continue;
    if (event.type === 'failed' && event.stateType === 'Task') failures.push(failure);
    if (event.type === 'caught') caught = failures.pop();
    if (event.type === 'failed' && event.stateType === 'Fail') script.push({ fail: event.state, error: failure.error, ...(failure.cause ? { cause: failure.cause } : {}) });
    if (event.type === 'entered' && event.stateType === 'Succeed') script.push({ succeed: event.state });
    if (event.type !== 'exited') continue;
    if (event.stateType === 'Task') {
      script.push({ task: event.state, retriedErrors: failures, ...(caught ? { caught } : {}) });
      failures = [];
      caught = undefined;
    } else if (event.stateType === 'Pass') script.push({ pass: event.state });
    else if (event.stateType === 'Choice') script.push({ choice: event.state });
    else if (event.stateType === 'Wait') script.push({ wait: event.state });
  }
  return script;
}

/**
 * Serves a history as GetExecutionHistory does with reverseOrder: newest first, in pages. Each poll (a
 * call without nextToken) reveals `revealPerPoll` more events, as if the execution were progressing.
 */
export function serveHistory(sfn: AwsClientStub<SFNClient>, events: readonly HistoryEvent[], options: { pageSize?: number; revealPerPoll?: number } = {}): void {
  const pageSize = options.pageSize ?? 4;
  let visible = 0;
  sfn.on(GetExecutionHistoryCommand).callsFake((input: GetExecutionHistoryCommandInput) => {
    if (!input.reverseOrder) throw new Error('the fixture serves reverseOrder reads only');
    if (!input.nextToken) visible = Math.min(events.length, visible + (options.revealPerPoll ?? events.length));
    const newestFirst = events.slice(0, visible).reverse();
    const start = input.nextToken ? Number(input.nextToken) : 0;
    const next = start + pageSize < newestFirst.length ? String(start + pageSize) : undefined;
    return { events: newestFirst.slice(start, start + pageSize), ...(next ? { nextToken: next } : {}) };
  });
}

/**
 * A started execution that runs `script`: StartExecution answers EXECUTION_ARN, the history is revealed a page at a
 * time, DescribeExecution ends it as `described`. Returns the history.
 */
export function scriptedExecution(
  sfn: AwsClientStub<SFNClient>,
  script: readonly ScriptItem[],
  described: { status: string; error?: string; cause?: string },
  options: { input?: unknown; history?: { pageSize: number; revealPerPoll: number } } = {},
): HistoryEvent[] {
  const events = sfnHistory(script, options.input);
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(STARTED_AT) });
  serveHistory(sfn, events, options.history ?? { pageSize: 4, revealPerPoll: 15 });
  sfn.on(DescribeExecutionCommand).resolves({
    executionArn: EXECUTION_ARN,
    stateMachineArn: STATE_MACHINE_ARN,
    status: described.status as 'SUCCEEDED',
    startDate: new Date(STARTED_AT),
    stopDate: events.at(-1)?.timestamp,
    ...(described.error ? { error: described.error, cause: described.cause } : {}),
  });
  return events;
}

export interface TestIo extends CliIo {
  out(): string;
  err(): string;
  readonly sleeps: number[];
  readonly regions: (string | undefined)[];
}

/** In-memory streams, fake credentials, a fixed clock and an instant sleep. */
export function testIo(overrides: { env?: Record<string, string | undefined>; cwd?: string; tty?: boolean; now?: Date } = {}): TestIo {
  let out = '';
  let err = '';
  const sleeps: number[] = [];
  const regions: (string | undefined)[] = [];
  const credentials = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };
  return {
    stdout: { write: (text: string) => (out += text), isTTY: overrides.tty ?? false },
    stderr: { write: (text: string) => (err += text), isTTY: false },
    env: overrides.env ?? {},
    cwd: overrides.cwd ?? '/nonexistent-deploy-runbook-cwd',
    aws: (region) => {
      regions.push(region);
      return {
        sfn: new SFNClient({ region: region ?? 'eu-west-1', credentials }),
        cloudFormation: new CloudFormationClient({ region: region ?? 'eu-west-1', credentials }),
      };
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    now: () => overrides.now ?? new Date(STARTED_AT),
    out: () => out,
    err: () => err,
    sleeps,
    regions,
  };
}

/** Runs the CLI with a usage mistake: it must exit 64 before any call to `clients`. Returns the streams for the message. */
export async function runUsageError(argv: string[], clients: readonly (AwsClientStub<SFNClient> | AwsClientStub<CloudFormationClient>)[]): Promise<TestIo> {
  const io = testIo();
  expect(await main(argv, io)).toBe(64);
  for (const client of clients) expect(client).not.toHaveReceivedAnyCommand();
  return io;
}
