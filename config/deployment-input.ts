import { z } from 'zod';
import { IMAGE_REFERENCE } from './image-reference';
import { MetricName } from './metric-name';
import { SqlCheckName } from './sql-check-name';

/** The execution input: what CI, a person or an alarm asks the runbook to do. */

/** Larger inputs are refused before they are parsed. */
export const MAX_INPUT_BYTES = 8 * 1024;

const version = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'must start with a letter or digit and use only letters, digits, . _ + -')
  // The version reaches file names and commands (`migrate.mjs {{version}}`): `..` could climb out of a directory.
  .refine((text) => !text.includes('..'), 'must not contain ..');

/** A lambda-alias target's zip package: an S3 object, its key in plain characters. */
const S3_OBJECT = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/[A-Za-z0-9!_.*'()/+=-]{1,400}$/;
const image = z
  .string()
  .min(1)
  .max(512)
  .superRefine((text, ctx) => {
    if (text.startsWith('s3://') ? S3_OBJECT.test(text) : IMAGE_REFERENCE.test(text)) return;
    ctx.addIssue({
      code: 'custom',
      message: text.startsWith('s3://')
        ? "must be an S3 object such as s3://bucket/v1.4.2/function.zip (letters, digits and !_.*'()/+=- in the key)"
        : 'must be an image reference such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1.4.2',
    });
  });
const who = z.string().min(1).max(128);
const reason = z.string().min(1).max(1024);
/** The release plan, execution and stage (at its version) a plan's rollback or gate is started for. */
const planTrigger = z.strictObject({
  name: z.string().min(1).max(64),
  execution: z.string().min(1).max(2048),
  stage: z.string().min(1).max(64),
  version,
});

/** The most SQL checks one `check` request (a plan's SQL gate) names, and the most metrics an `analyze` request names. */
export const MAX_GATE_CHECKS = 20;

export const DeployRequest = z.strictObject({
  action: z.literal('deploy', { error: 'must be "deploy" (the default), "rollback", "watch", "drill", "check" or "analyze"' }).default('deploy'),
  version,
  image: image.optional(),
  requestedBy: who.optional(),
  reason: reason.optional(),
});

export const RollbackRequest = z.strictObject({
  action: z.literal('rollback'),
  /** Set by the EventBridge rule on a CloudWatch alarm entering ALARM. */
  alarm: z
    .strictObject({
      name: z.string().min(1).max(255),
      reason: z.string().max(4096).optional(),
      time: z.string().max(64).optional(),
    })
    .optional(),
  /**
   * Set by a release plan rolling back a stage it completed because a later stage or gate failed: only the release
   * of this version is undone, and only while it is the target's current one.
   */
  plan: planTrigger.optional(),
  requestedBy: who.optional(),
  reason: reason.optional(),
});

/**
 * Sent by a release plan's SQL gate: run these SQL checks (`checks.sql[].name`, whatever their `when`) read-only now;
 * the execution fails `ChecksFailed` when one does not pass. It takes no lock and changes nothing.
 */
export const CheckRequest = z.strictObject({
  action: z.literal('check'),
  checks: z.array(SqlCheckName).min(1).max(MAX_GATE_CHECKS),
  /** The plan and stage whose gate asks. */
  plan: planTrigger.optional(),
  requestedBy: who.optional(),
  reason: reason.optional(),
});

/**
 * Sent by a release plan's analysis gate: measure the latest release's analysis metrics once against the baselines its
 * release kept, as a watch checkpoint does; the execution fails `AnalysisFailed` when one fails. It takes no lock,
 * changes nothing and never rolls back (the plan decides).
 */
export const AnalyzeRequest = z.strictObject({
  action: z.literal('analyze'),
  /** The metrics to measure (`analysis.metrics[].name`, deciding ones); every deciding metric when absent. */
  metrics: z.array(MetricName).min(1).max(MAX_GATE_CHECKS).optional(),
  /** The plan and stage whose gate asks: the release measured must be of its version. */
  plan: planTrigger.optional(),
  requestedBy: who.optional(),
  reason: reason.optional(),
});

/** Sent by the watch schedule (analysis.watch): one checkpoint of the latest release, through its rollback window. */
export const WatchRequest = z.strictObject({
  action: z.literal('watch'),
  requestedBy: who.optional(),
  reason: reason.optional(),
});

/**
 * Sent by `deploy-runbook drill` and the drill schedule (backup.drillSchedule): back up the database, restore the
 * backup into a scratch database, compare and check it, drop the copy; nothing is deployed.
 */
export const DrillRequest = z.strictObject({
  action: z.literal('drill'),
  requestedBy: who.optional(),
  reason: reason.optional(),
});

/**
 * The input of a drill execution, as `deploy-runbook drill` (here and on AWS) and the drill schedule send it: only the
 * fields given. Check it with DrillRequest before sending.
 */
export function drillRequest(fields: { readonly requestedBy?: string; readonly reason?: string }): { action: 'drill'; requestedBy?: string; reason?: string } {
  return {
    action: 'drill',
    ...(fields.requestedBy !== undefined ? { requestedBy: fields.requestedBy } : {}),
    ...(fields.reason !== undefined ? { reason: fields.reason } : {}),
  };
}

export type DeploymentRequest =
  | z.output<typeof DeployRequest>
  | z.output<typeof RollbackRequest>
  | z.output<typeof WatchRequest>
  | z.output<typeof DrillRequest>
  | z.output<typeof CheckRequest>
  | z.output<typeof AnalyzeRequest>;

/** Picks the schema by `action` so that errors speak of the request the caller meant. */
export function requestSchemaFor(
  raw: unknown,
): typeof DeployRequest | typeof RollbackRequest | typeof WatchRequest | typeof DrillRequest | typeof CheckRequest | typeof AnalyzeRequest {
  const action = raw !== null && typeof raw === 'object' ? (raw as { action?: unknown }).action : undefined;
  if (action === 'watch') return WatchRequest;
  if (action === 'drill') return DrillRequest;
  if (action === 'check') return CheckRequest;
  if (action === 'analyze') return AnalyzeRequest;
  return action === 'rollback' ? RollbackRequest : DeployRequest;
}
