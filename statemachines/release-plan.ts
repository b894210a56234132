import type { Lease, TaskError } from '../core/model';
import { PlanApprovalTask } from '../core/plan-approval';
import { PLAN_END_STATES, type PlanProgress, type Release } from '../core/release-plan';
import { type PlanSettings, ReleasePlanEvent } from '../core/tasks/release-plan/release-plan';
import { activity, activityTask, catchAll, catching, choice, fail, is, lambdaFunction, parameters, pass, placeholder, root, States, succeed, when } from './asl';
import type { Json } from './definition';

/**
 * The release plan's state machine: validates the plan, takes the plan's lock, then loops — Advance (the plan
 * function decides the next step from the last one) → RouteStep → a child execution of a runbook
 * (`startExecution.sync:2`: a stage, a SQL gate's checks or an analysis gate's measurement), a soak (Wait) or an approval (an activity) → Advance —
 * until the plan ends. When a stage or gate fails, Advance turns the loop around: the stages already deployed are
 * rolled back newest first, each by its own runbook. JSONPath only, like the runbook.
 */

export interface PlanExecutionState {
  input: unknown;
  execution: { id: string; name: string; startedAt: string };
  release: Release;
  lock: Lease;
  progress: PlanProgress;
  /** What the step before Advance produced: a child's output, an approval, or a caught error. */
  last: Record<string, unknown> | null;
  /** The approval gate being waited on, where its TimeoutSecondsPath reads it. */
  gate: { timeoutSeconds: number };
  error: TaskError;
  lockError: TaskError;
  /** The start notification that could not go out: the plan goes on without it. */
  notifyError: TaskError;
  recordError: TaskError;
  report: { json: string; markdown: string };
}

interface Context {
  Execution: { Id: string; Name: string; StartTime: string };
}

const $ = root<PlanExecutionState>('$');
const $$ = root<Context>('$$');
const settings = placeholder<PlanSettings>('PlanSettings');

const planFunction = lambdaFunction('ReleasePlanFunctionArn', ReleasePlanEvent);
const approvalActivity = activity('PlanApprovalActivityArn', PlanApprovalTask);

/** The Step Functions integration that starts a child execution and waits for it, its output parsed (`:2`). */
export const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync:2';

/** The placeholders the plan's definition holds besides the function's and the activity's ARNs. */
export const PLAN_PLACEHOLDERS = ['PlanSettings', 'PlanTimeoutSeconds', 'StageTimeoutSeconds'] as const;

/** Starts the child `$.progress.run` describes and waits for its end; any failure goes to Advance, which reads it. */
function childTask(comment: string): Record<string, Json> {
  return {
    Type: 'Task',
    Comment: comment,
    Resource: START_EXECUTION_SYNC,
    Parameters: parameters({ StateMachineArn: $.progress.run.stateMachineArn, Name: $.progress.run.name, Input: $.progress.run.input }),
    ResultPath: '$.last',
    TimeoutSeconds: '${StageTimeoutSeconds}',
    Retry: [
      {
        // Throttling or a service hiccup before the child started: starting it again under the same name is safe.
        ErrorEquals: ['StepFunctions.SdkClientException', 'StepFunctions.AWSStepFunctionsException', 'StepFunctions.ThrottlingException'],
        IntervalSeconds: 2,
        MaxAttempts: 4,
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      },
    ],
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.last', Next: 'Advance' }],
    Next: 'Advance',
  };
}

/** The plan's ASL: what `statemachines/release-plan.asl.json` holds. */
export function releasePlanDefinition(): Record<string, Json> {
  const states = new States();
  states
    .add(
      'LoadPlan',
      pass({
        comment: 'The input is the plan; every slot a later state reads is created here, null until filled.',
        parameters: {
          input: $,
          execution: { id: $$.Execution.Id, name: $$.Execution.Name, startedAt: $$.Execution.StartTime },
          release: null,
          lock: null,
          progress: null,
          last: null,
          gate: null,
          error: null,
          lockError: null,
          notifyError: null,
          recordError: null,
          report: null,
        } satisfies Record<keyof PlanExecutionState, unknown>,
        next: 'ValidatePlan',
      }),
    )
    .task(
      'ValidatePlan',
      planFunction,
      { operation: 'validate', input: $.input, execution: $.execution },
      {
        comment: "Refuses a bad plan before any stage starts: unknown runbook, a stage or runbook twice, a missing version, a gate it cannot wait on.",
        resultPath: '$.release',
        timeoutSeconds: 60,
        catch: [catching('InvalidInputError', { resultPath: '$.error', next: 'InvalidInput' }), catchAll({ resultPath: '$.error', next: 'ValidationUnavailable' })],
        next: 'AcquirePlanLock',
      },
    )
    .add('InvalidInput', fail('InvalidInput', $.error.Cause))
    .add('ValidationUnavailable', fail('ValidationUnavailable', $.error.Cause, 'The validator itself failed: nothing was started, the plan was not judged.'))
    .task(
      'AcquirePlanLock',
      planFunction,
      { operation: 'acquire', config: settings, release: $.release, execution: $.execution },
      {
        comment: 'One execution of a plan at a time, by the plan name: the same S3 conditional-write lease as a runbook.',
        resultPath: '$.lock',
        timeoutSeconds: 30,
        catch: [catching('DeploymentInProgressError', { resultPath: '$.error', next: 'PlanInProgress' }), catchAll({ resultPath: '$.error', next: 'LockUnavailable' })],
        next: 'NotifyPlanStarted',
      },
    )
    .task(
      'NotifyPlanStarted',
      planFunction,
      { operation: 'notify-started', config: settings, release: $.release },
      {
        comment: "Tells the plan's audiences it starts: the stages in order with their versions, who asked, how long its last runs took. A failure is kept in $.notifyError and the plan goes on.",
        resultPath: null,
        timeoutSeconds: 30,
        catch: [catchAll({ resultPath: '$.notifyError', next: 'Advance' })],
        next: 'Advance',
      },
    )
    .add('PlanInProgress', fail('DeploymentInProgress', $.error.Cause, 'Another execution of this plan runs: nothing was started.'))
    .add('LockUnavailable', fail('LockUnavailable', $.error.Cause))
    .task(
      'Advance',
      planFunction,
      { operation: 'advance', release: $.release, progress: $.progress, last: $.last },
      {
        comment: 'Decides the next step from the last one: the next stage or gate, the rollback of a deployed stage (newest first), or the end.',
        resultPath: '$.progress',
        timeoutSeconds: 30,
        catch: [catchAll({ resultPath: '$.error', next: 'PlanStuck' })],
        next: 'RouteStep',
      },
    )
    .add(
      'RouteStep',
      choice({
        comment: 'Runs what Advance decided; once it says the plan is over, the lock is let go (or kept, when a rollback failed).',
        rules: [
          when(is.stringEquals($.progress.next, 'run-stage'), 'RunStage'),
          when(is.stringEquals($.progress.next, 'soak'), 'Soak'),
          when(is.stringEquals($.progress.next, 'approval'), 'PrepareApproval'),
          when(is.stringEquals($.progress.next, 'check'), 'RunGateChecks'),
          when(is.stringEquals($.progress.next, 'analyze'), 'RunGateAnalysis'),
          when(is.stringEquals($.progress.next, 'undo'), 'RollBackStage'),
          when(is.stringEquals($.progress.next, 'rollback-failed'), 'KeepPlanLockForHuman'),
        ],
        otherwise: 'ReleasePlanLock',
      }),
    )
    .add('RunStage', childTask("Deploys one stage as a child execution of its runbook, visible in the console as itself; its own failure rolls it back."))
    .add(
      'RunGateChecks',
      childTask("A SQL gate: the stage's runbook runs the named checks read-only ({action: check}), as an execution of its own; one failing fails the gate."),
    )
    .add(
      'RunGateAnalysis',
      childTask(
        "An analysis gate: the stage's runbook measures its release's metrics once against the baselines it kept ({action: analyze}), as an execution of its own; one failing fails the gate.",
      ),
    )
    .add('RollBackStage', childTask("Rolls back a stage the plan deployed, by its runbook's rollback ({action: rollback, plan}): only the version the plan released, while it is current."))
    .add('Soak', { Type: 'Wait', Comment: 'The stage runs at least this long before the next one starts.', SecondsPath: '$.progress.gate.seconds', Next: 'SoakOver' })
    .add('SoakOver', pass({ result: { passed: true }, resultPath: '$.last', next: 'Advance' }))
    .add('PrepareApproval', pass({ inputPath: $.progress.gate, resultPath: '$.gate', next: 'AwaitApproval' }));

  const approval = activityTask(
    'AwaitApproval',
    approvalActivity,
    { kind: 'plan-approval', execution: $$.Execution.Id, plan: $.release.name, stage: $.progress.gate.stage, gate: $.gate },
    {
      comment:
        "Waits on the plan's approval activity: deploy-runbook approve --execution <plan execution> takes the task (no token in this history) and answers; a rejection or the timeout fails the gate.",
      resultPath: '$.last',
      timeoutSeconds: 0,
      catch: [catchAll({ resultPath: '$.last', next: 'Advance' })],
      next: 'Advance',
    },
  );
  // Each gate has its own timeout, read from $.gate: the state input and the Parameters both hold it, whichever one an engine reads.
  delete approval.TimeoutSeconds;
  approval.TimeoutSecondsPath = '$.gate.timeoutSeconds';
  states.add('AwaitApproval', approval);

  states
    .task('ReleasePlanLock', planFunction, { operation: 'release', release: $.release, execution: $.execution, lease: $.lock }, {
      resultPath: null,
      timeoutSeconds: 30,
      catch: [catchAll({ resultPath: '$.lockError', next: 'RecordPlan' })],
      next: 'RecordPlan',
    })
    .task(
      'KeepPlanLockForHuman',
      planFunction,
      { operation: 'mark-stuck', release: $.release, execution: $.execution, lease: $.lock, failure: $.progress.failure },
      { resultPath: null, timeoutSeconds: 30, catch: [catchAll({ resultPath: '$.lockError', next: 'RecordPlan' })], next: 'RecordPlan' },
    )
    .task(
      'RecordPlan',
      planFunction,
      { operation: 'record', release: $.release, execution: $.execution, progress: $.progress },
      {
        comment: "Writes the plan's evidence report, linking each stage's own reports.",
        resultPath: '$.report',
        timeoutSeconds: 60,
        catch: [catchAll({ resultPath: '$.recordError', next: 'PlanOutcome' })],
        next: 'PlanOutcome',
      },
    )
    .add(
      'PlanOutcome',
      choice({
        comment: 'Ends as a runbook would: succeeded, RolledBack, RollbackFailed, or aborted when nothing had changed.',
        rules: [
          when(is.stringEquals($.progress.next, 'succeeded'), PLAN_END_STATES.succeeded),
          when(is.stringEquals($.progress.next, 'rolled-back'), PLAN_END_STATES['rolled-back']),
          when(is.stringEquals($.progress.next, 'aborted'), PLAN_END_STATES.aborted),
        ],
        otherwise: PLAN_END_STATES['rollback-failed'],
      }),
    )
    .add(PLAN_END_STATES.succeeded, succeed('Every stage deployed, every gate passed.'))
    .add(PLAN_END_STATES['rolled-back'], fail('RolledBack', $.progress.cause, 'A stage or gate failed and every stage the plan deployed was rolled back: CI must see it.'))
    .add(PLAN_END_STATES.aborted, fail('PlanAborted', $.progress.cause, 'The first stage failed before changing anything.'))
    .add(PLAN_END_STATES['rollback-failed'], fail('RollbackFailed', $.progress.cause, 'A stage could not be rolled back: the plan lock stays, marked stuck, for a person.'))
    .add('PlanStuck', fail('RollbackFailed', $.error.Cause, 'The plan function failed mid-plan: stages may be deployed; the lock stays held until its lease ends.'));

  return {
    Comment: 'deploy-runbook release plan: stages in order as child executions of their runbooks, gates between them, reverse rollback. JSONPath only.',
    StartAt: 'LoadPlan',
    TimeoutSeconds: '${PlanTimeoutSeconds}',
    States: states.toJSON() as unknown as Json,
  };
}

