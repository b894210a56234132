import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// Zod Mini carries no messages of its own: the functions' errors read as classic zod's do.
z.config(en());

/**
 * The pieces of execution state the tasks exchange through the state machine. Each task parses the
 * slice it reads with these schemas, so a shape change breaks a test rather than a deployment.
 * Slots not yet filled are `null` (LoadConfig initialises them), never missing.
 */

const isoTime = z.string().check(z.minLength(1));

/**
 * Configuration that ValidateInput (and the synth before it) already judged: a function takes it as typed,
 * without bundling the configuration schema to parse it again.
 */
export function judged<T>() {
  return z.custom<T>();
}

/** `$.execution`, from the context object. */
export const Execution = z.object({
  id: z.string().check(z.minLength(1)),
  name: z.string().check(z.minLength(1)),
  startedAt: isoTime,
});
export type Execution = z.output<typeof Execution>;

/** What a failed watch checkpoint hands the rollback: which release it measured, when, and which metrics failed. */
export const WatchTrigger = z.object({
  /** The release measured: a rollback undoes it only while it is still the current release. */
  releaseId: z.string().check(z.minLength(1)),
  checkpoint: z.int().check(z.minimum(1)),
  at: isoTime,
  /** The metrics that failed, by name. */
  metrics: z.array(z.string()),
  /** Why, in one sentence per metric. */
  reason: z.string(),
});
export type WatchTrigger = z.output<typeof WatchTrigger>;

/** What a release plan hands the rollback of a stage it completed: which plan, and the version that stage released. */
export const PlanTrigger = z.object({
  name: z.string().check(z.minLength(1)),
  execution: z.string().check(z.minLength(1)),
  stage: z.string().check(z.minLength(1)),
  /** The release undone: only while this version is the target's current release. */
  version: z.string().check(z.minLength(1)),
});
export type PlanTrigger = z.output<typeof PlanTrigger>;

/** `$.deployment`: the validated request (ValidateInput's result). */
export const Deployment = z.object({
  /** Unique per execution; snapshot, manifest and report names derive from it. */
  id: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/)),
  /**
   * `watch`: a checkpoint of the post-release watch; it becomes `rollback` when the checkpoint fails. `drill`: a restore
   * drill, nothing deployed. `check`: a release plan's SQL gate, the named checks run once (`checks`). `analyze`: a
   * release plan's analysis gate, the latest release's metrics measured once (`metrics`, or all deciding ones).
   */
  action: z.enum(['deploy', 'rollback', 'watch', 'drill', 'check', 'analyze']),
  target: z.string().check(z.minLength(1)),
  version: z.nullable(z.string()),
  image: z.nullable(z.string()),
  requestedBy: z.nullable(z.string()),
  reason: z.nullable(z.string()),
  alarm: z.nullable(z.object({ name: z.string(), reason: z.nullable(z.string()), time: z.nullable(z.string()) })),
  /** Set on the rollback a failed watch checkpoint starts, as `alarm` is on an alarm's. */
  watch: z.optional(z.nullable(WatchTrigger)),
  /** Set on the rollback a release plan starts for a stage it completed, and on the checks of its SQL and analysis gates. */
  plan: z.optional(z.nullable(PlanTrigger)),
  /** `check`: the SQL checks to run, by name (`checks.sql[].name`). */
  checks: z.optional(z.nullable(z.array(z.string()))),
  /** `analyze`: the metrics to measure, by name (`analysis.metrics[].name`); null or absent: every deciding one. */
  metrics: z.optional(z.nullable(z.array(z.string()))),
  /** Alarm evaluations in the bake: ceil(bake.durationSeconds / bake.pollSeconds), at least one. */
  bakeChecks: z.int().check(z.minimum(1)),
  /** Restore approval wait, for the Task's TimeoutSecondsPath. */
  approvalTimeoutSeconds: z.int().check(z.minimum(1)),
  executionId: z.string().check(z.minLength(1)),
  startedAt: isoTime,
});
export type Deployment = z.output<typeof Deployment>;

/** `$.lock`: the lease a deployment holds on its target. */
export const Lease = z.object({
  key: z.string().check(z.minLength(1)),
  owner: z.string().check(z.minLength(1)),
  executionId: z.string().check(z.minLength(1)),
  etag: z.string().check(z.minLength(1)),
  acquiredAt: isoTime,
  expiresAt: isoTime,
  /** True when a stale lease of a dead execution was taken over. */
  tookOver: z.boolean(),
  previousOwner: z.nullable(z.string()),
});
export type Lease = z.output<typeof Lease>;

/** What runs on the target: enough to redeploy it exactly. */
export const DeployedVersion = z.object({
  version: z.nullable(z.string()),
  image: z.nullable(z.string()),
  /** ECS: task definition ARN; hook: its reference; local: the version. */
  ref: z.string().check(z.minLength(1)),
});
export type DeployedVersion = z.output<typeof DeployedVersion>;

export const AlarmStateValue = z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']);
export const AlarmState = z.object({
  name: z.string().check(z.minLength(1)),
  state: AlarmStateValue,
  reason: z.nullable(z.string()),
  updatedAt: z.nullable(z.string()),
});
export type AlarmState = z.output<typeof AlarmState>;

/** One analysis metric as Preflight measured it, before anything changed; null: the query found no data. */
export const MetricBaseline = z.object({ name: z.string(), value: z.nullable(z.number()), at: isoTime });
export type MetricBaseline = z.output<typeof MetricBaseline>;

export const Baseline = z.object({
  takenAt: isoTime,
  alarms: z.array(AlarmState),
  metrics: z._default(z.array(MetricBaseline), []),
});
export type Baseline = z.output<typeof Baseline>;

export const DatabaseInfo = z.object({
  kind: z.enum(['rds-instance', 'aurora-cluster', 'postgres']),
  identifier: z.string().check(z.minLength(1)),
  arn: z.nullable(z.string()),
  engine: z.string(),
  engineVersion: z.nullable(z.string()),
  status: z.string(),
  encrypted: z.nullable(z.boolean()),
  sizeBytes: z.nullable(z.number()),
});
export type DatabaseInfo = z.output<typeof DatabaseInfo>;

export const PreflightCheck = z.object({ name: z.string(), ok: z.boolean(), detail: z.string() });
export type PreflightCheck = z.output<typeof PreflightCheck>;

/** `$.preflight`. */
export const Preflight = z.object({
  running: DeployedVersion,
  baseline: Baseline,
  database: z.nullable(DatabaseInfo),
  checks: z.array(PreflightCheck),
  checkedAt: isoTime,
});
export type Preflight = z.output<typeof Preflight>;

/**
 * RDS and Aurora with `database.logicalBackup`: the pg_dump stored beside the snapshot, a portable copy (the snapshot
 * is what a rollback restores). The snapshot is `available` only once this copy is too, stored and listed.
 */
export const LogicalCopy = z.object({
  status: z.enum(['creating', 'available', 'failed']),
  /** The database pg_dump read (current_database() as the task saw it). */
  source: z.string(),
  /** Key of the dump in the artifact store. */
  location: z.string(),
  /** sha256 of the dump, computed while it streamed. */
  checksum: z.nullable(z.string()),
  sizeBytes: z.nullable(z.number()),
  startedAt: isoTime,
  completedAt: z.nullable(z.string()),
  /** The task's checks (pg_restore --list of the stored dump) and the size check. */
  verification: z.array(z.string()),
});
export type LogicalCopy = z.output<typeof LogicalCopy>;

/** `$.snapshot`: the pre-deploy backup. */
export const SnapshotRef = z.object({
  id: z.string().check(z.minLength(1)),
  arn: z.nullable(z.string()),
  kind: z.enum(['rds-instance', 'aurora-cluster', 'postgres']),
  source: z.string().check(z.minLength(1)),
  status: z.enum(['creating', 'available', 'failed']),
  engine: z.nullable(z.string()),
  encrypted: z.nullable(z.boolean()),
  sizeBytes: z.nullable(z.number()),
  /** Local backups: where the dump lives in the artifact store. */
  location: z.nullable(z.string()),
  /** Local backups: sha256 of the dump. */
  checksum: z.nullable(z.string()),
  startedAt: isoTime,
  completedAt: z.nullable(z.string()),
  /** What was checked once it became available (encryption, pg_restore --list, …). */
  verification: z.array(z.string()),
  /** RDS and Aurora with `database.logicalBackup`: the dump beside the snapshot; absent otherwise. */
  logicalCopy: z.optional(z.nullable(LogicalCopy)),
});
export type SnapshotRef = z.output<typeof SnapshotRef>;

/** `$.backup`: RecordBackup's result. */
export const BackupRecord = z.object({ manifestKey: z.string(), location: z.string(), snapshotId: z.string(), recordedAt: isoTime });
export type BackupRecord = z.output<typeof BackupRecord>;

/** `$.release` (deploy) and `$.rollback`: a started deployment to poll. */
export const DeployHandle = z.object({
  kind: z.enum(['ecs', 'hook', 'ssm-hosts', 'lambda-alias', 'command', 'process', 'hosts']),
  /** What is being rolled out (task definition ARN, hook reference, version). */
  ref: z.string().check(z.minLength(1)),
  version: z.nullable(z.string()),
  image: z.nullable(z.string()),
  /** ECS deployment id, hook deployment id… */
  deploymentId: z.nullable(z.string()),
  startedAt: isoTime,
});
export type DeployHandle = z.output<typeof DeployHandle>;

/** One weight the alias was given: the new version's share from `at` on. */
export const TrafficShift = z.object({ percent: z.number(), at: isoTime, detail: z.string() });
export type TrafficShift = z.output<typeof TrafficShift>;

/**
 * `$.traffic`: a target shifting traffic in steps (lambda-alias), null for every other. Written at synth as the plan
 * (`given` 0), then by each ShiftTraffic: how many steps were given, this step's bake length, and every weight so far.
 */
export const TrafficState = z.object({
  steps: z.array(z.object({ percent: z.number(), seconds: z.nullable(z.number()) })),
  /** Steps given so far: the counter the step loop exits on once it reaches `total`. */
  given: z.int().check(z.minimum(0)),
  total: z.int().check(z.minimum(1)),
  percent: z.number(),
  /** Bake evaluations of the step now running (the last step's bake is the configured one, `deployment.bakeChecks`). */
  bakeChecks: z.int().check(z.minimum(1)),
  history: z.array(TrafficShift),
});
export type TrafficState = z.output<typeof TrafficState>;

/** `$.deployStatus` / `$.rollbackStatus`. A failed rollout throws DeploymentFailedError instead. */
/** One host of a completed hosts rollout (ssm-hosts, hosts): how its command ended and the end of its output, masked. */
export const HostOutcome = z.object({ host: z.string(), state: z.enum(['succeeded', 'failed']), detail: z.string() });
export type HostOutcome = z.output<typeof HostOutcome>;

export const DeployStatus = z.object({
  status: z.enum(['in-progress', 'completed']),
  detail: z.string(),
  checkedAt: isoTime,
  /** A hosts target's completed rollout: every host it reached (at most MAX_REPORTED_HOSTS), for the evidence report. */
  hosts: z.optional(z.array(HostOutcome)),
});
export type DeployStatus = z.output<typeof DeployStatus>;

/** `$.migrations`. `started` is what the `when-migrations-ran` restore policy reads. */
export const MigrationsState = z.object({
  started: z.boolean(),
  /** `not-run` until the migrations step starts (and for targets without migrations). */
  status: z.enum(['not-run', 'starting', 'running', 'succeeded']),
  ref: z._default(z.nullable(z.string()), null),
  startedAt: z._default(z.nullable(z.string()), null),
  finishedAt: z._default(z.nullable(z.string()), null),
  detail: z._default(z.nullable(z.string()), null),
});
export type MigrationsState = z.output<typeof MigrationsState>;

export const SmokeResult = z.object({
  name: z.string(),
  passed: z.boolean(),
  status: z.nullable(z.number()),
  latencyMs: z.nullable(z.number()),
  attempts: z.int(),
  /** Why it failed; never contains a secret or captured value. */
  failures: z.array(z.string()),
});
export type SmokeResult = z.output<typeof SmokeResult>;

/** `$.smoke` (after deploy) and `$.verify` (after rollback). */
export const SmokeReport = z.object({
  phase: z.enum(['deploy', 'rollback']),
  passed: z.boolean(),
  expectedVersion: z.nullable(z.string()),
  summary: z.string(),
  results: z.array(SmokeResult),
  startedAt: isoTime,
  durationMs: z.number(),
});
export type SmokeReport = z.output<typeof SmokeReport>;

/** `$.bake`: carried from one alarm evaluation to the next. */
/** One measurement of a metric at a checkpoint: its value and what it meant. */
export const Measurement = z.object({
  /** The bake evaluation it was taken at (1-based). */
  check: z.int(),
  at: isoTime,
  /** Null: no data, or the query failed (`outcome: error`). */
  value: z.nullable(z.number()),
  outcome: z.enum(['success', 'failure', 'inconclusive', 'error']),
  /** Why, for a failure, an inconclusive result or an error. */
  detail: z._default(z.nullable(z.string()), null),
});
export type Measurement = z.output<typeof Measurement>;

/** An analysis metric through the bake: its measurements so far and whether it still lets the release through. */
export const MetricRecord = z.object({
  name: z.string(),
  /** The condition as written, for reports: `result <= baseline * 1.2`. */
  condition: z.string(),
  baseline: z.nullable(z.number()),
  dryRun: z.boolean(),
  measurements: z.array(Measurement),
  failures: z.int(),
  consecutiveErrors: z.int(),
  verdict: z.enum(['passing', 'failed']),
});
export type MetricRecord = z.output<typeof MetricRecord>;

export const BakeState = z.object({
  checks: z.int().check(z.minimum(0)),
  /** Null until the first evaluation. */
  startedAt: z.nullable(z.string()),
  decision: z.enum(['healthy', 'regressed']),
  firing: z.array(AlarmState),
  /** Alarms in ALARM now that were not at the baseline: these roll back. */
  newlyFiring: z.array(z.string()),
  /** Alarms already in ALARM at the baseline: reported, not blocking. */
  firingAtBaseline: z.array(z.string()),
  lastCheckedAt: z._default(z.nullable(z.string()), null),
  /** The analysis metrics, once their first checkpoint came. */
  analysis: z._default(z.array(MetricRecord), []),
  /** Why the bake regressed, in one sentence: the alarms and metrics that failed. */
  reason: z._default(z.nullable(z.string()), null),
});
export type BakeState = z.output<typeof BakeState>;

/** A caught error as Step Functions records it. On AWS a Lambda's Cause is JSON: {errorType, errorMessage, trace}. */
export const TaskError = z.object({ Error: z.string(), Cause: z._default(z.nullable(z.string()), null) });
export type TaskError = z.output<typeof TaskError>;

/** Reads the human message out of a Cause, whether it is a Lambda's JSON or plain text. */
export function causeMessage(error: TaskError | null | undefined): string {
  if (!error) return '';
  const cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (parsed && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text cause
  }
  return cause;
}

/** `$.approval`: what SendTaskSuccess returned for a restore approval. */
export const Approval = z.object({ approved: z.boolean(), by: z._default(z.nullable(z.string()), null), comment: z._default(z.nullable(z.string()), null) });
export type Approval = z.output<typeof Approval>;

/** `$.restore`: the rename-swap's progress, one idempotent step per AdvanceRestore call. */
export const RestoreState = z.object({
  restored: z.boolean(),
  /** `skipped` / `not-approved` when no restore happens. */
  decision: z.enum(['skipped', 'not-approved', 'restoring', 'restored']),
  phase: z._default(z.nullable(z.string()), null),
  /** Where the broken database was kept. */
  failedCopy: z._default(z.nullable(z.string()), null),
  /** A restore drill: the scratch database the backup was restored into (dropped once checked). */
  scratch: z.optional(z.nullable(z.string())),
  /**
   * A restore drill of an RDS instance or Aurora cluster: the endpoint address of its scratch copy, where the checks
   * connect instead of the configured host (null: the copy is a database on the same server).
   */
  scratchHost: z.optional(z.nullable(z.string())),
  snapshotId: z._default(z.nullable(z.string()), null),
  steps: z._default(z.array(z.object({ phase: z.string(), at: isoTime, detail: z.string() })), []),
  startedAt: z._default(z.nullable(z.string()), null),
  finishedAt: z._default(z.nullable(z.string()), null),
  /** What a restorer recorded for its later steps (the original's settings, the names it chose). */
  captured: z.optional(z.record(z.string(), z.json())),
});
export type RestoreState = z.output<typeof RestoreState>;

/** One restore drill in the ledger: which backup was restored into a scratch copy, when, and whether the copy held up. */
export const DrillRecord = z.object({
  deploymentId: z.string(),
  executionId: z.string(),
  /** `deploy`: the drill before a deployment (backup.testRestore); `drill`: one started on its own. */
  action: z.enum(['deploy', 'drill']),
  snapshotId: z.string(),
  /** When the backup was complete: what a passed drill proves restorable. */
  backupAt: z.nullable(z.string()),
  at: isoTime,
  passed: z.boolean(),
  summary: z.string(),
  /** The scratch database, and whether it was dropped. */
  scratch: z.nullable(z.string()),
  discarded: z.boolean(),
});
export type DrillRecord = z.output<typeof DrillRecord>;

/** One release in the ledger: what an alarm-triggered rollback needs to undo it. */
export const ReleaseRecord = z.object({
  deploymentId: z.string(),
  executionId: z.string(),
  version: z.nullable(z.string()),
  image: z.nullable(z.string()),
  ref: z.string(),
  previous: DeployedVersion,
  snapshot: z.nullable(SnapshotRef),
  migrationsRan: z.boolean(),
  finishedAt: isoTime,
  rolledBack: z.nullable(z.object({ at: isoTime, executionId: z.string(), reason: z.string() })),
  /** The analysis metrics as Preflight measured them before this release: what the post-release watch compares with. */
  baselines: z.optional(z.array(MetricBaseline)),
  /** How long the deployment took, from its execution's start to this record; only successful deployments have it (the expected duration). */
  durationSeconds: z.optional(z.number().check(z.minimum(0))),
});
export type ReleaseRecord = z.output<typeof ReleaseRecord>;

/** `$.watch`: CheckWatch's answer to a watch execution: whether the latest release is still watched, and what the last checkpoint left. */
export const WatchStatus = z.object({
  /** `measure`: the release is current, inside the watch and no deployment holds the lock; anything else ends the watch execution. */
  decision: z.enum(['measure', 'no-release', 'rolled-back', 'superseded', 'window-closed', 'deployment-running']),
  message: z.string(),
  release: z.nullable(ReleaseRecord),
  /** This checkpoint's number, 1-based, counted per release. */
  checkpoint: z.int().check(z.minimum(1)),
  /** The metrics after the release's previous checkpoint (failures and errors counted so far); empty before the first. */
  records: z.array(MetricRecord),
  /** When the watch of this release ends. */
  until: z.nullable(z.string()),
});
export type WatchStatus = z.output<typeof WatchStatus>;

/** One checkpoint of the post-release watch: each deciding metric measured once, as the ledger keeps it. */
export const WatchCheckpoint = z.object({
  releaseId: z.string().check(z.minLength(1)),
  version: z.nullable(z.string()),
  checkpoint: z.int().check(z.minimum(1)),
  at: isoTime,
  /** The execution that measured it. */
  execution: z.string(),
  decision: z.enum(['passed', 'failed']),
  /** Each metric with this checkpoint's measurement only, and its counts over the watch so far. */
  metrics: z.array(MetricRecord),
  reason: z.nullable(z.string()),
});
export type WatchCheckpoint = z.output<typeof WatchCheckpoint>;

/** `$.checkpoint`: MeasureWatchCheckpoint's result; a failed one carries the rollback request merged into the state. */
export const WatchResult = z.extend(WatchCheckpoint, {
  patch: z.nullable(z.object({ deployment: Deployment })),
});
export type WatchResult = z.output<typeof WatchResult>;

/** `$.window`: CheckRollbackWindow's decision for an alarm-triggered rollback. */
export const WindowDecision = z
  .object({
    /** `superseded`: a watch checkpoint measured a release that is not the current one any more. */
    decision: z.enum(['rollback', 'outside-window', 'already-rolled-back', 'no-release', 'superseded']),
    message: z.string(),
    release: z.nullable(ReleaseRecord),
    /** Merged into the execution state (States.JsonMerge) when the decision is `rollback`. */
    patch: z.nullable(
      z.object({
        rollbackTo: DeployedVersion,
        snapshot: z.nullable(SnapshotRef),
        migrations: MigrationsState,
        error: TaskError,
        release: DeployHandle,
      }),
    ),
  })
  .check(
    // PrepareAlarmRollback merges the patch: a rollback without one would stop the execution with the lock held.
    z.refine((w) => (w.decision === 'rollback') === (w.patch !== null), {
      message: 'patch must be set exactly when the decision is rollback',
      path: ['patch'],
    }),
  );
export type WindowDecision = z.output<typeof WindowDecision>;

/**
 * An execution of the runbook that ended without reaching one of its own end states (timed out, stopped,
 * or failed outside its Fail states), as the "Step Functions Execution Status Change" event tells it.
 * EventBridge writes an absent error or cause as an empty string.
 */
export const EndedExecution = z.object({
  executionArn: z.string().check(z.minLength(1)),
  name: z.string().check(z.minLength(1)),
  status: z.enum(['TIMED_OUT', 'ABORTED', 'FAILED']),
  error: z._default(z.nullable(z.string()), null),
  cause: z._default(z.nullable(z.string()), null),
});
export type EndedExecution = z.output<typeof EndedExecution>;

/** `$.outcome`: what the ledger wrote and the sentence the final state reports. */
export const Outcome = z.object({
  result: z.enum(['succeeded', 'rolled-back', 'aborted', 'rollback-failed', 'kept']),
  cause: z.string(),
  reportKey: z.nullable(z.string()),
  ledgerKey: z.nullable(z.string()),
});
export type Outcome = z.output<typeof Outcome>;
