import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { ChildStart } from '../../core/release-plan';
import type { PlanSettings } from '../../core/tasks/release-plan/release-plan';
import { type Json, loadPlanDefinition, substitute } from '../../statemachines/definition';
import { START_EXECUTION_SYNC } from '../../statemachines/release-plan';
import { type ExecutionResult, type ResourceRouter, runDefinition, type RunOptions } from './engine';

/** The local name of the plan function: its Tasks are served under the folder `release-plan`. */
const LOCAL_PLAN_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:deploy-runbook-release-plan';
const LOCAL_PLAN_ACTIVITY_ARN = 'arn:aws:states:us-east-1:000000000000:activity:deploy-runbook-plan-approval';

/** TaskCall.folder of the plan function's Tasks. */
export const PLAN_FUNCTION = 'release-plan';
/** TaskCall.folder of the approval gate's activity: the handler plays the person answering. */
export const PLAN_APPROVAL_ACTIVITY = 'activity:plan-approval';
/** TaskCall.folder of RunStage and RollBackStage: the engine runs the child itself (see runChild). */
const CHILD_EXECUTION = 'states:startExecution.sync:2';

export interface PlanRunOptions extends Omit<RunOptions, 'config'> {
  readonly settings: PlanSettings;
  /** The plan execution's timeout and each child's, in seconds. */
  readonly timeoutSeconds: number;
  /** Runs a child execution of a runbook to its end: the rehearsal runs the stage's runbook in-process. */
  readonly runChild: (start: ChildStart) => Promise<ExecutionResult>;
}

/** The plan's definition with local names in place of ARNs: the same file AWS runs. */
export function localPlanDefinition(settings: PlanSettings, timeoutSeconds: number): StateMachineDefinition {
  const values: Record<string, Json> = {
    PlanSettings: settings as unknown as Json,
    PlanTimeoutSeconds: timeoutSeconds,
    StageTimeoutSeconds: timeoutSeconds,
    ReleasePlanFunctionArn: LOCAL_PLAN_FUNCTION_ARN,
    PlanApprovalActivityArn: LOCAL_PLAN_ACTIVITY_ARN,
  };
  return substitute(loadPlanDefinition(), values) as unknown as StateMachineDefinition;
}

const route: ResourceRouter = (resource) => {
  if (resource === LOCAL_PLAN_FUNCTION_ARN) return { folder: PLAN_FUNCTION, passThrough: false };
  if (resource === LOCAL_PLAN_ACTIVITY_ARN) return { folder: PLAN_APPROVAL_ACTIVITY, passThrough: true };
  if (resource === START_EXECUTION_SYNC) return { folder: CHILD_EXECUTION, passThrough: true };
  throw new Error(`Task resource ${resource} is not one the release plan uses`);
};

/** A child execution ended other than SUCCEEDED: what Step Functions' `.sync` integration fails the Task with. */
class ChildExecutionFailedError extends Error {
  override readonly name = 'States.TaskFailed';
}

/**
 * What `startExecution.sync:2` gives the parent, as Step Functions does: DescribeExecution's fields, Input and Output
 * parsed JSON (`:2`), when the child succeeded; otherwise the Task fails with `States.TaskFailed` and those fields,
 * the child's Error and Cause among them, as the Cause's JSON.
 */
export function syncExecutionResult(start: ChildStart, result: ExecutionResult, stateMachineArn: string): Json {
  const described = {
    ExecutionArn: result.executionId,
    Input: start.input as Json,
    InputDetails: { Included: true },
    Name: result.executionName,
    StartDate: result.startedAt,
    StateMachineArn: stateMachineArn,
    Status: result.status,
    StopDate: result.finishedAt,
  };
  if (result.status === 'SUCCEEDED') return { ...described, Output: result.output, OutputDetails: { Included: true } };
  throw new ChildExecutionFailedError(JSON.stringify({ ...described, Error: result.error, Cause: result.cause }));
}

/** Runs the release plan's definition in-process; the plan function and the approval go to `handler`, children to `runChild`. */
export async function runReleasePlanDefinition(options: PlanRunOptions): Promise<ExecutionResult> {
  const handler: RunOptions['handler'] = async (call) => {
    if (call.folder !== CHILD_EXECUTION) return options.handler(call);
    const event = call.event as { StateMachineArn: string; Name: string; Input: Record<string, unknown> };
    const start: ChildStart = { stateMachineArn: event.StateMachineArn, name: event.Name, input: event.Input };
    return syncExecutionResult(start, await options.runChild(start), event.StateMachineArn);
  };
  return runDefinition(localPlanDefinition(options.settings, options.timeoutSeconds), 'deploy-runbook-release-plan', { ...options, handler }, route);
}
