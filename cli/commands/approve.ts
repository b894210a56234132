import {
  DescribeExecutionCommand,
  DescribeStateMachineForExecutionCommand,
  GetActivityTaskCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { RunbookError } from '../../core/errors';
import { PlanApprovalTask } from '../../core/plan-approval';
import { APPROVAL_MISDIRECTED, RESTORE_REJECTED, RestoreApprovalTask } from '../../core/restore-approval';
import { RollbackApprovalTask } from '../../core/rollback-approval';
import { type CliIo } from '../io';
import { arnRegion } from '../state-machine-arn';
import { UsageError } from '../usage-error';
import { EXECUTION_ARN } from './status';

/** The approval could not be answered: no request is pending for the execution, or Step Functions refused the answer. */
export class ApprovalError extends RunbookError {}

export interface ApproveOptions {
  readonly execution: string;
  readonly reject?: boolean;
  readonly by?: string;
  readonly comment?: string;
  readonly region?: string;
}

/** The Error a rejection sends; AwaitRestoreApproval catches it into RestoreNotApproved. */
export const REJECTED_ERROR = RESTORE_REJECTED;
/** GetActivityTask long-polls for up to a minute: this many polls before the CLI says nothing is pending. */
export const APPROVAL_POLLS = 3;
/** Tasks of other (ended) executions the CLI hands back before giving up. */
const MAX_OTHER_TASKS = 5;
const ACTIVITY_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:[A-Za-z0-9_.-]{1,80}$/;
/** Step Functions' answer when a token's task is over (timed out, its execution ended): nobody can answer it any more. */
const TASK_OVER = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/**
 * `deploy-runbook approve --execution <arn> [--reject]`: answers the restore or rollback approval (or the plan gate)
 * that execution waits for.
 *
 * The runbook waits on the stack's restore-approval activity; this takes the pending task with GetActivityTask
 * (the task token comes only in that answer, never in the execution history, the log or a notification),
 * checks that the task belongs to the execution the person named, and answers it. The token is a credential:
 * it is never printed, not even in an error.
 */
export async function approve(options: ApproveOptions, io: CliIo): Promise<number> {
  const executionArn = options.execution.trim();
  if (!EXECUTION_ARN.test(executionArn)) {
    throw new UsageError(
      `--execution: must be the execution ARN from the approval request, such as arn:aws:states:eu-west-1:123456789012:execution:deploy-runbook:v1.4.2-20250102T030405Z (got "${executionArn.slice(0, 200)}")`,
    );
  }
  const by = options.by ?? io.env.GITHUB_ACTOR ?? io.env.USER ?? null;
  if (by !== null && (by.length === 0 || by.length > 128)) throw new UsageError(`--by: must be 1-128 characters (got "${by.slice(0, 40)}")`);
  if (options.comment !== undefined && (options.comment.length === 0 || options.comment.length > 1024)) {
    throw new UsageError(`--comment: must be 1-1024 characters (got ${options.comment.length} characters)`);
  }
  const comment = options.comment ?? null;
  const { sfn } = io.aws(options.region ?? arnRegion(executionArn));
  const name = executionArn.split(':').at(-1);

  // An ended execution waits for nothing: polling for it could only take another execution's request.
  const described = await asking(`cannot read execution ${name}`, () => sfn.send(new DescribeExecutionCommand({ executionArn })));
  if (described.status !== 'RUNNING') {
    throw new ApprovalError(`execution ${name} is ${described.status ?? 'in an unknown state'}: it waits for no approval; nothing was answered`);
  }
  const activityArn = approvalActivityOf(
    (await asking(`cannot read the definition execution ${name} runs`, () => sfn.send(new DescribeStateMachineForExecutionCommand({ executionArn })))).definition,
    name,
  );

  const workerName = `deploy-runbook approve${by ? ` by ${by}` : ''}`.slice(0, 80);
  let otherTasks = 0;
  for (let poll = 0; poll < APPROVAL_POLLS; ) {
    const task = await asking(`cannot take the approval request from ${activityArn}`, () => sfn.send(new GetActivityTaskCommand({ activityArn, workerName })));
    const token = task.taskToken;
    if (!token) {
      poll += 1;
      continue;
    }
    const request = parseRequest(task.input);
    if (request?.execution === executionArn) {
      await answer(sfn, token, request.kind, options.reject === true, by, comment);
      const who = by ? ` by ${by}` : '';
      if (request.kind === 'rollback-approval') {
        io.stdout.write(
          options.reject
            ? `✖ rollback rejected${who}: execution ${name} keeps ${request.version ?? 'the new version'} on ${request.target} and ends ReleaseKept\n`
            : `✔ rollback approved${who}: execution ${name} rolls ${request.target} back to ${request.rollbackTo ?? 'the previous version'}\n`,
        );
      } else if (request.kind === 'plan-approval') {
        io.stdout.write(
          options.reject
            ? `✖ release plan ${request.plan} rejected${who} after stage ${request.stage}: execution ${name} rolls back the stages it deployed\n`
            : `✔ release plan ${request.plan} approved${who}: execution ${name} goes on after stage ${request.stage}\n`,
        );
      } else {
        io.stdout.write(
          options.reject
            ? `✖ restore rejected${who}: execution ${name} rolls back without restoring the database\n`
            : `✔ restore approved${who}: execution ${name} restores the pre-deploy snapshot\n`,
        );
      }
      return 0;
    }
    // Another execution's request. Nobody decided on it: it is handed back as not approved (as after a timeout).
    const other = request?.execution ?? 'an unreadable request';
    const cause = `taken by deploy-runbook approve --execution ${executionArn}${by ? ` (by ${by})` : ''}, which was asked about another execution: nobody decided on this request, so it goes on as after a timeout`;
    try {
      await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: APPROVAL_MISDIRECTED, cause }));
    } catch (error) {
      const failure = error as Error;
      if (!TASK_OVER.has(failure.name)) throw refused(failure, token);
      // A request left behind by an execution that ended while it waited: nothing to decide; take the next one.
      otherTasks += 1;
      if (otherTasks >= MAX_OTHER_TASKS) break;
      continue;
    }
    throw new ApprovalError(
      `the pending approval request was for execution ${other}, not ${name}: nothing was answered for ${name}; ` +
        `${other} was told nobody decided (${APPROVAL_MISDIRECTED}) and goes on as after a timeout. ` +
        'Two executions waited at once, which the deployment lock should prevent: check the lock of this target.',
    );
  }
  throw new ApprovalError(
    `no approval request of execution ${name} is pending on ${activityArn} (waited ${APPROVAL_POLLS} polls): ` +
      'it has not reached AwaitRestoreApproval or AwaitRollbackApproval yet, or was already answered or timed out (see deploy-runbook status); nothing was answered',
  );
}

/** The activity the execution's AwaitRestoreApproval waits on, read from the definition that execution runs. */
function approvalActivityOf(definition: string | undefined, name: string | undefined): string {
  let states: Record<string, { Type?: string; Resource?: unknown }> = {};
  try {
    states = (JSON.parse(definition ?? '{}') as { States?: typeof states }).States ?? {};
  } catch {
    // An unreadable definition has no activity: reported below.
  }
  const arns = [...new Set(Object.values(states).flatMap((s) => (s.Type === 'Task' && typeof s.Resource === 'string' && ACTIVITY_ARN.test(s.Resource) ? [s.Resource] : [])))];
  if (arns.length !== 1) {
    throw new ApprovalError(
      `execution ${name} runs a definition with ${arns.length === 0 ? 'no approval activity' : `${arns.length} approval activities`}: it is not a deploy-runbook execution this CLI can answer (a runbook deployed before approvals moved to an activity?); nothing was answered`,
    );
  }
  return arns[0];
}

/** A restore or rollback approval of a runbook, or an approval gate of a release plan (core/plan-approval.ts). */
function parseRequest(input: string | undefined): RestoreApprovalTask | RollbackApprovalTask | PlanApprovalTask | null {
  try {
    const raw: unknown = JSON.parse(input ?? '');
    for (const schema of [RestoreApprovalTask, RollbackApprovalTask, PlanApprovalTask] as const) {
      const parsed = schema.safeParse(raw);
      if (parsed.success) return parsed.data;
    }
    return null;
  } catch {
    return null;
  }
}

/**
 * A rejected restore or plan gate is a SendTaskFailure (the waiting state catches it); a rejected rollback is an
 * answer like an approval, `{"approved": false}`: keeping the release is a decision the execution records with its author.
 */
async function answer(sfn: SFNClient, token: string, kind: string, reject: boolean, by: string | null, comment: string | null): Promise<void> {
  try {
    if (reject && kind !== 'rollback-approval') {
      const cause = `rejected by ${by ?? 'an operator'}${comment ? `: ${comment}` : ''}`;
      await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: REJECTED_ERROR, cause }));
    } else {
      await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved: !reject, by, comment }) }));
    }
  } catch (error) {
    throw refused(error as Error, token);
  }
}

/** Step Functions refused the answer (the task timed out meanwhile, or no permission); the token is masked. */
function refused(failure: Error, token: string): ApprovalError {
  return new ApprovalError(`Step Functions refused the answer (${failure.name}): ${failure.message.split(token).join('***')}`);
}

async function asking<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const failure = error as Error;
    throw new ApprovalError(`${what} (${failure.name}): ${failure.message}`);
  }
}
