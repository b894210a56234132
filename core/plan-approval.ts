import * as z from 'zod/mini';

/**
 * A person letting a release plan go on past an approval gate, through the plan stack's activity: as for a
 * restore (core/restore-approval.ts), `deploy-runbook approve --execution <plan execution>` takes the task with
 * GetActivityTask and answers it, so no task token is ever in the plan's history or log.
 */
export const PlanApprovalTask = z.object({
  kind: z.literal('plan-approval'),
  /** The waiting plan execution's ARN: the CLI answers only the execution it was asked to. */
  execution: z.string().check(z.minLength(1)),
  plan: z.string().check(z.minLength(1)),
  /** The stage just deployed, which the next one waits behind. */
  stage: z.string().check(z.minLength(1)),
  gate: z.object({ timeoutSeconds: z.int().check(z.minimum(1)) }),
});
export type PlanApprovalTask = z.output<typeof PlanApprovalTask>;
