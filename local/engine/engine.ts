import './promise-with-resolvers';
import { DataCheckReader } from '../../core/sql-check-evidence';
import type { StateEvent } from '../../core/state-event';
import type { DataCheckReport } from '../../core/tasks/data-checks/data-checks';
import { randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import {
  ACTIVITY_PLACEHOLDER,
  configSubstitutions,
  FUNCTION_PLACEHOLDERS,
  type FunctionPlaceholder,
  functionFolder,
  type Json,
  loadDefinition,
  substitute,
} from '../../statemachines/definition';

/** Names the local "ARNs" so that a Task's Resource tells which function folder serves it. */
const LOCAL_ARN_PREFIX = 'arn:aws:lambda:us-east-1:000000000000:function:deploy-runbook-';
/** The local name of the restore-approval activity; its Task is served by the handler like a function's. */
const LOCAL_ACTIVITY_ARN = 'arn:aws:states:us-east-1:000000000000:activity:deploy-runbook-restore-approval';
/**
 * TaskCall.folder of a Task waiting on the restore-approval activity: no function runs, the handler plays the
 * person answering (return the SendTaskSuccess output, or throw an Error named as SendTaskFailure's error).
 */
export const APPROVAL_ACTIVITY = 'activity:restore-approval';

/** One Task invocation, as the rehearsal's dispatcher or a test's script sees it. */
export interface TaskCall {
  /** The state name, e.g. `CheckDeployment`. */
  readonly state: string;
  /** The function folder under `lambdas/`, e.g. `deploy-target`; `APPROVAL_ACTIVITY` for the approval activity. */
  readonly folder: string;
  /** The Lambda event (the Task's effective Parameters), or the activity task's input. */
  readonly event: Json;
}

/** Returns the function's result; it is JSON round-tripped as a Lambda response would be. */
export type TaskHandler = (call: TaskCall) => unknown;

/** The size of one piece of execution data, as Step Functions would log it at level ALL with execution data. */
export interface PayloadSize {
  readonly state: string;
  /** A state's input or output, or a Task's Parameters or result. */
  readonly kind: 'input' | 'output' | 'parameters' | 'result';
  /** UTF-8 bytes of its JSON. */
  readonly bytes: number;
}

export interface ExecutionResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** The Fail state's Error, e.g. `RolledBack`. */
  readonly error: string | null;
  readonly cause: string | null;
  readonly output: Json | null;
  readonly executionId: string;
  readonly executionName: string;
  readonly events: readonly StateEvent[];
  /** Every state's input and output and every Task's Parameters and result, in order. */
  readonly payloads: readonly PayloadSize[];
  readonly startedAt: number;
  readonly finishedAt: number;
}

export interface RunOptions {
  /** The parsed configuration (defaults filled): it replaces `${RunbookConfig}` as on AWS. */
  readonly config: { executionTimeoutMinutes: number; target: { kind: string } } & Record<string, unknown>;
  readonly input: Json;
  readonly handler: TaskHandler;
  readonly executionName?: string;
  /** Milliseconds every Wait state lasts; the rehearsal shortens minutes to moments. */
  readonly waitMs?: number;
  /** Milliseconds between Retry attempts. */
  readonly retryMs?: number;
  /** Called as states start and end, for live progress. */
  readonly onEvent?: (event: StateEvent) => void;
}

/** The definition with local names in place of ARNs: the same file AWS runs, no local copy. */
export function localDefinition(config: RunOptions['config']): StateMachineDefinition {
  const arns: Record<string, Json> = {};
  for (const placeholder of FUNCTION_PLACEHOLDERS) arns[placeholder] = LOCAL_ARN_PREFIX + functionFolder(placeholder);
  arns[ACTIVITY_PLACEHOLDER] = LOCAL_ACTIVITY_ARN;
  const definition = substitute(loadDefinition(), { ...configSubstitutions(config), ...arns });
  return definition as unknown as StateMachineDefinition;
}

const FOLDERS = new Set(FUNCTION_PLACEHOLDERS.map((p: FunctionPlaceholder) => functionFolder(p)));

function folderOf(resource: string): string {
  const folder = resource.startsWith(LOCAL_ARN_PREFIX) ? resource.slice(LOCAL_ARN_PREFIX.length) : '';
  if (!FOLDERS.has(folder)) throw new Error(`Task resource ${resource} does not name a deploy-runbook function`);
  return folder;
}

/**
 * Emulates how Step Functions reports a Lambda error: Error is the error's name, Cause the JSON
 * `{errorType, errorMessage}` a Lambda returns, so states that read `$.error.Cause` see the same data.
 */
function asLambdaError(error: unknown): Error {
  const original = error instanceof Error ? error : new Error(String(error));
  const wrapped = new Error(JSON.stringify({ errorType: original.name, errorMessage: original.message }));
  wrapped.name = original.name;
  return wrapped;
}

/** Runs the runbook in-process with `aws-local-stepfunctions`, every Task served by `handler`. */
export async function runRunbook(options: RunOptions): Promise<ExecutionResult> {
  return runDefinition(localDefinition(options.config), 'deploy-runbook', options, (resource) =>
    resource === LOCAL_ACTIVITY_ARN ? { folder: APPROVAL_ACTIVITY, passThrough: true } : { folder: folderOf(resource), passThrough: false },
  );
}

/**
 * Which handler folder serves a Task's Resource, and whether its errors reach the Catch as thrown (an activity's
 * SendTaskFailure, a service integration's error) rather than wrapped as a Lambda function's.
 */
export type ResourceRouter = (resource: string) => { readonly folder: string; readonly passThrough: boolean };

/** Runs a definition in-process, every Task served by `options.handler` under the folder `route` gives its Resource. */
export async function runDefinition(
  definition: StateMachineDefinition,
  machineName: string,
  options: Omit<RunOptions, 'config'>,
  route: ResourceRouter,
): Promise<ExecutionResult> {
  const executionName = options.executionName ?? `local-${randomUUID()}`;
  const executionId = `arn:aws:states:us-east-1:000000000000:execution:${machineName}:${executionName}`;
  const startedAt = Date.now();

  const payloads: PayloadSize[] = [];
  const measure = (state: string, kind: PayloadSize['kind'], json: string) => payloads.push({ state, kind, bytes: Buffer.byteLength(json) });
  const taskHandlers: Record<string, (input: Json) => Promise<Json>> = {};
  const waits: Record<string, number> = {};
  const retries: Record<string, number> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Wait') waits[name] = options.waitMs ?? 0;
    if (state.Type === 'Task') {
      retries[name] = options.retryMs ?? 0;
      const { folder, passThrough } = route(state.Resource);
      taskHandlers[name] = async (input: Json) => {
        try {
          const parameters = JSON.stringify(input);
          measure(name, 'parameters', parameters);
          const result = JSON.stringify((await options.handler({ state: name, folder, event: JSON.parse(parameters) as Json })) ?? null);
          measure(name, 'result', result);
          return JSON.parse(result) as Json;
        } catch (error) {
          // SendTaskFailure's error and cause reach the Catch as they were sent; a Lambda's error is wrapped.
          throw passThrough ? error : asLambdaError(error);
        }
      };
    }
  }

  const events: StateEvent[] = [];
  const machine = machineFor(definition);
  const execution = machine.run(options.input, {
    overrides: { taskResourceLocalHandlers: taskHandlers, waitTimeOverrides: waits, retryIntervalOverrides: retries },
    context: {
      Execution: { Id: executionId, Name: executionName, StartTime: new Date(startedAt).toISOString(), Input: options.input },
    },
  });

  const dataChecks = new DataCheckReader();
  const collecting = (async () => {
    for await (const log of execution.eventLogs) {
      if (log.type === 'StateEntered') measure(log.state.name, 'input', JSON.stringify(log.state.input));
      if (log.type === 'StateExited') measure(log.state.name, 'output', JSON.stringify(log.state.output ?? null));
      const event = toStateEvent(log, log.type === 'StateExited' ? dataChecks.note(log.state.output) : []);
      if (!event) continue;
      events.push(event);
      options.onEvent?.(event);
    }
  })();

  let status: ExecutionResult['status'] = 'SUCCEEDED';
  let output: Json | null = null;
  let failure: Error | null = null;
  try {
    output = (await execution.result) as Json;
  } catch (thrown) {
    status = 'FAILED';
    failure = thrown as Error;
  }
  await collecting;
  // The ExecutionFailed event carries the Fail state's Error and Cause, as DescribeExecution would.
  const failed = events.find((e) => e.state === '(execution)');
  const error = failure ? (failed?.error ?? failure.name) : null;
  const cause = failure ? (failed?.cause ?? failure.message) : null;
  return { status, error, cause, output, executionId, executionName, events, payloads, startedAt, finishedAt: Date.now() };
}

const machines = new Map<string, StateMachine>();

/** Validating the definition costs ~0.4 s; a rehearsal or test suite reuses the machine for an identical definition. */
function machineFor(definition: StateMachineDefinition): StateMachine {
  const key = JSON.stringify(definition);
  let machine = machines.get(key);
  if (!machine) {
    machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
    machines.set(key, machine);
  }
  return machine;
}

type EventLog = { type: string; timestamp: number; state?: { name: string; type: string }; Error?: string; Cause?: unknown };

/** `dataChecks`: the SQL check reports new in an exited state's output, as Step Functions' history is read (HistoryReader). */
function toStateEvent(log: EventLog, dataChecks: readonly DataCheckReport[]): StateEvent | null {
  const kinds: Record<string, StateEvent['type']> = {
    StateEntered: 'entered',
    StateExited: 'exited',
    StateFailed: 'failed',
    StateRetried: 'retried',
    StateCaught: 'caught',
  };
  const type = kinds[log.type];
  if (log.type === 'ExecutionFailed') {
    return { type: 'failed', state: '(execution)', stateType: 'Execution', at: log.timestamp, error: log.Error, cause: stringify(log.Cause) };
  }
  if (!type || !log.state) return null;
  return {
    type,
    state: log.state.name,
    stateType: log.state.type,
    at: log.timestamp,
    ...(log.Error !== undefined ? { error: log.Error, cause: stringify(log.Cause) } : {}),
    ...(dataChecks.length > 0 ? { dataChecks } : {}),
  };
}

function stringify(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
