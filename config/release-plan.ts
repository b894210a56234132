import { z } from 'zod';
import { RunbookError } from '../core/errors';
import { DeployRequest, MAX_GATE_CHECKS } from './deployment-input';
import { formatIssues } from './issues';
import { readJsonFile } from './load';
import { MetricName } from './metric-name';
import { SqlCheckName } from './sql-check-name';

/**
 * A release plan: runbooks deployed one after the other (staging before production, a backend before its
 * frontend), with gates between them. The plan's state machine runs each stage as a child execution of its
 * runbook and, when a stage or a gate fails, rolls back the stages already done, newest first.
 */

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$/, 'must be 1-48 letters, digits or _ . -');

/** Which runbook a stage deploys: a deploy-runbook stack on AWS (its name or its state machine's ARN), or a rehearsal's configuration file. */
export const RunbookReference = z.union([
  z.strictObject({ stack: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a CloudFormation stack name') }),
  z.strictObject({
    stateMachineArn: z.string().regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, 'must be a Step Functions state machine ARN'),
  }),
  z.strictObject({ config: z.string().min(1).max(1024) }),
]);
export type RunbookReference = z.output<typeof RunbookReference>;

/** The longest gate wait a plan may hold: a plan's execution must end well inside Step Functions' year. */
export const MAX_GATE_MINUTES = 7 * 24 * 60;

/** What must hold before the plan goes on from a stage to the next. */
export const Gate = z.discriminatedUnion('kind', [
  /** The stage's release runs at least this long (its own bake and alarm rollback keep watching it) before the next stage starts. */
  z.strictObject({ kind: z.literal('soak'), minutes: z.number().positive().max(MAX_GATE_MINUTES) }),
  /**
   * A person answers `deploy-runbook approve --execution <plan execution>` within the timeout; a rejection or no
   * answer fails the gate, and the plan rolls back what it deployed.
   */
  z.strictObject({ kind: z.literal('approval'), timeoutMinutes: z.int().min(1).max(MAX_GATE_MINUTES) }),
  /**
   * SQL checks of the stage's runbook, by name (its `checks.sql[].name`, whatever their `when`), run read-only against
   * its database by a child execution of that runbook (`{"action": "check"}`); one failing fails the gate.
   */
  z.strictObject({ kind: z.literal('sql'), checks: z.array(SqlCheckName).min(1).max(MAX_GATE_CHECKS) }),
  /**
   * Analysis metrics of the stage's runbook (its `analysis.metrics[].name`, deciding ones; all of them when `metrics` is
   * absent), measured once against the baselines the stage's release kept, as a watch checkpoint measures, by a child
   * execution of that runbook (`{"action": "analyze"}`); one metric without a passing measurement fails the gate.
   */
  z.strictObject({ kind: z.literal('analysis'), metrics: z.array(MetricName).min(1).max(MAX_GATE_CHECKS).optional() }),
]);
export type Gate = z.output<typeof Gate>;

export const Stage = z.strictObject({
  name,
  runbook: RunbookReference,
  /** The version this stage deploys, as `start --version`. */
  version: DeployRequest.shape.version,
  /** The image, for an ECS target (as `start --image`). */
  image: DeployRequest.shape.image,
  /** Checked after the stage succeeded, before the next one starts. */
  gates: z.array(Gate).max(10).default([]),
});
export type Stage = z.output<typeof Stage>;

export const ReleasePlan = z
  .strictObject({
    name,
    description: z.string().max(1024).optional(),
    stages: z.array(Stage).min(1).max(10),
  })
  .superRefine((plan, ctx) => {
    const seen = new Map<string, number>();
    const runbooks = new Map<string, number>();
    plan.stages.forEach((stage, index) => {
      const first = seen.get(stage.name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['stages', index, 'name'], message: `duplicate stage: stages[${first}] is already called '${stage.name}'` });
      else seen.set(stage.name, index);
      const key = JSON.stringify(stage.runbook);
      const earlier = runbooks.get(key);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['stages', index, 'runbook'],
          message: `a cycle: stages[${earlier}] (${plan.stages[earlier].name}) already deploys this runbook; a plan deploys each runbook once`,
        });
      } else runbooks.set(key, index);
    });
  });
export type ReleasePlan = z.output<typeof ReleasePlan>;

/** The plan state machine's input: the plan, and who asks why (as `start`'s --requested-by and --reason). */
export const PlanRequest = z.strictObject({
  plan: z.unknown(),
  requestedBy: DeployRequest.shape.requestedBy,
  reason: DeployRequest.shape.reason,
});
export type PlanRequest = z.output<typeof PlanRequest>;

/** The plan cannot be run; `problems` has one line per field, each naming the value received. Nothing was started. */
export class ReleasePlanError extends RunbookError {
  override readonly name = 'ReleasePlanError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source} is not a valid release plan:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Validates a plan document and fills defaults; throws a ReleasePlanError naming every invalid field. */
export function parseReleasePlan(raw: unknown, source = 'plan'): ReleasePlan {
  const result = ReleasePlan.safeParse(raw);
  if (!result.success) throw new ReleasePlanError(source, formatIssues(result.error, raw));
  return result.data;
}

/** Reads a JSON plan file; JSON syntax errors are reported with the file name. */
export function loadReleasePlanFile(path: string): ReleasePlan {
  return parseReleasePlan(readJsonFile(path, (problem) => new ReleasePlanError(path, [problem])), path);
}
