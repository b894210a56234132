import * as z from 'zod/mini';

/**
 * A person approving a database restore, through a Step Functions activity the stack creates.
 *
 * The runbook's AwaitRestoreApproval Task waits on the activity; `deploy-runbook approve --execution <arn>`
 * takes the pending task with GetActivityTask and answers it with SendTaskSuccess (an `Approval`) or
 * SendTaskFailure (`RESTORE_REJECTED`). The task token exists only in the GetActivityTask response: it is in
 * no state's Parameters, so neither the execution history, the execution log nor a notification carries it.
 */

/** The input of a restore-approval activity task: which execution waits, for what. Nothing in it is secret. */
export const RestoreApprovalTask = z.object({
  kind: z.literal('restore-approval'),
  /** The waiting execution's ARN (`$$.Execution.Id`): the CLI answers only the execution it was asked to. */
  execution: z.string().check(z.minLength(1)),
  target: z.string().check(z.minLength(1)),
  /** The snapshot the restore would bring back. */
  snapshot: z.string().check(z.minLength(1)),
});
export type RestoreApprovalTask = z.output<typeof RestoreApprovalTask>;

/** The Error of a rejection (SendTaskFailure); AwaitRestoreApproval catches it into RestoreNotApproved. */
export const RESTORE_REJECTED = 'RestoreRejected';

/**
 * The Error sent back on a task the CLI took for another execution than the one it was asked to answer (only
 * possible when two executions wait at once, which the lock prevents): nobody decided, so nothing is restored,
 * as after a timeout, and the execution's report says why.
 */
export const APPROVAL_MISDIRECTED = 'ApprovalMisdirected';

/** The stack output holding the activity's ARN: who approves needs GetActivityTask and SendTask* on it. */
export const RESTORE_APPROVAL_ACTIVITY_OUTPUT = 'RestoreApprovalActivityArn';
