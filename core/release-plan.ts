import * as z from 'zod/mini';

/**
 * A release plan as its state machine runs it: the stages resolved to their runbooks' state machines, and the
 * progress the plan function keeps between the parent's states. The parent's Choice states route on
 * `progress.next`; the plan function (core/tasks/release-plan) is the only writer of `progress`.
 */

/**
 * A gate as the parent waits on it: a soak in seconds, an approval with its timeout in seconds, or SQL checks of the
 * stage's runbook by name (a child execution of that runbook runs them: `{action: "check", checks}`).
 */
export const PlanGate = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('soak'), seconds: z.int().check(z.minimum(1)) }),
  z.object({ kind: z.literal('approval'), timeoutSeconds: z.int().check(z.minimum(1)) }),
  z.object({ kind: z.literal('sql'), checks: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)) }),
  /** Analysis metrics of the stage's runbook by name, null for every deciding one (`{action: "analyze", metrics}`). */
  z.object({ kind: z.literal('analysis'), metrics: z.nullable(z.array(z.string().check(z.minLength(1)))) }),
]);
export type PlanGate = z.output<typeof PlanGate>;

/** One stage, resolved: which runbook state machine runs it, with what input. */
export const ReleaseStage = z.object({
  name: z.string().check(z.minLength(1)),
  stateMachineArn: z.string().check(z.minLength(1)),
  /** The runbook's target (its configuration's `name`): where its lock, ledger and reports live. */
  target: z.string().check(z.minLength(1)),
  version: z.string().check(z.minLength(1)),
  image: z.nullable(z.string()),
  gates: z.array(PlanGate),
});
export type ReleaseStage = z.output<typeof ReleaseStage>;

/** `$.release`: the validated plan (ValidatePlan's result). */
export const Release = z.object({
  /** Unique per plan execution: the children's execution names and the report's key derive from it. */
  id: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/)),
  name: z.string().check(z.minLength(1)),
  executionId: z.string().check(z.minLength(1)),
  requestedBy: z.nullable(z.string()),
  reason: z.nullable(z.string()),
  stages: z.array(ReleaseStage).check(z.minLength(1)),
  startedAt: z.string().check(z.minLength(1)),
});
export type Release = z.output<typeof Release>;

export const StageStatus = z.enum(['pending', 'succeeded', 'failed', 'rolled-back', 'rollback-failed']);
export type StageStatus = z.output<typeof StageStatus>;

/** A child execution the plan started: a stage's deployment or its rollback. */
export const ChildExecution = z.object({
  executionArn: z.nullable(z.string()),
  name: z.string(),
  /** How it ended: `SUCCEEDED`, or its Fail state's Error (`RolledBack`, `DeploymentAborted`…). */
  ended: z.nullable(z.string()),
  cause: z.nullable(z.string()),
});
export type ChildExecution = z.output<typeof ChildExecution>;

export const StageRecord = z.object({
  name: z.string(),
  target: z.string(),
  version: z.string(),
  status: StageStatus,
  deployment: z.nullable(ChildExecution),
  /** The deployment's id in its runbook's store: its evidence report is `reports/<target>/<deploymentId>.json`. */
  deploymentId: z.nullable(z.string()),
  gates: z.array(z.object({ kind: z.string(), passed: z.boolean(), detail: z.string() })),
  rollback: z.nullable(ChildExecution),
});
export type StageRecord = z.output<typeof StageRecord>;

/** What the parent does next (`check`: a SQL gate's child execution, `analyze`: an analysis gate's); the last four end the plan. */
export const PlanStep = z.enum(['run-stage', 'soak', 'approval', 'check', 'analyze', 'undo', 'succeeded', 'rolled-back', 'aborted', 'rollback-failed']);
export type PlanStep = z.output<typeof PlanStep>;

/** The child execution RunStage, RunGateChecks, RunGateAnalysis or RollBackStage starts: `startExecution.sync:2`'s StateMachineArn, Name and Input. */
export const ChildStart = z.object({
  stateMachineArn: z.string(),
  name: z.string(),
  input: z.record(z.string(), z.unknown()),
});
export type ChildStart = z.output<typeof ChildStart>;

/** `$.progress`: where the plan is. */
export const PlanProgress = z.object({
  next: PlanStep,
  /** The stage being run, gated or rolled back. */
  index: z.int(),
  /** The gate of `index` being waited on (soak, approval, sql). */
  gateIndex: z.int(),
  run: z.nullable(ChildStart),
  gate: z.nullable(
    z.object({
      stage: z.string(),
      kind: z.string(),
      seconds: z.nullable(z.int()),
      timeoutSeconds: z.nullable(z.int()),
      /** A `sql` gate's check names. */
      checks: z.optional(z.nullable(z.array(z.string()))),
      /** An `analysis` gate's metric names (null: every deciding one). */
      metrics: z.optional(z.nullable(z.array(z.string()))),
    }),
  ),
  stages: z.array(StageRecord),
  /** The first failure: which stage or gate, and why. */
  failure: z.nullable(z.object({ stage: z.string(), Error: z.string(), Cause: z.string() })),
  /** One sentence for the Fail state's Cause and the CLI. */
  cause: z.nullable(z.string()),
});
export type PlanProgress = z.output<typeof PlanProgress>;

/** `$.last`: what the state before Advance produced — a child's DescribeExecution-shaped output, an approval, a soak's end, or a caught error. */
export const PlanStepResult = z.nullable(z.record(z.string(), z.unknown()));

/** The plan's terminal states, by the step that ends it. */
export const PLAN_END_STATES = {
  succeeded: 'PlanSucceeded',
  'rolled-back': 'RolledBack',
  aborted: 'PlanAborted',
  'rollback-failed': 'RollbackFailed',
} as const satisfies Partial<Record<PlanStep, string>>;

/** Output keys of the release plan stack (lib/release-plan-stack.ts) that `deploy-runbook release` and `approve` read. */
export const PLAN_STACK_OUTPUTS = { stateMachineArn: 'PlanStateMachineArn', bucketName: 'PlanBucketName', approvalActivityArn: 'PlanApprovalActivityArn' } as const;
