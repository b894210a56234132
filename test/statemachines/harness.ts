import type { DataFingerprint } from '../../core/data-fingerprint';
import type { DataCheckReport } from '../../core/tasks/data-checks/data-checks';
import exampleConfig from '../../config/example.json';
import { parseConfig } from '../../config/load';
import type { RunbookConfig } from '../../config/schema';
import { deploymentIdFor } from '../../core/deployment-id';
import {
  type BackupRecord,
  type BakeState,
  type DeployedVersion,
  type DeployHandle,
  type DeployStatus,
  type Deployment,
  type Execution,
  type Lease,
  type MigrationsState,
  type Outcome,
  type Preflight,
  type RestoreState,
  type SmokeReport,
  type SnapshotRef,
  type ReleaseRecord,
  type TaskError,
  type TrafficState,
  type WatchResult,
  type WatchStatus,
  type WindowDecision,
  causeMessage,
} from '../../core/model';
import { type ExecutionResult, runRunbook, type TaskCall } from '../../local/engine/engine';
import type { Json } from '../../statemachines/definition';

/**
 * Runs the real runbook ASL in-process with scripted task results. Every Task has a default result that
 * satisfies the model and leads down the happy path; a test overrides only the states it is about.
 */

/** A fixed instant, so that every default result is the same from one run to the next. */
export const NOW = '2025-03-04T10:00:00.000Z';
export const EXECUTION_NAME = 'ci-release-1-5-0';
export const NEW_VERSION = 'v1.5.0';
export const REPOSITORY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api';
export const NEW_IMAGE = `${REPOSITORY}:${NEW_VERSION}`;

/** What Preflight finds running: the version every rollback of a deploy must go back to. */
export const RUNNING: DeployedVersion = {
  version: 'v1.4.2',
  image: `${REPOSITORY}:v1.4.2`,
  ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:41',
};

/** Bake evaluations in `testConfig()`: 180 s watched every 60 s. */
export const BAKE_CHECKS = 3;

/** The execution input CI sends for the release under test. */
export function deployInput(): Json {
  return { version: NEW_VERSION, image: NEW_IMAGE, requestedBy: 'github-actions', reason: 'release 1.5.0' };
}

/** The execution input CI sends for a zip package of the release, to a lambda-alias target. */
export function lambdaInput(): Json {
  return { version: NEW_VERSION, image: `s3://shop-artifacts/${NEW_VERSION}/function.zip`, requestedBy: 'github-actions' };
}

/** The execution input the EventBridge rule sends when one of the target's alarms enters ALARM. */
export function alarmInput(name = 'shop-api-5xx-rate'): Json {
  return { action: 'rollback', alarm: { name, reason: 'Threshold Crossed: 1 datapoint [4.2] > 1.0', time: NOW } };
}

/** The execution input `deploy-runbook drill` and the drill schedule send. */
export function drillInput(): Json {
  return { action: 'drill', requestedBy: 'restore drill schedule' };
}

/** The execution input a release plan's analysis gate sends. */
export function analyzeInput(fields: Record<string, Json> = {}): Json {
  return { action: 'analyze', requestedBy: 'release-plan shop', ...fields };
}

/** The execution input the watch schedule sends (analysis.watch). */
export function watchInput(): Json {
  return { action: 'watch', requestedBy: 'post-release watch schedule' };
}

/** `testConfig()` with a p95 metric judged against its baseline and watched hourly after each release. */
export function watchConfig(): RunbookConfig {
  return testConfig({
    analysis: {
      metrics: [{ name: 'p95', provider: { kind: 'prometheus', url: 'https://prometheus.example.com', query: 'p95' }, successCondition: 'result <= baseline * 2' }],
      watch: { everyMinutes: 60 },
    },
  });
}

/**
 * `config/example.json` (ECS, RDS with `when-migrations-ran`, ECS-task migrations) parsed with its defaults,
 * the bake shortened to `BAKE_CHECKS` evaluations, and top-level sections replaced by `changes`.
 */
export function testConfig(changes: Record<string, unknown> = {}): RunbookConfig {
  return parseConfig({ ...structuredClone(exampleConfig), bake: { durationSeconds: 180, pollSeconds: 60 }, ...changes }, 'test configuration');
}

/**
 * `testConfig()` on a self-managed PostgreSQL with the restore drill before every deploy (backup.testRestore); the
 * timeout raised for the drill's restore loop.
 */
export function drillConfig(changes: Record<string, unknown> = {}): RunbookConfig {
  return testConfig({ database: { kind: 'postgres' }, backup: { testRestore: true }, executionTimeoutMinutes: 480, ...changes });
}

/** A Lambda alias target shifting traffic in `traffic` steps (no database, no migrations). */
export function lambdaAliasConfig(traffic: unknown = { steps: [{ percent: 10, minutes: 2 }, { percent: 50, minutes: 1 }, { percent: 100 }] }): RunbookConfig {
  return testConfig({
    target: { kind: 'lambda-alias', functionName: 'shop-fn', alias: 'live', codeBucket: 'shop-artifacts', traffic },
    database: null,
    migrations: null,
  });
}

/** The example's database section with some fields replaced. */
export function databaseWith(changes: Record<string, unknown>): Record<string, unknown> {
  return { ...structuredClone(exampleConfig.database), ...changes };
}

/** A `polling` section that sets the given loops' maxAttempts (the others keep their defaults), for tests that exhaust a loop. */
export function pollingWith(maxAttempts: Partial<Record<'snapshot' | 'deployment' | 'migrations' | 'restore', number>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(maxAttempts).map(([loop, attempts]) => [loop, { maxAttempts: attempts }]));
}

/** An error as a Lambda throws it: Step Functions matches on `name`. */
export function failure(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** The Cause Step Functions records for a Lambda error (and the local engine reproduces). */
export function lambdaCause(error: Error): string {
  return JSON.stringify({ errorType: error.name, errorMessage: error.message });
}

/** What a state does when called: return the value, throw the Error, or call the function with the call and its 0-based count. */
export type Script = Error | ((call: TaskCall, nth: number) => unknown) | Json;
export type Scripts = Readonly<Record<string, Script>>;

function perform(script: Script, call: TaskCall, nth: number): unknown {
  if (script instanceof Error) throw script;
  if (typeof script === 'function') return script(call, nth);
  return script;
}

/** The state's default result, as a script: `sequence(throttle, byDefault)`. */
export const byDefault: Script = (call) => defaultResult(call);

/** One script per call, the last one repeating: `sequence({status: 'creating'}, {status: 'available'})`. */
export function sequence(...steps: Script[]): Script {
  return (call, nth) => perform(steps[Math.min(nth, steps.length - 1)], call, nth);
}

/** The default result with some fields replaced. */
export function defaultWith(changes: Record<string, Json>): Script {
  return (call) => ({ ...(defaultResult(call) as Record<string, unknown>), ...changes });
}

/** The recorded calls, in order. */
export class TaskLog {
  readonly calls: TaskCall[] = [];

  /** State names in call order (retries appear once per attempt). */
  get states(): string[] {
    return this.calls.map((c) => c.state);
  }

  callsTo(state: string): TaskCall[] {
    return this.calls.filter((c) => c.state === state);
  }

  /** The event of the `nth` call to `state`; fails the test when there was none. */
  event(state: string, nth = 0): Record<string, any> {
    const call = this.callsTo(state)[nth];
    if (!call) throw new Error(`${state} was called ${this.callsTo(state).length} time(s); no call #${nth} (calls: ${this.states.join(', ')})`);
    return call.event as Record<string, any>;
  }
}

export interface ScriptedRun extends ExecutionResult {
  readonly log: TaskLog;
  /** Shorthand for `log.states`. */
  readonly states: string[];
  /** The last state entered: the Succeed or Fail state the run ended in. */
  readonly terminal: string | undefined;
}

/** Runs the runbook with no waits and immediate retries; states without a script get their default result. */
export async function runScripted(options: { config: RunbookConfig; input: Json; tasks?: Scripts }): Promise<ScriptedRun> {
  const log = new TaskLog();
  const counts = new Map<string, number>();
  const result = await runRunbook({
    config: options.config,
    input: options.input,
    executionName: EXECUTION_NAME,
    waitMs: 0,
    retryMs: 0,
    handler: (call) => {
      log.calls.push(call);
      const nth = counts.get(call.state) ?? 0;
      counts.set(call.state, nth + 1);
      const script = options.tasks?.[call.state];
      return script === undefined ? defaultResult(call) : perform(script, call, nth);
    },
  });
  const terminal = result.events.filter((e) => e.type === 'entered').at(-1)?.state;
  return { ...result, log, states: log.states, terminal };
}

/** How a run ended, in one object, so that a failed assertion shows the error and the cause together. */
export function ending(run: ScriptedRun): { status: string; terminal: string | undefined; error: string | null; cause: string | null } {
  return { status: run.status, terminal: run.terminal, error: run.error, cause: run.cause };
}

/** The happy path's Task states for `testConfig()`: database with one snapshot check, migrations with one status check. */
export function happyPath(bakeChecks = BAKE_CHECKS): string[] {
  return [
    'ValidateInput',
    'AcquireLock',
    'NotifyStarted',
    'Preflight',
    'PreflightDataChecks',
    'FingerprintData',
    'TakeSnapshot',
    'CheckSnapshot',
    'RecordBackup',
    'Deploy',
    'CheckDeployment',
    'StartMigrations',
    'CheckMigrations',
    'AfterMigrationChecks',
    'SmokeTest',
    ...Array<string>(bakeChecks).fill('EvaluateAlarms'),
    'RecordRelease',
    'ReleaseLock',
    'NotifySucceeded',
  ];
}

/** The restore drill's Task states with the default results: two restore steps, the check, the discard, the record. */
export const DRILL_CALLS = ['AdvanceDrill', 'AdvanceDrill', 'VerifyDrillCopy', 'DiscardDrillCopy', 'RecordDrill'];

/** The happy path of `drillConfig()`: the drill right after the backup is recorded. */
export function drillHappyPath(): string[] {
  const path = happyPath();
  return [...path.slice(0, path.indexOf('RecordBackup') + 1), ...DRILL_CALLS, ...path.slice(path.indexOf('RecordBackup') + 1)];
}

/** A `drill` execution's Task states when the drill passes. */
/** A drill execution's way to its backup: the deploy's, without the start notification (a drill deploys nothing). */
export const DRILL_THROUGH_BACKUP = happyPathThrough('RecordBackup').filter((state) => state !== 'NotifyStarted');
export const DRILL_RUN = [...DRILL_THROUGH_BACKUP, ...DRILL_CALLS, 'ReleaseLockAfterDrill'];

/** The happy path up to and including the first call to `state`. */
export function happyPathThrough(state: string): string[] {
  const path = happyPath();
  const index = path.indexOf(state);
  if (index < 0) throw new Error(`${state} is not on the happy path`);
  return path.slice(0, index + 1);
}

export const ABORT_TAIL = ['RecordAbort', 'ReleaseLockAfterAbort', 'NotifyAborted'];
/** How a drill execution that failed ends: its audiences hear `drill-failed`. */
export const DRILL_ABORT_TAIL = ['RecordAbort', 'ReleaseLockAfterAbort', 'NotifyDrillFailed'];
export const ROLLBACK_FAILED_TAIL = ['NotifyRollbackFailed', 'KeepLockForHuman', 'RecordRollbackFailure'];
/** The default AdvanceRestore takes two calls: start the restore, then finish the swap; then the restored data is verified. */
export const RESTORE_CALLS = ['AdvanceRestore', 'AdvanceRestore', 'VerifyRestoredData'];

/** RecordKept to NotifyKept: a release kept instead of rolled back. */
export const KEPT_TAIL = ['RecordKept', 'ReleaseLockAfterKeep', 'NotifyKept'];

/** `testConfig()` asking a person before an automatic rollback. */
export function askingConfig(onTimeout: 'rollback' | 'keep' = 'rollback', changes: Record<string, unknown> = {}): RunbookConfig {
  return testConfig({ rollbackApproval: { required: true, timeoutMinutes: 20, onTimeout }, ...changes });
}

/** RollbackApp to NotifyRolledBack, with or without the database restore. */
export function rollbackTail(restore: boolean): string[] {
  return ['RollbackApp', 'CheckRollback', ...(restore ? RESTORE_CALLS : []), 'VerifyRollback', 'RecordRollback', 'ReleaseLockAfterRollback', 'NotifyRolledBack'];
}

type Event = Record<string, any>;

/** Default results, keyed by state. Each reads only its event, as the real function would. */
const DEFAULTS: Record<string, (event: Event) => unknown> = {
  ValidateInput: (e) => defaultDeployment(e.input, e.config, e.execution),
  AcquireLock: (e): Lease => ({
    key: `locks/${e.config.name}.json`,
    owner: e.deployment.id,
    executionId: e.execution.id,
    etag: '"3f2a9c1e"',
    acquiredAt: NOW,
    expiresAt: '2025-03-04T16:05:00.000Z',
    tookOver: false,
    previousOwner: null,
  }),
  Preflight: (e): Preflight => ({
    running: RUNNING,
    baseline: { takenAt: NOW, alarms: alarmNames(e.config).map((name) => ({ name, state: 'OK', reason: null, updatedAt: NOW })), metrics: [] },
    database: e.config.database
      ? {
          kind: e.config.database.kind,
          identifier: e.config.database.instanceIdentifier ?? e.config.database.clusterIdentifier ?? 'shop',
          arn: null,
          engine: 'postgres',
          engineVersion: '16.4',
          status: 'available',
          encrypted: true,
          sizeBytes: 21_474_836_480,
        }
      : null,
    checks: [{ name: 'service stable', ok: true, detail: 'shop-api: 3/3 tasks running, one deployment' }],
    checkedAt: NOW,
  }),
  PreflightDataChecks: (e) => dataCheckReport('preflight', e),
  FingerprintData: (): DataFingerprint => FINGERPRINT,
  AfterMigrationChecks: (e) => dataCheckReport('after-migrations', e),
  VerifyRestoredData: (e) => dataCheckReport('after-restore', e),
  AdvanceDrill: (e): RestoreState => drillStep(e.snapshot, e.restore),
  VerifyDrillCopy: (e) => dataCheckReport('after-restore', e),
  DiscardDrillCopy: (e): RestoreState => ({ ...(e.restore ?? drillStep(e.snapshot, null)), phase: 'discarded', finishedAt: NOW }),
  RecordDrill: (e): Outcome => outcome(e, e.drillCheck?.passed ? 'succeeded' : 'aborted', `restore drill of ${e.snapshot.id}`),
  ReleaseLockAfterDrill: () => null,
  GateChecks: (e) => dataCheckReport('gate', e),
  TakeSnapshot: (e): SnapshotRef => snapshotOf(e.deployment, 'creating'),
  CheckSnapshot: (e): SnapshotRef => ({ ...e.snapshot, status: 'available', completedAt: NOW, verification: ['encrypted with the database key'] }),
  RecordBackup: (e): BackupRecord => ({
    manifestKey: `backups/${e.config.name}/${e.deployment.id}.json`,
    location: e.snapshot.arn ?? e.snapshot.id,
    snapshotId: e.snapshot.id,
    recordedAt: NOW,
  }),
  Deploy: (e): DeployHandle => ({
    kind: 'ecs',
    ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:42',
    version: e.deployment.version,
    image: e.deployment.image,
    deploymentId: 'ecs-svc/1111111111111111111',
    startedAt: NOW,
  }),
  CheckDeployment: (): DeployStatus => ({ status: 'completed', detail: 'rollout COMPLETED', checkedAt: NOW }),
  StartMigrations: (): MigrationsState => ({
    started: true,
    status: 'running',
    ref: 'arn:aws:ecs:eu-west-1:123456789012:task/shop-prod/0a1b2c3d',
    startedAt: NOW,
    finishedAt: null,
    detail: null,
  }),
  CheckMigrations: (e): MigrationsState => ({ ...e.migrations, status: 'succeeded', finishedAt: NOW, detail: 'exit code 0' }),
  SmokeTest: (e): SmokeReport => smokeReport('deploy', e.expectedVersion),
  ShiftTraffic: (e): TrafficState => {
    const step = e.traffic.steps[e.traffic.given];
    const bakeChecks = step.seconds === null ? BAKE_CHECKS : Math.ceil(step.seconds / 60);
    return { ...e.traffic, given: e.traffic.given + 1, percent: step.percent, bakeChecks, history: [...e.traffic.history, { percent: step.percent, at: NOW, detail: `${step.percent} %` }] };
  },
  SmokeTestStep: (e): SmokeReport => smokeReport('deploy', e.expectedVersion),
  EvaluateStepAlarms: (e): BakeState => ({ ...e.bake, checks: e.bake.checks + 1, startedAt: e.bake.startedAt ?? NOW, decision: 'healthy', lastCheckedAt: NOW }),
  EvaluateAlarms: (e): BakeState => ({
    ...e.bake,
    checks: e.bake.checks + 1,
    startedAt: e.bake.startedAt ?? NOW,
    decision: 'healthy',
    lastCheckedAt: NOW,
  }),
  RecordRelease: (e): Outcome => outcome(e, 'succeeded', `released ${e.deployment.version}`),
  RecordAbort: (e): Outcome => outcome(e, 'aborted', `aborted before deploying after ${e.error?.Error}: ${causeMessage(e.error)}`),
  RecordRollback: (e): Outcome => outcome(e, 'rolled-back', `rolled back to ${e.rollbackTo.version} after ${e.error.Error}: ${causeMessage(e.error)}`),
  RecordRollbackFailure: (e): Outcome => outcome(e, 'rollback-failed', `rollback failed after ${e.rollbackError?.Error}`),
  CheckRollbackWindow: (e): WindowDecision => rollbackWindow(e.deployment),
  RollbackApp: (e): DeployHandle => ({
    kind: 'ecs',
    ref: e.rollbackTo.ref,
    version: e.rollbackTo.version,
    image: e.rollbackTo.image,
    deploymentId: 'ecs-svc/2222222222222222222',
    startedAt: NOW,
  }),
  CheckRollback: (): DeployStatus => ({ status: 'completed', detail: 'rollout COMPLETED', checkedAt: NOW }),
  RequestRestoreApproval: () => ({ published: true }),
  AwaitRestoreApproval: () => ({ approved: true, by: 'oncall@example.com', comment: 'restore it' }),
  RequestRollbackApproval: () => ({ published: true }),
  AwaitRollbackApproval: () => ({ approved: true, by: 'lead@example.com', comment: 'roll it back' }),
  RecordKept: (e): Outcome => outcome(e, 'kept', `kept ${e.deployment.version} after ${e.error?.Error}`),
  ReleaseLockAfterKeep: () => null,
  NotifyKept: () => ({ published: true }),
  AdvanceRestore: (e): RestoreState => restoreStep(e.snapshot, e.restore),
  VerifyRollback: (e): SmokeReport => smokeReport('rollback', e.expectedVersion),
  ReleaseLock: () => null,
  ReleaseLockAfterAbort: () => null,
  ReleaseLockAfterRollback: () => null,
  ReleaseLockNoRollback: () => null,
  KeepLockForHuman: () => null,
  NotifyStarted: () => ({ published: true }),
  NotifySucceeded: () => ({ published: true }),
  NotifyAborted: () => ({ published: true }),
  NotifyDrillFailed: () => ({ published: true }),
  NotifyDrillNotRun: () => ({ published: true }),
  NotifyRolledBack: () => ({ published: true }),
  NotifyRollbackFailed: () => ({ published: true }),
  NotifyNoRollback: () => ({ published: true }),
  CheckWatch: (): WatchStatus => watchStatus(),
  MeasureWatchCheckpoint: (e): WatchResult => watchCheckpoint(e.watch, e.execution.name),
  CheckAnalysis: (): WatchStatus => ({ ...watchStatus('measure', 'Analysis of release v1.5.0 of shop-api against the baselines it kept.'), checkpoint: 1, until: null }),
  MeasureAnalysis: (e): WatchResult => watchCheckpoint(e.watch, e.execution.name),
  RecordWatchCheckpoint: (e) => ({ ledgerKey: `ledger/${e.config.name}.json`, checkpoint: e.checkpoint.checkpoint, decision: e.checkpoint.decision }),
};

/** The data the default FingerprintData records before the backup. */
export const FINGERPRINT: DataFingerprint = { tables: { customers: { rows: 2000, md5: null }, orders: { rows: 8000, md5: 'f3b2c1d0e9a8b7c6d5e4f3a2b1c0d9e8' } } };

/** Every SQL check of the phase passed; after a restore the data matches the fingerprint it was given. */
function dataCheckReport(phase: DataCheckReport['phase'], e: Event): DataCheckReport {
  const results = (e.config.checks?.sql ?? [])
    .filter((check: { name: string; when: string[] }) => (phase === 'gate' ? (e.names ?? []).includes(check.name) : check.when.includes(phase)))
    .map((check: { name: string }) => ({ name: check.name, passed: true, value: 0, rows: 1, expected: '= 0', reason: null, durationMs: 4 }));
  const comparison = e.fingerprint ? { identical: true, differences: [], tables: Object.keys(e.fingerprint.tables).length } : null;
  return { phase, passed: true, summary: `${results.length} SQL checks passed (${phase})`, results, comparison, startedAt: NOW, durationMs: 5 };
}

/** States that have a default result: every Task of the definition should be here. */
export const DEFAULT_STATES: readonly string[] = Object.keys(DEFAULTS);

/** The default result of a call; throws for a state the harness does not know. */
export function defaultResult(call: TaskCall): unknown {
  const make = DEFAULTS[call.state];
  if (!make) throw new Error(`harness has no default result for state ${call.state}`);
  return make(call.event as Event);
}

function defaultDeployment(input: Event, config: RunbookConfig, execution: Execution): Deployment {
  const rollback = input.action === 'rollback' || input.action === 'watch' || input.action === 'check' || input.action === 'analyze';
  return {
    id: deploymentIdFor(execution.name, execution.id),
    action: ['watch', 'drill', 'check', 'analyze'].includes(input.action) ? input.action : rollback ? 'rollback' : 'deploy',
    ...(input.action === 'check' ? { checks: input.checks } : {}),
    ...(input.action === 'analyze' ? { metrics: input.metrics ?? null, ...(input.plan ? { plan: input.plan } : {}) } : {}),
    target: config.name,
    version: rollback ? null : (input.version ?? null),
    image: rollback ? null : (input.image ?? null),
    requestedBy: input.requestedBy ?? null,
    reason: input.reason ?? null,
    alarm: input.alarm ? { name: input.alarm.name, reason: input.alarm.reason ?? null, time: input.alarm.time ?? null } : null,
    bakeChecks: Math.max(1, Math.ceil(config.bake.durationSeconds / config.bake.pollSeconds)),
    approvalTimeoutSeconds: (config.database?.restoreApproval.timeoutMinutes ?? 60) * 60,
    executionId: execution.id,
    startedAt: NOW,
  };
}

function alarmNames(config: RunbookConfig): string[] {
  return config.alarms.kind === 'cloudwatch' ? config.alarms.names : config.alarms.rules.map((r) => r.name);
}

/** The pre-deploy snapshot of a deployment, in the given status. */
export function snapshotOf(deployment: { id: string; target: string }, status: SnapshotRef['status']): SnapshotRef {
  const id = `deploy-runbook-${deployment.target}-${deployment.id}`;
  return {
    id,
    arn: `arn:aws:rds:eu-west-1:123456789012:snapshot:${id}`,
    kind: 'rds-instance',
    source: 'shop-prod-db',
    status,
    engine: 'postgres',
    encrypted: true,
    sizeBytes: null,
    location: null,
    checksum: null,
    startedAt: NOW,
    completedAt: status === 'available' ? NOW : null,
    verification: [],
  };
}

function smokeReport(phase: SmokeReport['phase'], expectedVersion: string | null): SmokeReport {
  return {
    phase,
    passed: true,
    expectedVersion,
    summary: '5 of 5 checks passed',
    results: [{ name: 'health', passed: true, status: 200, latencyMs: 42, attempts: 1, failures: [] }],
    startedAt: NOW,
    durationMs: 812,
  };
}

function outcome(e: Event, result: Outcome['result'], cause: string): Outcome {
  return { result, cause, reportKey: `reports/${e.config.name}/${e.deployment.id}.json`, ledgerKey: `ledger/${e.config.name}.json` };
}

/** Two steps: the snapshot is restored under a temporary name, then swapped in. */
function restoreStep(snapshot: SnapshotRef, restore: RestoreState | null): RestoreState {
  const started = restore?.decision === 'restoring';
  return {
    restored: started,
    decision: started ? 'restored' : 'restoring',
    phase: started ? 'done' : 'restoring',
    failedCopy: started ? 'shop-prod-db-failed-20250304100000' : null,
    snapshotId: snapshot.id,
    steps: [],
    startedAt: NOW,
    finishedAt: started ? NOW : null,
  };
}

/** Two steps: the snapshot is restored into the drill's scratch database, then it is there. */
function drillStep(snapshot: SnapshotRef, drill: RestoreState | null): RestoreState {
  const restored = drill !== null;
  return {
    restored,
    decision: restored ? 'restored' : 'restoring',
    phase: restored ? 'done' : 'restore',
    failedCopy: null,
    scratch: 'shop_drill_20250304100000',
    // runRestoreDatabase writes it into every drill step: a copy on the same server has none.
    scratchHost: null,
    snapshotId: snapshot.id,
    steps: [],
    startedAt: NOW,
    finishedAt: restored ? NOW : null,
  };
}

/** The release an alarm rolls back: v1.5.0 on top of `RUNNING`, with its snapshot and migrations. */
export function releasedVersion(): { handle: DeployHandle; snapshot: SnapshotRef; migrations: MigrationsState } {
  return {
    handle: {
      kind: 'ecs',
      ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:42',
      version: NEW_VERSION,
      image: NEW_IMAGE,
      deploymentId: 'ecs-svc/1111111111111111111',
      startedAt: '2025-03-04T08:00:00.000Z',
    },
    snapshot: snapshotOf({ id: 'ci-release-1-5-0-0badc0de', target: 'shop-api' }, 'available'),
    migrations: { started: true, status: 'succeeded', ref: null, startedAt: null, finishedAt: null, detail: null },
  };
}

/**
 * CheckRollbackWindow's `rollback` decision for the release in `releasedVersion()`. The patch always carries
 * the release's snapshot: the ledger withholds it without approval, but the ASL must hold that rule on its own.
 */
export function rollbackWindow(deployment: { alarm: { name: string } | null; watch?: { checkpoint: number; reason: string } | null }): WindowDecision {
  const released = releasedVersion();
  const error: TaskError = deployment.watch
    ? { Error: 'WatchCheckpointFailed', Cause: `Watch checkpoint ${deployment.watch.checkpoint} of release ${NEW_VERSION}, 120 min after it: ${deployment.watch.reason}` }
    : { Error: 'AlarmFired', Cause: `${deployment.alarm?.name ?? 'an alarm'} entered ALARM 2 hours after ${NEW_VERSION} was released` };
  return {
    decision: 'rollback',
    message: `${NEW_VERSION} was released 2 hours ago, inside the 8-hour window`,
    release: null,
    patch: { rollbackTo: RUNNING, snapshot: released.snapshot, migrations: released.migrations, error, release: released.handle },
  };
}

/** The release the watch measures: `releasedVersion()` as the ledger records it, with Preflight's baseline of p95. */
export function watchedRelease(): ReleaseRecord {
  const released = releasedVersion();
  return {
    deploymentId: 'ci-release-1-5-0-0badc0de',
    executionId: 'arn:aws:states:eu-west-1:123456789012:execution:shop-api-runbook:ci-release-1-5-0',
    version: NEW_VERSION,
    image: NEW_IMAGE,
    ref: released.handle.ref,
    previous: RUNNING,
    snapshot: released.snapshot,
    migrationsRan: true,
    finishedAt: '2025-03-04T08:00:00.000Z',
    rolledBack: null,
    baselines: [{ name: 'p95', value: 0.2, at: '2025-03-04T07:40:00.000Z' }],
  };
}

/** CheckWatch's answer: `measure` checkpoint 2 of `watchedRelease()`, or the decision given. */
export function watchStatus(decision: WatchStatus['decision'] = 'measure', message = 'Checkpoint 2 of release v1.5.0 of shop-api'): WatchStatus {
  return { decision, message, release: watchedRelease(), checkpoint: 2, records: [], until: '2025-03-04T16:00:00.000Z' };
}

/** MeasureWatchCheckpoint's passing result for `status`. */
export function watchCheckpoint(status: WatchStatus, execution: string): WatchResult {
  return {
    releaseId: status.release?.deploymentId ?? 'none',
    version: status.release?.version ?? null,
    checkpoint: status.checkpoint,
    at: NOW,
    execution,
    decision: 'passed',
    metrics: [],
    reason: null,
    patch: null,
  };
}
