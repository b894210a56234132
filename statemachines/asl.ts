import type { z } from 'zod';
import { RunbookError } from '../core/errors';
import type { Json } from './definition';

/**
 * A small builder for Amazon States Language (JSONPath only: the local engine runs neither JSONata nor
 * Assign). It writes what every Task shares once — the Lambda retrier, the catch policies, the polling
 * loop — and checks each Task's Parameters against the event schema of the function it calls.
 */

const PATH = Symbol('path');
const AT_SYNTH = Symbol('filled at synth');
declare const TYPE: unique symbol;

/**
 * A JSONPath into the execution state or the context object, or a value filled in at synth from a
 * `${Placeholder}`, typed by the value it points at.
 */
export interface Ref<T> {
  readonly [PATH]: string;
  readonly [AT_SYNTH]?: boolean;
  readonly [TYPE]?: T;
}

type Leaf = string | number | boolean | null | undefined | readonly unknown[];

/** A Ref whose fields are Refs too: `$.config.target` is the `target` of `$.config`. */
export type Path<T> = Ref<T> & (NonNullable<T> extends Leaf ? unknown : { readonly [K in keyof NonNullable<T> & string]-?: Path<NonNullable<T>[K]> });

/** The root of the execution state (`$`) or of the context object (`$$`), typed by what it holds. */
export function root<T>(path: '$' | '$$'): Path<T> {
  return pathTo(path, false) as Path<T>;
}

/** A placeholder filled at synth (see definition.ts substitute()); its fields are `${Name.field}`. */
export function placeholder<T>(name: string): Path<T> {
  return pathTo(name, true) as Path<T>;
}

function pathTo(path: string, atSynth: boolean): Ref<unknown> {
  return new Proxy({ [PATH]: path, [AT_SYNTH]: atSynth } as Ref<unknown>, {
    get: (target, key) => (typeof key === 'string' ? pathTo(`${path}.${key}`, atSynth) : Reflect.get(target, key)),
  });
}

function isRef(value: unknown): value is Ref<unknown> {
  return typeof value === 'object' && value !== null && PATH in value;
}

/** A Ref whose value is written into the definition at synth rather than read from the state. */
function isPlaceholder(ref: Ref<unknown>): boolean {
  return ref[AT_SYNTH] === true;
}

/** A placeholder Ref as the definition holds it: `${RunbookConfig.bake.pollSeconds}`. */
export function placeholderText(ref: Ref<unknown>): string {
  return `\${${ref[PATH]}}`;
}

/** The JSONPath a Ref stands for; a placeholder has none. */
export function pathOf(ref: Ref<unknown>): string {
  if (isPlaceholder(ref)) throw new PlaceholderPositionError(`${placeholderText(ref)} is filled at synth: it cannot stand where a JSONPath is read`);
  return ref[PATH];
}

/** The name a Ref has in the README: `polling.snapshot.maxAttempts` for `$.config…` or `${RunbookConfig…}`. */
export function settingName(ref: Ref<unknown>): string {
  return ref[PATH].replace(/^(\$\.config|RunbookConfig)\./, '');
}

/** An intrinsic function call (`States.Format(...)`), written where a path may stand. */
export interface Intrinsic {
  readonly intrinsic: string;
}

/** `States.Format('template', args…)`: each argument a Ref into the state. */
export function format(template: string, ...args: Ref<unknown>[]): Intrinsic {
  return { intrinsic: `States.Format('${template}', ${args.map(pathOf).join(', ')})` };
}

/** Any intrinsic, written out: for the few that have no helper. */
export function intrinsic(text: string): Intrinsic {
  return { intrinsic: text };
}

function isIntrinsic(value: unknown): value is Intrinsic {
  return typeof value === 'object' && value !== null && 'intrinsic' in value && Object.keys(value).length === 1;
}

/** A value a Parameters field may take: a literal, a Ref to a value of the field's type, or an object of such fields. */
export type Param<T> = T | Ref<T> | (NonNullable<T> extends Leaf ? never : { readonly [K in keyof NonNullable<T>]: Param<NonNullable<T>[K]> });

/** Parameters for a function whose event is `E`: each field a literal or a Ref of the field's type. */
export type Params<E> = E extends unknown ? { readonly [K in keyof E]: Param<E[K]> } : never;

/** Fields of a Pass state's Parameters: literals, Refs and intrinsics of any type. */
export type PassParams = { readonly [key: string]: Json | Ref<unknown> | Intrinsic | PassParams };

/** A Parameters field reads the task token: it would be written to the execution history and the log. */
export class TaskTokenInParametersError extends RunbookError {}

/**
 * `$$.Task.Token` is a bearer credential for the Task's answer. Step Functions writes a Task's effective
 * Parameters to its history (TaskScheduled) and to the execution log at level ALL, so no state may read it.
 */
function refusingTaskToken(key: string, text: string): string {
  if (/\$\$\.Task\.Token/.test(text)) {
    throw new TaskTokenInParametersError(`Parameters.${key} reads $$.Task.Token: the token would be logged with the Parameters; wait on an activity instead`);
  }
  return text;
}

/** Writes Parameters as ASL: a Ref or an intrinsic becomes a `key.$` field. */
export function parameters(fields: PassParams | Params<unknown>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(fields as Record<string, unknown>)) {
    if (isRef(value) && isPlaceholder(value)) out[key] = placeholderText(value);
    else if (isRef(value)) out[`${key}.$`] = refusingTaskToken(key, pathOf(value));
    else if (isIntrinsic(value)) out[`${key}.$`] = refusingTaskToken(key, value.intrinsic);
    else if (typeof value === 'object' && value !== null && !Array.isArray(value)) out[key] = parameters(value as PassParams);
    else out[key] = value as Json;
  }
  return out;
}

/** What a Task runs: the placeholder its ARN is written as, and the schema of the input it is given. */
interface TaskResource<I> {
  readonly placeholder: string;
  readonly schema: z.core.$ZodType;
  /** Phantom: the input's type, so Parameters are checked against it. */
  readonly input?: I;
}

/** A runbook function: its ARN placeholder and the schema of the event it accepts. */
export type LambdaFunction<E> = TaskResource<E>;

/** Declares a function by its ARN placeholder and event schema. */
export function lambdaFunction<S extends z.core.$ZodType>(placeholder: string, schema: S): LambdaFunction<z.input<S>> {
  return { placeholder, schema };
}

/**
 * A Step Functions activity: a queue of tasks a worker takes with GetActivityTask and answers with
 * SendTaskSuccess/SendTaskFailure. The task token travels only in the GetActivityTask response, never in the
 * execution's history or log. Its schema is the task input the worker reads.
 */
export type Activity<I> = TaskResource<I>;

/** Declares an activity by its ARN placeholder and the schema of the task input its worker reads. */
export const activity: <S extends z.core.$ZodType>(placeholder: string, schema: S) => Activity<z.input<S>> = lambdaFunction;

/** Parameters name a field the event schema does not have, or leave out one it requires. */
export class ParametersMismatchError extends RunbookError {}

/** Two states were given the same name. */
export class DuplicateStateError extends RunbookError {}

/** A placeholder was used where ASL reads a JSONPath (a Choice's Variable, an InputPath). */
export class PlaceholderPositionError extends RunbookError {}

type ZodInternals = {
  _zod: { def: { type: string; shape?: Record<string, ZodInternals>; options?: ZodInternals[]; discriminator?: string; values?: unknown[] } };
};

/** Fields that may be left out: the schema fills or ignores them. */
const OMITTABLE = new Set(['optional', 'default', 'prefault', 'unknown', 'any']);

/** The object schema the Parameters address: the schema itself, or the union member their discriminator selects. */
function eventShape(state: string, schema: ZodInternals, given: Record<string, unknown>): Record<string, ZodInternals> {
  const { def } = schema._zod;
  if (def.type === 'object' && def.shape) return def.shape;
  if (def.type === 'union' && def.discriminator && def.options) {
    const key = def.discriminator;
    const member = def.options.find((option) => option._zod.def.shape?.[key]?._zod.def.values?.includes(given[key]));
    if (!member?._zod.def.shape)
      throw new ParametersMismatchError(`${state}: Parameters.${key} is ${JSON.stringify(given[key])}, which selects no event of the function`);
    return member._zod.def.shape;
  }
  throw new ParametersMismatchError(`${state}: the function's event schema is a ${def.type}, not an object or a discriminated union of objects`);
}

/** Fails when the Parameters and the function's event schema disagree on which fields there are. */
function checkParameters(state: string, fn: { readonly placeholder: string; readonly schema: z.core.$ZodType }, given: Record<string, unknown>): void {
  const shape = eventShape(state, fn.schema as unknown as ZodInternals, given);
  const unknown = Object.keys(given).filter((key) => !(key in shape));
  const missing = Object.keys(shape).filter((key) => !(key in given) && !OMITTABLE.has(shape[key]._zod.def.type));
  const problems = [
    ...unknown.map((key) => `Parameters.${key} is not a field of the event (fields: ${Object.keys(shape).join(', ')})`),
    ...missing.map((key) => `the event needs ${key}, which the Parameters do not give`),
  ];
  if (problems.length > 0) throw new ParametersMismatchError(`${state} (${fn.placeholder}): ${problems.join('; ')}`);
}

/** A Catch rule: the errors it matches, the slot the error is written to, the state that follows. */
export interface Catcher {
  readonly ErrorEquals: readonly string[];
  readonly ResultPath: string;
  readonly Next: string;
}

/**
 * Where a failure goes: the error is written to `resultPath` and the execution continues at `next`.
 * A Task inside the zone catches every error this way; a verdict (a timeout, a failed check) is written the same way.
 */
export interface FailureZone {
  readonly resultPath: string;
  readonly next: string;
}

/** Catches the named errors into the zone. */
export function catching(errors: string | readonly string[], zone: FailureZone): Catcher {
  return { ErrorEquals: typeof errors === 'string' ? [errors] : errors, ResultPath: zone.resultPath, Next: zone.next };
}

/** Catches every error into the zone. */
export function catchAll(zone: FailureZone): Catcher {
  return catching('States.ALL', zone);
}

/** Lambda's own failures (not the function's errors), throttling included: retried on every Task with backoff and full jitter. */
const LAMBDA_RETRY = {
  ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException', 'Lambda.Unknown'],
  IntervalSeconds: 2,
  MaxAttempts: 6,
  BackoffRate: 2,
  MaxDelaySeconds: 30,
  JitterStrategy: 'FULL',
} as const;

/** A retrier for errors of the function itself that are worth another attempt. */
export interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds: number;
  readonly MaxAttempts: number;
  readonly BackoffRate: number;
  readonly JitterStrategy: 'FULL';
}

/** How a Task is wired into the flow. */
export interface TaskOptions {
  readonly comment?: string;
  /** Where the result goes; null discards it. */
  readonly resultPath: string | null;
  /** Seconds, or a `${Placeholder}` filled with a number. */
  readonly timeoutSeconds: number | string;
  readonly catch: readonly Catcher[];
  readonly next: string;
  /** Retriers after the Lambda one. */
  readonly retry?: readonly Retrier[];
}

/** A Task calling a runbook function with the Lambda retrier; its Parameters are checked against the function's event. */
export function task<E>(state: string, fn: LambdaFunction<E>, given: Params<E>, options: TaskOptions): Record<string, Json> {
  return taskState(state, fn, given, options, [LAMBDA_RETRY, ...(options.retry ?? [])]);
}

/** A Task state running `resource` with checked Parameters and the given retriers (none: no Retry field). */
function taskState<I>(state: string, resource: TaskResource<I>, given: Params<I>, options: ActivityTaskOptions, retry: readonly object[]): Record<string, Json> {
  checkParameters(state, resource, given as Record<string, unknown>);
  return {
    Type: 'Task',
    ...(options.comment ? { Comment: options.comment } : {}),
    Resource: `\${${resource.placeholder}}`,
    Parameters: parameters(given as Params<unknown>),
    ResultPath: options.resultPath,
    TimeoutSeconds: options.timeoutSeconds,
    ...(retry.length > 0 ? { Retry: retry.map((r) => structuredClone(r) as unknown as Json) } : {}),
    Catch: options.catch.map((c) => ({ ErrorEquals: [...c.ErrorEquals], ResultPath: c.ResultPath, Next: c.Next })),
    Next: options.next,
  };
}

/** How an activity Task is wired in: no Lambda retrier (no Lambda is called) and no retry of an answer. */
export type ActivityTaskOptions = Omit<TaskOptions, 'retry'>;

/** A Task that waits until a worker answers a task of `act`, or TimeoutSeconds passes (States.Timeout). */
export function activityTask<I>(state: string, act: Activity<I>, given: Params<I>, options: ActivityTaskOptions): Record<string, Json> {
  return taskState(state, act, given, options, []);
}

/** What a Pass state writes, and where the execution goes next. */
export interface PassOptions {
  readonly comment?: string;
  readonly inputPath?: Ref<unknown>;
  readonly parameters?: PassParams;
  readonly result?: Json;
  readonly resultPath?: string;
  readonly outputPath?: string;
  readonly next: string;
}

/** A Pass state. */
export function pass(options: PassOptions): Record<string, Json> {
  return {
    Type: 'Pass',
    ...(options.comment ? { Comment: options.comment } : {}),
    ...(options.inputPath ? { InputPath: pathOf(options.inputPath) } : {}),
    ...(options.parameters ? { Parameters: parameters(options.parameters) } : {}),
    ...(options.result !== undefined ? { Result: options.result } : {}),
    ...(options.resultPath ? { ResultPath: options.resultPath } : {}),
    ...(options.outputPath ? { OutputPath: options.outputPath } : {}),
    Next: options.next,
  };
}

/** Writes a verdict (a timeout, a failed check) into the zone as Catch would write an error, and goes where the zone goes. */
export function verdict(zone: FailureZone, error: string, cause: Ref<unknown> | Intrinsic): Record<string, Json> {
  return pass({ parameters: { Error: error, Cause: cause }, resultPath: zone.resultPath, next: zone.next });
}

/** A Choice condition on one path. */
export type Condition = Record<string, Json>;

/** Choice conditions on one path each; `is.all` requires all of them, `is.not` the opposite of one. */
export const is = {
  stringEquals: (ref: Ref<string | null>, value: string): Condition => ({ Variable: pathOf(ref), StringEquals: value }),
  booleanEquals: (ref: Ref<boolean | null>, value: boolean): Condition => ({ Variable: pathOf(ref), BooleanEquals: value }),
  null: (ref: Ref<unknown>): Condition => ({ Variable: pathOf(ref), IsNull: true }),
  atLeast: (ref: Ref<number>, limit: Ref<number>): Condition =>
    isPlaceholder(limit)
      ? { Variable: pathOf(ref), NumericGreaterThanEquals: placeholderText(limit) }
      : { Variable: pathOf(ref), NumericGreaterThanEqualsPath: pathOf(limit) },
  /** The field exists at all (a Choice reading a missing field fails the execution). */
  present: (ref: Ref<unknown>): Condition => ({ Variable: pathOf(ref), IsPresent: true }),
  all: (...conditions: Condition[]): Condition => ({ And: conditions }),
  not: (condition: Condition): Condition => ({ Not: condition }),
};

/** A Choice rule: when the condition holds, go to `next`. */
export function when(condition: Condition, next: string): Record<string, Json> {
  return { ...condition, Next: next };
}

/** A Choice state; the Comment tells a reader of the console graph why the branch exists. */
export function choice(options: { comment?: string; rules: Record<string, Json>[]; otherwise: string }): Record<string, Json> {
  return { Type: 'Choice', ...(options.comment ? { Comment: options.comment } : {}), Choices: options.rules, Default: options.otherwise };
}

/** A Wait state whose length the configuration sets. */
export function wait(seconds: Ref<number>, next: string, comment?: string): Record<string, Json> {
  const length: Record<string, Json> = isPlaceholder(seconds) ? { Seconds: placeholderText(seconds) } : { SecondsPath: pathOf(seconds) };
  return { Type: 'Wait', ...(comment ? { Comment: comment } : {}), ...length, Next: next };
}

/** A Fail state named after its Error, so the CLI and CI read the outcome from the name. */
export function fail(error: string, cause: Ref<unknown>, comment?: string): Record<string, Json> {
  return { Type: 'Fail', ...(comment ? { Comment: comment } : {}), Error: error, CausePath: pathOf(cause) };
}

/** A Succeed state. */
export function succeed(comment?: string): Record<string, Json> {
  return { Type: 'Succeed', ...(comment ? { Comment: comment } : {}) };
}

/** The states of a machine in the order they were added; a name is added once. */
export class States {
  private readonly states: Record<string, Record<string, Json>> = {};

  add(name: string, state: Record<string, Json>): this {
    if (name in this.states) throw new DuplicateStateError(`state ${name} is defined twice`);
    this.states[name] = state;
    return this;
  }

  /** Adds a Task calling `fn` (see task()). */
  task<E>(name: string, fn: LambdaFunction<E>, given: Params<E>, options: TaskOptions): this {
    return this.add(name, task(name, fn, given, options));
  }

  /** Adds a Task waiting on an activity (see activityTask()). */
  activityTask<I>(name: string, act: Activity<I>, given: Params<I>, options: ActivityTaskOptions): this {
    return this.add(name, activityTask(name, act, given, options));
  }

  toJSON(): Record<string, Record<string, Json>> {
    return this.states;
  }
}
