import * as z from 'zod/mini';

/**
 * A person deciding whether a release that failed its checks is rolled back (`rollbackApproval.required`), through
 * the same activity as a restore approval (core/restore-approval.ts): `deploy-runbook approve --execution <arn>`
 * takes the task with GetActivityTask and answers `{"approved": true}` (roll back) or, with `--reject`,
 * `{"approved": false}` (keep the new version). Both are answers, sent with SendTaskSuccess, so the execution
 * records who decided; no task token is ever in the history, the log or a notification.
 */
export const RollbackApprovalTask = z.object({
  kind: z.literal('rollback-approval'),
  /** The waiting execution's ARN (`$$.Execution.Id`): the CLI answers only the execution it was asked to. */
  execution: z.string().check(z.minLength(1)),
  target: z.string().check(z.minLength(1)),
  /** The release that failed (the deployed version, or the one an alarm rollback would undo). */
  version: z.nullable(z.string()),
  /** The version a rollback would bring back. */
  rollbackTo: z.nullable(z.string()),
  /** Why the rollback is due: the failure's Error, such as SmokeTestFailed or AlarmFired. */
  reason: z.string().check(z.minLength(1)),
});
export type RollbackApprovalTask = z.output<typeof RollbackApprovalTask>;

/** How a rehearsal plays the person (`rehearse --rollback-approval`): roll back, keep, or let the wait time out. */
export const REHEARSAL_ANSWERS = ['approve', 'reject', 'timeout'] as const;
export type RehearsalAnswer = (typeof REHEARSAL_ANSWERS)[number];
