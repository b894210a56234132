import type { RunbookConfig } from '../config/schema';
import type { DataFingerprint } from '../core/data-fingerprint';
import { type DataCheckReport, DataChecksEvent } from '../core/tasks/data-checks/data-checks';
import { DatabaseSnapshotEvent } from '../core/tasks/database-snapshot/database-snapshot';
import { DeployTargetEvent } from '../core/tasks/deploy-target/deploy-target';
import { DeploymentLockEvent } from '../core/tasks/deployment-lock/deployment-lock';
import { EvaluateAlarmsEvent, WatchCheckpointEvent } from '../core/tasks/evaluate-alarms/evaluate-alarms';
import { LedgerEvent } from '../core/tasks/ledger/ledger';
import { MigrationsEvent } from '../core/tasks/migrations/migrations';
import { NotifyEvent } from '../core/tasks/notify/notify';
import { PreflightEvent } from '../core/tasks/preflight/preflight';
import { RestoreDatabaseEvent } from '../core/tasks/restore-database/restore-database';
import type {
  Approval,
  BackupRecord,
  BakeState,
  DeployedVersion,
  DeployHandle,
  DeployStatus,
  Deployment,
  Execution,
  Lease,
  MigrationsState,
  Outcome,
  Preflight,
  RestoreState,
  SmokeReport,
  SnapshotRef,
  TaskError,
  TrafficState,
  WatchResult,
  WatchStatus,
  WindowDecision,
} from '../core/model';
import { RestoreApprovalTask } from '../core/restore-approval';
import { RollbackApprovalTask } from '../core/rollback-approval';
import { SmokeTestEvent } from '../core/tasks/smoke-test/smoke-test';
import { ValidateInputEvent } from '../core/tasks/validate-input/validate-input';
import {
  activity,
  catchAll,
  catching,
  choice,
  type Condition,
  fail,
  type FailureZone,
  format,
  type Intrinsic,
  intrinsic,
  is,
  type LambdaFunction,
  lambdaFunction,
  type Params,
  pass,
  type Path,
  placeholder,
  placeholderText,
  type Ref,
  root,
  settingName,
  States,
  succeed,
  type TaskOptions,
  verdict,
  wait,
  when,
} from './asl';
import { ACTIVITY_PLACEHOLDER, type Json } from './definition';

/**
 * The execution state (`$`): each slot with the type it has once written. LoadConfig creates every slot
 * (null until filled), so no path ever points at a missing field.
 */
export interface ExecutionState {
  input: unknown;
  /** Only what the flow's own Choice states branch on; each Task gets its sections written in at synth. */
  config: Pick<RunbookConfig, 'database' | 'migrations' | 'backup' | 'rollbackApproval'>;
  execution: Execution;
  deployment: Deployment;
  lock: Lease;
  preflight: Preflight;
  /** The SQL checks of each phase: before anything changes, after the migrations, after a restore (with the fingerprint comparison). */
  preflightChecks: DataCheckReport;
  dataGate: DataCheckReport;
  restoreCheck: DataCheckReport;
  /** The restore drill (backup.testRestore, action drill): its scratch restore, then the check of the copy. */
  drill: RestoreState;
  drillCheck: DataCheckReport;
  /** The data recorded before the backup (null without a way to reach the database). */
  fingerprint: DataFingerprint | null;
  rollbackTo: DeployedVersion;
  snapshot: SnapshotRef;
  backup: BackupRecord;
  release: DeployHandle;
  deployStatus: DeployStatus;
  migrations: MigrationsState;
  smoke: SmokeReport;
  bake: BakeState;
  /** A target shifting traffic in steps (lambda-alias): the plan, written at synth, then each step; null for every other. */
  traffic: TrafficState | null;
  poll: { attempts: number };
  error: TaskError;
  rollback: DeployHandle;
  rollbackStatus: DeployStatus;
  rollbackError: TaskError;
  approval: Approval;
  /** A person's answer before the automatic rollback (rollbackApproval.required): approved rolls back, not approved keeps. */
  rollbackApproval: Approval;
  /** Why no answer came: States.Timeout, ApprovalMisdirected, or the request that could not be sent. */
  rollbackApprovalError: TaskError;
  restore: RestoreState;
  verify: SmokeReport;
  window: WindowDecision;
  outcome: Outcome;
  lockError: TaskError;
  notifyError: TaskError;
  recordError: TaskError;
  approvalError: TaskError;
  /** A watch execution: CheckWatch's answer and the checkpoint measured. */
  watch: WatchStatus;
  checkpoint: WatchResult;
}

/** The context object (`$$`) fields the runbook reads. `$$.Task.Token` is not one: Parameters are logged (asl.ts refuses it). */
interface Context {
  Execution: { Id: string; Name: string; StartTime: string };
}

const $ = root<ExecutionState>('$');
const $$ = root<Context>('$$');
/** The configuration, written into the definition at synth: `${RunbookConfig.target}`. */
const settings = placeholder<RunbookConfig>('RunbookConfig');
/** `$.traffic` before the first step: config/traffic.ts `trafficPlan`, null for targets without steps. */
const trafficPlan = placeholder<TrafficState | null>('TrafficPlan');

/** The configuration sections a Task reads, written into its Parameters at synth rather than carried in every state. */
function sections<K extends keyof RunbookConfig>(...keys: K[]): { [P in K]: Path<RunbookConfig[P]> } {
  return Object.fromEntries(keys.map((key) => [key, settings[key]])) as { [P in K]: Path<RunbookConfig[P]> };
}

/** The runbook's functions: each Task's Parameters are checked against the event its function accepts. */
const fn = {
  validateInput: lambdaFunction('ValidateInputFunctionArn', ValidateInputEvent),
  lock: lambdaFunction('DeploymentLockFunctionArn', DeploymentLockEvent),
  preflight: lambdaFunction('PreflightFunctionArn', PreflightEvent),
  snapshot: lambdaFunction('DatabaseSnapshotFunctionArn', DatabaseSnapshotEvent),
  dataChecks: lambdaFunction('DataChecksFunctionArn', DataChecksEvent),
  deployTarget: lambdaFunction('DeployTargetFunctionArn', DeployTargetEvent),
  migrations: lambdaFunction('MigrationsFunctionArn', MigrationsEvent),
  smokeTest: lambdaFunction('SmokeTestFunctionArn', SmokeTestEvent),
  evaluateAlarms: lambdaFunction('EvaluateAlarmsFunctionArn', EvaluateAlarmsEvent),
  /** The same function, measuring a checkpoint of the post-release watch. */
  measureWatch: lambdaFunction('EvaluateAlarmsFunctionArn', WatchCheckpointEvent),
  ledger: lambdaFunction('LedgerFunctionArn', LedgerEvent),
  restoreDatabase: lambdaFunction('RestoreDatabaseFunctionArn', RestoreDatabaseEvent),
  notify: lambdaFunction('NotifyFunctionArn', NotifyEvent),
};

/** The stack's restore-approval activity: a person's CLI takes its task and answers it (core/restore-approval.ts). */
const restoreApproval = activity(ACTIVITY_PLACEHOLDER, RestoreApprovalTask);
/** The same activity, asked whether to roll back (core/rollback-approval.ts): one queue, one CLI, one IAM grant. */
const rollbackApproval = activity(ACTIVITY_PLACEHOLDER, RollbackApprovalTask);

/** Nothing has changed on the target yet: a failure is recorded, the lock released, the deployment aborted. */
const BEFORE_DEPLOY: FailureZone = { resultPath: '$.error', next: 'RecordAbort' };
/** The new version may be running: a failure rolls it back. */
const AFTER_DEPLOY: FailureZone = { resultPath: '$.error', next: 'RollbackApp' };
/**
 * The new version runs everywhere and failed a check (data gate, smoke tests, bake): it is rolled back, after a
 * person's decision when rollbackApproval.required (RollbackApprovalNeeded).
 */
const AFTER_ROLLOUT: FailureZone = { resultPath: '$.error', next: 'RollbackApprovalNeeded' };
/** The rollback itself failed: people are told and the lock is kept for them. */
const DURING_ROLLBACK: FailureZone = { resultPath: '$.rollbackError', next: 'NotifyRollbackFailed' };
/** The restore drill failed or could not check its copy: the copy is dropped first, then the deployment aborted. */
const DRILL_FAILED: FailureZone = { resultPath: '$.error', next: 'DiscardDrillCopy' };
/** A watch checkpoint that cannot be judged: nothing was touched, the execution fails. */
const WATCH_UNJUDGED: FailureZone = { resultPath: '$.error', next: 'WatchUnavailable' };
/** An analysis gate that cannot be judged: nothing was touched, the gate fails closed. */
const ANALYSIS_UNJUDGED: FailureZone = { resultPath: '$.error', next: 'AnalysisUnavailable' };
/** A step that only reports (record, release, notify): its failure is kept in `slot` and the execution goes on to `next`. */
const bestEffort = (slot: string, next: string): FailureZone => ({ resultPath: slot, next });

/** What the ledger reads of the configuration: names, the restore policy, the bake and the rollback window. */
const ledgerConfig = sections('name', 'target', 'database', 'migrations', 'bake', 'rollbackWindowHours');

/** What the data-checks function reads of the configuration. */
const dataConfig = sections('database', 'checks', 'backup');

/** SQL checks run one after the other, each under checks.statementTimeoutSeconds. */
const DATA_CHECKS_TIMEOUT = 600;

/** Every slot a ledger Record* Task hands over: the evidence report and the ledger are written from them. */
const allSlots = {
  config: ledgerConfig,
  deployment: $.deployment,
  execution: $.execution,
  preflight: $.preflight,
  preflightChecks: $.preflightChecks,
  fingerprint: $.fingerprint,
  dataGate: $.dataGate,
  restoreCheck: $.restoreCheck,
  drill: $.drill,
  drillCheck: $.drillCheck,
  snapshot: $.snapshot,
  backup: $.backup,
  release: $.release,
  deployStatus: $.deployStatus,
  migrations: $.migrations,
  smoke: $.smoke,
  bake: $.bake,
  error: $.error,
  rollbackTo: $.rollbackTo,
  rollback: $.rollback,
  rollbackStatus: $.rollbackStatus,
  restore: $.restore,
  approval: $.approval,
  rollbackApproval: $.rollbackApproval,
  rollbackApprovalError: $.rollbackApprovalError,
  verify: $.verify,
  rollbackError: $.rollbackError,
  window: $.window,
  traffic: $.traffic,
};

/** Every ReleaseLock* Task gives back the lease AcquireLock took, whatever the outcome. */
const releaseLock = { operation: 'release', deployment: $.deployment, execution: $.execution, lease: $.lock } as const;

/** A Task to add later, once the state after it is known. */
interface TaskSpec<E> {
  readonly name: string;
  readonly fn: LambdaFunction<E>;
  readonly params: Params<E>;
  readonly options: Omit<TaskOptions, 'next'>;
}

/**
 * Every polling loop has one shape: reset the counter, check, count, then go on once `until` holds, give up
 * after `maxAttempts` checks, or wait `interval` seconds and check again. The count restarts for each loop.
 */
function poll<E>(
  states: States,
  o: {
    noun: string;
    ready: string;
    /** What the loop waits for, as the Comments say it: `the snapshot is available`. */
    waitingFor: string;
    check: TaskSpec<E>;
    interval: Ref<number>;
    maxAttempts: Ref<number>;
    until: Condition;
    then: string;
    timeout: { zone: FailureZone; cause: Intrinsic };
  },
): void {
  const [start, waitFor, count, timedOut] = [`Start${o.noun}Poll`, `WaitFor${o.noun}`, `Count${o.noun}Poll`, `${o.noun}TimedOut`];
  const every = `every ${settingName(o.interval)} seconds, at most ${settingName(o.maxAttempts)} checks`;
  states
    .add(
      start,
      pass({ comment: `Polls until ${o.waitingFor}: ${every}. The count starts at zero.`, result: { attempts: 0 }, resultPath: '$.poll', next: o.check.name }),
    )
    .task(o.check.name, o.check.fn, o.check.params, { ...o.check.options, next: count })
    .add(count, pass({ parameters: { attempts: intrinsic('States.MathAdd($.poll.attempts, 1)') }, resultPath: '$.poll', next: o.ready }))
    .add(
      o.ready,
      choice({
        comment: `Goes on once ${o.waitingFor}; after ${settingName(o.maxAttempts)} checks it gives up (${timedOut}); otherwise it waits and checks again.`,
        rules: [when(o.until, o.then), when(is.atLeast($.poll.attempts, o.maxAttempts), timedOut)],
        otherwise: waitFor,
      }),
    )
    .add(waitFor, wait(o.interval, o.check.name, `${settingName(o.interval)} seconds between two checks.`))
    .add(timedOut, verdict(o.timeout.zone, `${o.noun}TimedOut`, o.timeout.cause));
}

/** A bake's start: no evaluation yet (EvaluateAlarms counts the checks and stamps startedAt on its first call). */
const FRESH_BAKE = { checks: 0, startedAt: null, decision: 'healthy', firing: [], newlyFiring: [], firingAtBaseline: [], lastCheckedAt: null, analysis: [], reason: null };

/** EvaluateAlarms and EvaluateStepAlarms: one evaluation of a bake `bakeChecks` evaluations long; unreadable alarms are retried, then roll back. */
function evaluateBake(states: States, name: string, bakeChecks: Ref<number>, comment: string, next: string): void {
  states.task(
    name,
    fn.evaluateAlarms,
    { config: sections('alarms', 'analysis', 'bake', 'smokeTests'), baseline: $.preflight.baseline, bake: $.bake, bakeChecks, expectedVersion: $.deployment.version },
    {
      comment,
      resultPath: '$.bake',
      timeoutSeconds: 60,
      retry: [{ ErrorEquals: ['AlarmStateUnavailableError'], IntervalSeconds: 5, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: 'FULL' }],
      catch: [catchAll(AFTER_ROLLOUT)],
      next,
    },
  );
}

/**
 * The restore drill (backup.testRestore before every deploy; the whole of a `drill` execution): the fresh backup is
 * restored into a scratch database beside the live one, compared with the fingerprint and checked with the
 * after-restore SQL checks, then the copy is dropped — whatever happened — and the outcome recorded. A failure
 * aborts before anything is deployed.
 */
function restoreDrill(states: States): void {
  states.add(
    'TestRestoreWanted',
    choice({
      comment: 'A drill execution, or backup.testRestore: the backup is proven restorable before the deploy.',
      rules: [when(is.stringEquals($.deployment.action, 'drill'), 'StartDrillPoll'), when(is.booleanEquals($.config.backup.testRestore, true), 'StartDrillPoll')],
      otherwise: 'Deploy',
    }),
  );
  poll(states, {
    noun: 'Drill',
    ready: 'DrillRestored',
    waitingFor: "the backup is restored into the drill's scratch database",
    check: {
      name: 'AdvanceDrill',
      fn: fn.restoreDatabase,
      params: { operation: 'drill', config: sections('database'), deployment: $.deployment, snapshot: $.snapshot, restore: $.drill },
      options: {
        comment: 'One step of the restore into <db>_drill_<ts> (RDS/Aurora: the instance or cluster <id>-drill-<ts>) per call; the live database is not touched.',
        resultPath: '$.drill',
        timeoutSeconds: 300,
        catch: [catchAll(DRILL_FAILED)],
      },
    },
    interval: settings.polling.restore.intervalSeconds,
    maxAttempts: settings.polling.restore.maxAttempts,
    until: is.stringEquals($.drill.phase, 'done'),
    then: 'VerifyDrillCopy',
    timeout: { zone: DRILL_FAILED, cause: format('Restore drill of {} stuck in phase {} after {} checks', $.snapshot.id, $.drill.phase, $.poll.attempts) },
  });
  states
    .task(
      'VerifyDrillCopy',
      fn.dataChecks,
      { operation: 'verify-restore', phase: 'after-restore', config: dataConfig, fingerprint: $.fingerprint, database: $.drill.scratch, host: $.drill.scratchHost },
      {
        comment: 'The scratch copy against the fingerprint recorded before the backup, table by table, and the SQL checks marked after-restore.',
        resultPath: '$.drillCheck',
        timeoutSeconds: DATA_CHECKS_TIMEOUT,
        catch: [catchAll(DRILL_FAILED)],
        next: 'DiscardDrillCopy',
      },
    )
    .task(
      'DiscardDrillCopy',
      fn.restoreDatabase,
      { operation: 'discard-drill', config: sections('database'), deployment: $.deployment, snapshot: $.snapshot, restore: $.drill },
      {
        comment: "Drops the scratch copy, passed or failed: only a database named and marked as this drill's copy, never the live one.",
        resultPath: '$.drill',
        timeoutSeconds: 120,
        catch: [catchAll(BEFORE_DEPLOY)],
        next: 'RecordDrill',
      },
    )
    .task(
      'RecordDrill',
      fn.ledger,
      { operation: 'record-drill', ...allSlots },
      {
        comment: 'Keeps the outcome in the ledger: the evidence reports say when the backup was last proven restorable.',
        resultPath: '$.outcome',
        timeoutSeconds: 60,
        catch: [catchAll(bestEffort('$.recordError', 'DrillVerdict'))],
        next: 'DrillVerdict',
      },
    )
    .add(
      'DrillVerdict',
      choice({
        comment: 'No check of the copy (the restore failed: the error says why) or a failed one aborts; a passed drill lets the deploy go on, or ends a drill execution.',
        rules: [
          when(is.null($.drillCheck), 'RecordAbort'),
          when(is.booleanEquals($.drillCheck.passed, false), 'DrillFailed'),
          when(is.stringEquals($.deployment.action, 'drill'), 'ReleaseLockAfterDrill'),
        ],
        otherwise: 'Deploy',
      }),
    )
    .add('DrillFailed', verdict(BEFORE_DEPLOY, 'RestoreDrillFailed', $.drillCheck.summary))
    .task('ReleaseLockAfterDrill', fn.lock, releaseLock, {
      resultPath: null,
      timeoutSeconds: 30,
      catch: [catchAll(bestEffort('$.lockError', 'DrillSucceeded'))],
      next: 'DrillSucceeded',
    })
    .add('DrillSucceeded', succeed('The backup was restored into a scratch database, matched its fingerprint and passed the after-restore checks; the copy is dropped.'));
}

/** The runbook as ASL: what `statemachines/deployment.asl.json` holds. */
export function runbookDefinition(): Record<string, Json> {
  const states = new States();

  states.add(
    'LoadConfig',
    pass({
      comment: 'Carries what the flow branches on (database, migrations, rollbackApproval: filled in at synth) and empty slots every later state may read.',
      parameters: {
        input: $,
        config: sections('database', 'migrations', 'backup', 'rollbackApproval'),
        execution: { id: $$.Execution.Id, name: $$.Execution.Name, startedAt: $$.Execution.StartTime },
        deployment: null,
        lock: null,
        preflight: null,
        preflightChecks: null,
        dataGate: null,
        restoreCheck: null,
        drill: null,
        drillCheck: null,
        fingerprint: null,
        rollbackTo: null,
        snapshot: null,
        backup: null,
        release: null,
        deployStatus: null,
        migrations: { started: false, status: 'not-run' },
        smoke: null,
        bake: null,
        traffic: trafficPlan,
        poll: { attempts: 0 },
        error: null,
        rollback: null,
        rollbackStatus: null,
        rollbackError: null,
        approval: null,
        rollbackApproval: null,
        rollbackApprovalError: null,
        restore: null,
        verify: null,
        window: null,
        outcome: null,
        lockError: null,
        notifyError: null,
        recordError: null,
        approvalError: null,
        watch: null,
        checkpoint: null,
      } satisfies Record<keyof ExecutionState, unknown>,
      next: 'ValidateInput',
    }),
  );

  states
    .task(
      'ValidateInput',
      fn.validateInput,
      { input: $.input, config: settings, execution: $.execution },
      {
        comment: 'Rejects bad input before anything is touched: no lock, no snapshot, no deploy.',
        resultPath: '$.deployment',
        timeoutSeconds: 30,
        catch: [
          catching('InvalidInputError', { resultPath: '$.error', next: 'InvalidInput' }),
          catchAll({ resultPath: '$.error', next: 'ValidationUnavailable' }),
        ],
        next: 'RouteRequest',
      },
    )
    .add('InvalidInput', fail('InvalidInput', $.error.Cause))
    .add(
      'ValidationUnavailable',
      fail('ValidationUnavailable', $.error.Cause, 'The validator itself failed (timeout, crash): nothing was touched, but the input was not judged.'),
    )
    .add(
      'RouteRequest',
      choice({
        comment: "A watch checkpoint and a release plan's SQL and analysis gates decide without the lock; a deploy or a rollback takes it first.",
        rules: [
          when(is.stringEquals($.deployment.action, 'watch'), 'CheckWatch'),
          when(is.stringEquals($.deployment.action, 'check'), 'GateChecks'),
          when(is.stringEquals($.deployment.action, 'analyze'), 'CheckAnalysis'),
        ],
        otherwise: 'AcquireLock',
      }),
    )
    .task(
      'AcquireLock',
      fn.lock,
      { operation: 'acquire', config: sections('name', 'lock'), deployment: $.deployment, execution: $.execution },
      {
        resultPath: '$.lock',
        timeoutSeconds: 30,
        catch: [
          catching('DeploymentInProgressError', { resultPath: '$.error', next: 'LockHeld' }),
          catchAll({ resultPath: '$.error', next: 'LockUnavailable' }),
        ],
        next: 'RouteAction',
      },
    )
    .add(
      'LockHeld',
      choice({
        comment:
          'Another execution holds the target: an alarm rollback leaves the outcome to it, a deploy fails without touching anything, a drill (often a scheduled one nobody watches) tells its audiences it did not run.',
        rules: [when(is.stringEquals($.deployment.action, 'rollback'), 'SkippedLockHeld'), when(is.stringEquals($.deployment.action, 'drill'), 'NotifyDrillNotRun')],
        otherwise: 'DeploymentInProgress',
      }),
    )
    .task(
      'NotifyDrillNotRun',
      fn.notify,
      { event: 'drill-failed', config: sections('name', 'notifications'), deployment: $.deployment, error: $.error, lockError: null },
      { resultPath: null, timeoutSeconds: 30, catch: [catchAll(bestEffort('$.notifyError', 'DeploymentInProgress'))], next: 'DeploymentInProgress' },
    )
    .add('SkippedLockHeld', succeed('An alarm rollback while another execution holds the target: that execution owns the outcome.'))
    .add('DeploymentInProgress', fail('DeploymentInProgress', $.error.Cause))
    .add('LockUnavailable', fail('LockUnavailable', $.error.Cause))
    .add(
      'RouteAction',
      choice({
        comment:
          'An alarm-triggered rollback undoes the latest release (if the ledger allows it); a restore drill (its database only) starts with the preflight; a deploy tells its audiences first.',
        rules: [when(is.stringEquals($.deployment.action, 'rollback'), 'CheckRollbackWindow'), when(is.stringEquals($.deployment.action, 'drill'), 'Preflight')],
        otherwise: 'NotifyStarted',
      }),
    )
    .task(
      'NotifyStarted',
      fn.notify,
      { event: 'started', config: sections('name', 'notifications'), deployment: $.deployment },
      {
        comment: 'Tells the audiences that a deploy begins: who, what, which version, how long the last ones took. A failure is kept in $.notifyError and the deploy goes on.',
        resultPath: null,
        timeoutSeconds: 30,
        catch: [catchAll(bestEffort('$.notifyError', 'Preflight'))],
        next: 'Preflight',
      },
    );

  states
    .task(
      'Preflight',
      fn.preflight,
      { config: sections('name', 'target', 'database', 'alarms', 'smokeTests', 'analysis'), deployment: $.deployment },
      {
        comment: 'Target stable, database available, snapshot quota, smoke-test secrets readable, running version and alarm baseline.',
        resultPath: '$.preflight',
        timeoutSeconds: 120,
        catch: [catchAll(BEFORE_DEPLOY)],
        next: 'RememberRunningVersion',
      },
    )
    .add('RememberRunningVersion', pass({ inputPath: $.preflight.running, resultPath: '$.rollbackTo', next: 'DatabaseConfigured' }))
    .add(
      'DatabaseConfigured',
      choice({
        comment: 'Without a database there is nothing to check or back up: straight to the deploy.',
        rules: [when(is.null($.config.database), 'Deploy')],
        otherwise: 'PreflightDataChecks',
      }),
    )
    .task(
      'PreflightDataChecks',
      fn.dataChecks,
      { operation: 'check', phase: 'preflight', config: dataConfig },
      {
        comment: 'The SQL checks marked preflight, read-only: a failing one (or an unreachable database) stops the deployment before any backup or change.',
        resultPath: '$.preflightChecks',
        timeoutSeconds: DATA_CHECKS_TIMEOUT,
        catch: [catchAll(BEFORE_DEPLOY)],
        next: 'PreflightChecksPassed',
      },
    )
    .add(
      'PreflightChecksPassed',
      choice({ rules: [when(is.booleanEquals($.preflightChecks.passed, true), 'FingerprintData')], otherwise: 'PreflightChecksFailed' }),
    )
    .add('PreflightChecksFailed', verdict(BEFORE_DEPLOY, 'DataCheckFailed', $.preflightChecks.summary))
    .task(
      'FingerprintData',
      fn.dataChecks,
      { operation: 'fingerprint', phase: 'preflight', config: dataConfig },
      {
        comment: 'Row counts (and checksums of backup.fingerprint.checksumTables) just before the backup: a restore is compared with them.',
        resultPath: '$.fingerprint',
        timeoutSeconds: DATA_CHECKS_TIMEOUT,
        catch: [catchAll(BEFORE_DEPLOY)],
        next: 'TakeSnapshot',
      },
    )
    .task(
      'TakeSnapshot',
      fn.snapshot,
      { operation: 'take', config: sections('database'), deployment: $.deployment },
      { resultPath: '$.snapshot', timeoutSeconds: 300, catch: [catchAll(BEFORE_DEPLOY)], next: 'StartSnapshotPoll' },
    );
  poll(states, {
    noun: 'Snapshot',
    ready: 'SnapshotReady',
    waitingFor: 'the snapshot is available and verified',
    check: {
      name: 'CheckSnapshot',
      fn: fn.snapshot,
      params: { operation: 'check', config: sections('database'), deployment: $.deployment, source: $.preflight.database, snapshot: $.snapshot },
      options: { resultPath: '$.snapshot', timeoutSeconds: 120, catch: [catchAll(BEFORE_DEPLOY)] },
    },
    interval: settings.polling.snapshot.intervalSeconds,
    maxAttempts: settings.polling.snapshot.maxAttempts,
    until: is.stringEquals($.snapshot.status, 'available'),
    then: 'RecordBackup',
    timeout: { zone: BEFORE_DEPLOY, cause: format('Snapshot {} was not available after {} checks', $.snapshot.id, $.poll.attempts) },
  });
  states.task(
    'RecordBackup',
    fn.ledger,
    { operation: 'record-backup', config: ledgerConfig, deployment: $.deployment, execution: $.execution, preflight: $.preflight, snapshot: $.snapshot, fingerprint: $.fingerprint },
    {
      comment: 'Writes the backup manifest; nothing has changed yet.',
      resultPath: '$.backup',
      timeoutSeconds: 60,
      catch: [catchAll(BEFORE_DEPLOY)],
      next: 'TestRestoreWanted',
    },
  );
  restoreDrill(states);

  states.task(
    'Deploy',
    fn.deployTarget,
    { operation: 'deploy', config: sections('target'), deployment: $.deployment },
    { resultPath: '$.release', timeoutSeconds: 300, catch: [catchAll(AFTER_DEPLOY)], next: 'StartDeploymentPoll' },
  );
  poll(states, {
    noun: 'Deployment',
    ready: 'DeploymentReady',
    waitingFor: 'the new version runs everywhere',
    check: {
      name: 'CheckDeployment',
      fn: fn.deployTarget,
      params: { operation: 'status', config: sections('target'), handle: $.release },
      options: { resultPath: '$.deployStatus', timeoutSeconds: 60, catch: [catchAll(AFTER_DEPLOY)] },
    },
    interval: settings.polling.deployment.intervalSeconds,
    maxAttempts: settings.polling.deployment.maxAttempts,
    until: is.stringEquals($.deployStatus.status, 'completed'),
    then: 'MigrationsConfigured',
    timeout: { zone: AFTER_DEPLOY, cause: format('Deployment of {} did not complete after {} checks', $.deployment.version, $.poll.attempts) },
  });

  states
    .add(
      'MigrationsConfigured',
      choice({
        comment: 'Without migrations: straight to the smoke tests (or the first traffic step).',
        rules: [when(is.null($.config.migrations), 'TrafficShifting')],
        otherwise: 'MarkMigrationsStarted',
      }),
    )
    .add(
      'MarkMigrationsStarted',
      pass({
        comment: 'Set before starting so that a crash mid-start still counts as "migrations ran" for the restore policy.',
        result: { started: true, status: 'starting' },
        resultPath: '$.migrations',
        next: 'StartMigrations',
      }),
    )
    .task(
      'StartMigrations',
      fn.migrations,
      { operation: 'start', config: sections('target', 'migrations'), deployment: $.deployment, handle: $.release },
      { resultPath: '$.migrations', timeoutSeconds: 300, catch: [catchAll(AFTER_DEPLOY)], next: 'StartMigrationsPoll' },
    );
  poll(states, {
    noun: 'Migrations',
    ready: 'MigrationsFinished',
    waitingFor: 'the migrations succeeded',
    check: {
      name: 'CheckMigrations',
      fn: fn.migrations,
      params: { operation: 'status', config: sections('target', 'migrations'), deployment: $.deployment, migrations: $.migrations },
      options: { resultPath: '$.migrations', timeoutSeconds: 60, catch: [catchAll(AFTER_DEPLOY)] },
    },
    interval: settings.polling.migrations.intervalSeconds,
    maxAttempts: settings.polling.migrations.maxAttempts,
    until: is.stringEquals($.migrations.status, 'succeeded'),
    then: 'DataGateConfigured',
    timeout: { zone: AFTER_DEPLOY, cause: format('Migrations did not finish after {} checks', $.poll.attempts) },
  });

  states
    .add(
      'DataGateConfigured',
      choice({
        comment: 'Migrations without a database section have no data to check: straight to the smoke tests.',
        rules: [when(is.null($.config.database), 'TrafficShifting')],
        otherwise: 'AfterMigrationChecks',
      }),
    )
    .task(
      'AfterMigrationChecks',
      fn.dataChecks,
      { operation: 'check', phase: 'after-migrations', config: dataConfig },
      {
        comment: 'The gate after the migrations, before the smoke tests: a failing SQL check (a backfill left NULLs) rolls the release back.',
        resultPath: '$.dataGate',
        timeoutSeconds: DATA_CHECKS_TIMEOUT,
        catch: [catchAll(AFTER_ROLLOUT)],
        next: 'DataGatePassed',
      },
    )
    .add('DataGatePassed', choice({ rules: [when(is.booleanEquals($.dataGate.passed, true), 'TrafficShifting')], otherwise: 'DataGateFailed' }))
    .add('DataGateFailed', verdict(AFTER_ROLLOUT, 'DataCheckFailed', $.dataGate.summary));

  states
    .add(
      'TrafficShifting',
      choice({
        comment: 'A target that shifts traffic in steps (a Lambda alias) goes through its steps first; every other is fully deployed already.',
        rules: [when(is.null($.traffic), 'SmokeTest')],
        otherwise: 'StartTrafficSteps',
      }),
    )
    .add(
      'StartTrafficSteps',
      pass({
        comment: 'The traffic plan (target.traffic, written in at synth): no step given yet.',
        result: placeholderText(trafficPlan),
        resultPath: '$.traffic',
        next: 'ShiftTraffic',
      }),
    )
    .task(
      'ShiftTraffic',
      fn.deployTarget,
      { operation: 'shift', config: sections('target', 'bake'), handle: $.release, rollbackTo: $.rollbackTo, traffic: $.traffic },
      {
        comment: 'The next traffic step: the new version gets its weight (the last step: all of it).',
        resultPath: '$.traffic',
        timeoutSeconds: 60,
        catch: [catchAll(AFTER_DEPLOY)],
        next: 'TrafficStepsGiven',
      },
    )
    .add(
      'TrafficStepsGiven',
      choice({
        comment: 'Once the last step (100 %) is given, the release is smoke-tested and baked as any other; before that, each step is smoke-tested and baked for its minutes.',
        rules: [when(is.atLeast($.traffic.given, $.traffic.total), 'SmokeTest')],
        otherwise: 'SmokeTestStep',
      }),
    )
    .task(
      'SmokeTestStep',
      fn.smokeTest,
      { phase: 'deploy', config: sections('smokeTests'), expectedVersion: $.deployment.version },
      { resultPath: '$.smoke', timeoutSeconds: 300, catch: [catchAll(AFTER_ROLLOUT)], next: 'StepSmokeTestsPassed' },
    )
    .add(
      'StepSmokeTestsPassed',
      choice({
        comment: 'A failed smoke check at any weight rolls the release back.',
        rules: [when(is.booleanEquals($.smoke.passed, true), 'StartStepBake')],
        otherwise: 'SmokeTestsFailed',
      }),
    )
    .add(
      'StartStepBake',
      pass({
        comment: "The step's bake: alarms and analysis metrics every bake.pollSeconds for the step's minutes ($.traffic.bakeChecks evaluations).",
        result: FRESH_BAKE,
        resultPath: '$.bake',
        next: 'WaitDuringStep',
      }),
    )
    .add('WaitDuringStep', wait(settings.bake.pollSeconds, 'EvaluateStepAlarms', 'bake.pollSeconds before each evaluation of the step.'));
  evaluateBake(states, 'EvaluateStepAlarms', $.traffic.bakeChecks, 'As EvaluateAlarms, while part of the traffic is on the new version.', 'StepBakeVerdict');
  states
    .add(
      'StepBakeVerdict',
      choice({
        comment: 'A new alarm or a failed metric rolls back at once; after the step\'s evaluations the next step is given.',
        rules: [when(is.stringEquals($.bake.decision, 'regressed'), 'AlarmFired'), when(is.atLeast($.bake.checks, $.traffic.bakeChecks), 'ShiftTraffic')],
        otherwise: 'WaitDuringStep',
      }),
    )
    .task(
      'SmokeTest',
      fn.smokeTest,
      { phase: 'deploy', config: sections('smokeTests'), expectedVersion: $.deployment.version },
      { resultPath: '$.smoke', timeoutSeconds: 300, catch: [catchAll(AFTER_ROLLOUT)], next: 'SmokeTestsPassed' },
    )
    .add(
      'SmokeTestsPassed',
      choice({
        comment: 'Any failed smoke check rolls the release back before alarms are even watched.',
        rules: [when(is.booleanEquals($.smoke.passed, true), 'StartBake')],
        otherwise: 'SmokeTestsFailed',
      }),
    )
    .add('SmokeTestsFailed', verdict(AFTER_ROLLOUT, 'SmokeTestFailed', $.smoke.summary));

  states
    .add(
      'StartBake',
      pass({
        comment:
          'The bake: alarms are evaluated every bake.pollSeconds for bake.durationSeconds. EvaluateAlarms counts the checks and stamps startedAt on its first call.',
        result: FRESH_BAKE,
        resultPath: '$.bake',
        next: 'WaitDuringBake',
      }),
    )
    .add(
      'WaitDuringBake',
      wait(
        settings.bake.pollSeconds,
        'EvaluateAlarms',
        'bake.pollSeconds before each evaluation, the first too: the new version serves traffic before it is judged.',
      ),
    );
  evaluateBake(
    states,
    'EvaluateAlarms',
    $.deployment.bakeChecks,
    'Only alarms that were not firing at the baseline roll back, and analysis metrics failing their conditions at a checkpoint; unreadable alarm states fail closed.',
    'BakeVerdict',
  );
  states
    .add(
      'BakeVerdict',
      choice({
        comment: 'A new alarm or a failed metric rolls back at once; after deployment.bakeChecks healthy evaluations the release is kept; otherwise the watch goes on.',
        rules: [when(is.stringEquals($.bake.decision, 'regressed'), 'AlarmFired'), when(is.atLeast($.bake.checks, $.deployment.bakeChecks), 'RecordRelease')],
        otherwise: 'WaitDuringBake',
      }),
    )
    .add(
      'AlarmFired',
      verdict(AFTER_ROLLOUT, 'AlarmFired', $.bake.reason),
    );

  states
    .task(
      'RecordRelease',
      fn.ledger,
      { operation: 'record-release', ...allSlots },
      {
        comment: 'A release that cannot be recorded cannot be rolled back later by an alarm, so it is not kept.',
        resultPath: '$.outcome',
        timeoutSeconds: 60,
        catch: [catchAll(AFTER_DEPLOY)],
        next: 'ReleaseLock',
      },
    )
    .task('ReleaseLock', fn.lock, releaseLock, {
      resultPath: null,
      timeoutSeconds: 30,
      catch: [catchAll(bestEffort('$.lockError', 'NotifySucceeded'))],
      next: 'NotifySucceeded',
    })
    .task(
      'NotifySucceeded',
      fn.notify,
      { event: 'succeeded', config: sections('name', 'notifications'), deployment: $.deployment, outcome: $.outcome, lockError: $.lockError },
      { resultPath: null, timeoutSeconds: 30, catch: [catchAll(bestEffort('$.notifyError', 'DeploymentSucceeded'))], next: 'DeploymentSucceeded' },
    )
    .add('DeploymentSucceeded', succeed());

  states
    .task(
      'RecordAbort',
      fn.ledger,
      { operation: 'record-abort', ...allSlots },
      { resultPath: '$.outcome', timeoutSeconds: 60, catch: [catchAll(bestEffort('$.recordError', 'ReleaseLockAfterAbort'))], next: 'ReleaseLockAfterAbort' },
    )
    .task('ReleaseLockAfterAbort', fn.lock, releaseLock, {
      resultPath: null,
      timeoutSeconds: 30,
      catch: [catchAll(bestEffort('$.lockError', 'AbortedWhat'))],
      next: 'AbortedWhat',
    })
    .add(
      'AbortedWhat',
      choice({
        comment: 'A drill execution that ends here did not prove the backup restorable: its audiences hear drill-failed, not a deploy abort.',
        rules: [when(is.stringEquals($.deployment.action, 'drill'), 'NotifyDrillFailed')],
        otherwise: 'NotifyAborted',
      }),
    )
    .task(
      'NotifyAborted',
      fn.notify,
      { event: 'aborted', config: sections('name', 'notifications'), deployment: $.deployment, error: $.error, lockError: $.lockError },
      { resultPath: null, timeoutSeconds: 30, catch: [catchAll(bestEffort('$.notifyError', 'DeploymentAborted'))], next: 'DeploymentAborted' },
    )
    .task(
      'NotifyDrillFailed',
      fn.notify,
      { event: 'drill-failed', config: sections('name', 'notifications'), deployment: $.deployment, error: $.error, lockError: $.lockError },
      { resultPath: null, timeoutSeconds: 30, catch: [catchAll(bestEffort('$.notifyError', 'DeploymentAborted'))], next: 'DeploymentAborted' },
    )
    .add('DeploymentAborted', fail('DeploymentAborted', $.error.Cause));

  states
    .task(
      'CheckRollbackWindow',
      fn.ledger,
      { operation: 'check-window', config: ledgerConfig, deployment: $.deployment, execution: $.execution },
      {
        comment: 'Rolls back only the latest release, only inside the rollback window, and only once.',
        resultPath: '$.window',
        timeoutSeconds: 60,
        catch: [catchAll(BEFORE_DEPLOY)],
        next: 'WindowDecision',
      },
    )
    .add(
      'WindowDecision',
      choice({
        comment: 'Only the latest release, inside the rollback window and not rolled back yet, is undone; otherwise people are told why not.',
        rules: [when(is.stringEquals($.window.decision, 'rollback'), 'PrepareAlarmRollback')],
        otherwise: 'NotifyNoRollback',
      }),
    )
    .add(
      'PrepareAlarmRollback',
      pass({
        comment: 'The release being rolled back supplies what a deploy would have recorded: previous version, snapshot, migrations.',
        parameters: { state: intrinsic('States.JsonMerge($, $.window.patch, false)') },
        outputPath: '$.state',
        next: 'RollbackApprovalNeeded',
      }),
    )
    .task(
      'NotifyNoRollback',
      fn.notify,
      { event: 'no-rollback', config: sections('name', 'notifications'), deployment: $.deployment, window: $.window },
      { resultPath: null, timeoutSeconds: 30, catch: [catchAll(bestEffort('$.notifyError', 'ReleaseLockNoRollback'))], next: 'ReleaseLockNoRollback' },
    )
    .task('ReleaseLockNoRollback', fn.lock, releaseLock, {
      resultPath: null,
      timeoutSeconds: 30,
      catch: [catchAll(bestEffort('$.lockError', 'NoRollbackNeeded'))],
      next: 'NoRollbackNeeded',
    })
    .add('NoRollbackNeeded', succeed());

  states
    .task(
      'CheckWatch',
      fn.ledger,
      { operation: 'check-watch', config: { ...ledgerConfig, analysis: settings.analysis }, deployment: $.deployment, execution: $.execution },
      {
        comment: 'Reads the ledger and the lock, takes nothing: is the latest release still watched (inside analysis.watch, no deployment holding the target)?',
        resultPath: '$.watch',
        timeoutSeconds: 60,
        catch: [catchAll(WATCH_UNJUDGED)],
        next: 'WatchDue',
      },
    )
    .add(
      'WatchDue',
      choice({
        comment: 'No release, rolled back, superseded, past the watch, or a deployment holding the target: this checkpoint has nothing to do.',
        rules: [when(is.stringEquals($.watch.decision, 'measure'), 'MeasureWatchCheckpoint')],
        otherwise: 'WatchNotNeeded',
      }),
    )
    .add('WatchNotNeeded', succeed('The watch of the latest release is over, or another execution owns the target: nothing measured.'))
    .task(
      'MeasureWatchCheckpoint',
      fn.measureWatch,
      { operation: 'watch-checkpoint', config: sections('analysis', 'smokeTests'), deployment: $.deployment, execution: $.execution, watch: $.watch },
      {
        comment: "Measures each deciding metric once against the baselines recorded with the release, by the bake's rules; nothing is changed.",
        resultPath: '$.checkpoint',
        timeoutSeconds: 60,
        catch: [catchAll(WATCH_UNJUDGED)],
        next: 'RecordWatchCheckpoint',
      },
    )
    .add('WatchUnavailable', fail('WatchUnavailable', $.error.Cause, 'The checkpoint could not be judged (ledger, lock or task unreadable): nothing was touched.'))
    .task(
      'RecordWatchCheckpoint',
      fn.ledger,
      { operation: 'record-checkpoint', config: ledgerConfig, deployment: $.deployment, execution: $.execution, watch: $.watch, checkpoint: $.checkpoint },
      {
        comment: 'Keeps the checkpoint in the ledger; a failed one rolls back even if it could not be recorded.',
        resultPath: null,
        timeoutSeconds: 60,
        catch: [catchAll(bestEffort('$.recordError', 'WatchVerdict'))],
        next: 'WatchVerdict',
      },
    )
    .add(
      'WatchVerdict',
      choice({
        comment: 'A failed checkpoint becomes the rollback an alarm would start: the lock, the single-rollback rule and the notifications apply unchanged.',
        rules: [when(is.stringEquals($.checkpoint.decision, 'failed'), 'PrepareWatchRollback')],
        otherwise: 'WatchPassed',
      }),
    )
    .add('WatchPassed', succeed('Every deciding metric passed this checkpoint.'))
    .add(
      'PrepareWatchRollback',
      pass({
        comment: 'The deployment becomes a rollback whose trigger is the checkpoint (which release, which metrics).',
        parameters: { state: intrinsic('States.JsonMerge($, $.checkpoint.patch, false)') },
        outputPath: '$.state',
        next: 'AcquireLock',
      }),
    );

  states
    .add(
      'RollbackApprovalNeeded',
      choice({
        comment:
          'With rollbackApproval.required a person decides before a release that runs everywhere is rolled back automatically (failed checks, a later alarm or watch checkpoint). ' +
          'A rollback asked for by hand or by a release plan, and a canary at a partial weight, roll back at once.',
        rules: [
          when(is.booleanEquals($.config.rollbackApproval.required, false), 'RollbackApp'),
          when(is.all(is.stringEquals($.deployment.action, 'rollback'), is.not(is.null($.deployment.alarm))), 'RequestRollbackApproval'),
          when(is.all(is.stringEquals($.deployment.action, 'rollback'), is.present($.deployment.watch)), 'RequestRollbackApproval'),
          when(is.stringEquals($.deployment.action, 'rollback'), 'RollbackApp'),
          when(is.all(is.not(is.null($.traffic)), is.not(is.atLeast($.traffic.given, $.traffic.total))), 'RollbackApp'),
        ],
        otherwise: 'RequestRollbackApproval',
      }),
    )
    .task(
      'RequestRollbackApproval',
      fn.notify,
      {
        event: 'rollback-approval-requested',
        config: sections('name', 'notifications', 'rollbackApproval'),
        deployment: $.deployment,
        release: $.release,
        rollbackTo: $.rollbackTo,
        error: $.error,
      },
      {
        comment:
          'Asks a person, without any token: the message gives deploy-runbook approve --execution <arn> (roll back) and --reject (keep). If nobody can be asked, rollbackApproval.onTimeout decides.',
        resultPath: null,
        timeoutSeconds: 30,
        catch: [catchAll({ resultPath: '$.rollbackApprovalError', next: 'RollbackApprovalUnanswered' })],
        next: 'AwaitRollbackApproval',
      },
    )
    .activityTask(
      'AwaitRollbackApproval',
      rollbackApproval,
      { kind: 'rollback-approval', execution: $$.Execution.Id, target: settings.name, version: $.release.version, rollbackTo: $.rollbackTo.version, reason: $.error.Error },
      {
        comment:
          'Waits on the stack\'s activity: deploy-runbook approve takes the task (GetActivityTask, so the token is never in this history) and answers {"approved": true} to roll back or {"approved": false} to keep the new version.',
        resultPath: '$.rollbackApproval',
        timeoutSeconds: '${RollbackApprovalTimeoutSeconds}',
        catch: [catchAll({ resultPath: '$.rollbackApprovalError', next: 'RollbackApprovalUnanswered' })],
        next: 'RollbackApprovalDecision',
      },
    )
    .add(
      'RollbackApprovalDecision',
      choice({
        comment: 'The person\'s answer: approved rolls back; not approved keeps the new version, as their decision.',
        rules: [when(is.booleanEquals($.rollbackApproval.approved, true), 'RollbackApp')],
        otherwise: 'RecordKept',
      }),
    )
    .add(
      'RollbackApprovalUnanswered',
      choice({
        comment: 'Nobody answered in time (or could be asked, or the answer went astray): rollbackApproval.onTimeout decides.',
        rules: [when(is.stringEquals($.config.rollbackApproval.onTimeout, 'keep'), 'RecordKept')],
        otherwise: 'RollbackApp',
      }),
    )
    .task(
      'RecordKept',
      fn.ledger,
      { operation: 'record-kept', ...allSlots },
      {
        comment: 'The new version stays current, kept by a decision: a later alarm inside the window asks again.',
        resultPath: '$.outcome',
        timeoutSeconds: 60,
        catch: [catchAll(bestEffort('$.recordError', 'KeptUnrecorded'))],
        next: 'ReleaseLockAfterKeep',
      },
    )
    .add(
      'KeptUnrecorded',
      pass({
        parameters: { cause: format('Kept after {} instead of rolling back, but the record could not be written: {}', $.error.Error, $.recordError.Cause) },
        resultPath: '$.outcome',
        next: 'ReleaseLockAfterKeep',
      }),
    )
    .task('ReleaseLockAfterKeep', fn.lock, releaseLock, {
      resultPath: null,
      timeoutSeconds: 30,
      catch: [catchAll(bestEffort('$.lockError', 'NotifyKept'))],
      next: 'NotifyKept',
    })
    .task(
      'NotifyKept',
      fn.notify,
      { event: 'kept', config: sections('name', 'notifications'), deployment: $.deployment, outcome: $.outcome, error: $.error, lockError: $.lockError },
      { resultPath: null, timeoutSeconds: 30, catch: [catchAll(bestEffort('$.notifyError', 'ReleaseKept'))], next: 'ReleaseKept' },
    )
    .add('ReleaseKept', fail('ReleaseKept', $.outcome.cause, 'The release failed its checks and was kept, not rolled back, by a decision: CI must still see the failed checks.'));

  states
    .task(
      'GateChecks',
      fn.dataChecks,
      { operation: 'check', phase: 'gate', config: dataConfig, names: $.deployment.checks },
      {
        comment: "A release plan's SQL gate: the checks it names, read-only, once. Nothing is locked or changed.",
        resultPath: '$.dataGate',
        timeoutSeconds: DATA_CHECKS_TIMEOUT,
        catch: [catchAll({ resultPath: '$.error', next: 'ChecksUnavailable' })],
        next: 'GateChecksVerdict',
      },
    )
    .add(
      'GateChecksVerdict',
      choice({ comment: 'One check not passing fails the gate: the plan rolls back what it deployed.', rules: [when(is.booleanEquals($.dataGate.passed, true), 'ChecksPassed')], otherwise: 'ChecksFailed' }),
    )
    .add('ChecksPassed', succeed("Every SQL check the plan's gate named passed."))
    .add('ChecksFailed', fail('ChecksFailed', $.dataGate.summary, "A SQL check the plan's gate named did not pass."))
    .add('ChecksUnavailable', fail('ChecksUnavailable', $.error.Cause, 'The checks could not run (database unreachable, task failure): the gate fails closed.'));

  states
    .task(
      'CheckAnalysis',
      fn.ledger,
      { operation: 'check-analysis', config: ledgerConfig, deployment: $.deployment, execution: $.execution },
      {
        comment: "A release plan's analysis gate: reads the ledger and the lock, takes nothing. Is the latest release current, of the plan stage's version, and nobody changing the target?",
        resultPath: '$.watch',
        timeoutSeconds: 60,
        catch: [catchAll(ANALYSIS_UNJUDGED)],
        next: 'AnalysisDue',
      },
    )
    .add(
      'AnalysisDue',
      choice({
        comment: 'No release, rolled back, superseded or another execution holding the target: nothing can be measured, the gate fails closed.',
        rules: [when(is.stringEquals($.watch.decision, 'measure'), 'MeasureAnalysis')],
        otherwise: 'NothingToAnalyze',
      }),
    )
    .add(
      'NothingToAnalyze',
      pass({
        comment: "CheckAnalysis' message becomes the cause: nothing measured, the gate fails closed.",
        parameters: { Error: 'NothingToAnalyze', Cause: $.watch.message },
        resultPath: '$.error',
        next: 'AnalysisUnavailable',
      }),
    )
    .task(
      'MeasureAnalysis',
      fn.measureWatch,
      { operation: 'analyze', config: sections('analysis', 'smokeTests'), deployment: $.deployment, execution: $.execution, watch: $.watch },
      {
        comment: "Measures the metrics the gate names (all deciding ones by default) once against the baselines kept with the release, as a watch checkpoint; nothing is changed, nothing rolled back.",
        resultPath: '$.checkpoint',
        timeoutSeconds: 60,
        catch: [catchAll(ANALYSIS_UNJUDGED)],
        next: 'AnalysisVerdict',
      },
    )
    .add(
      'AnalysisVerdict',
      choice({
        comment: 'One metric without a passing measurement fails the gate: the plan rolls back what it deployed.',
        rules: [when(is.stringEquals($.checkpoint.decision, 'failed'), 'AnalysisFailed')],
        otherwise: 'AnalysisPassed',
      }),
    )
    .add('AnalysisPassed', succeed("Every metric the plan's analysis gate measured passed against the release's baseline."))
    .add('AnalysisFailed', fail('AnalysisFailed', $.checkpoint.reason, "A metric the plan's analysis gate measured failed: its value and the condition are in the cause."))
    .add('AnalysisUnavailable', fail('AnalysisUnavailable', $.error.Cause, 'The analysis could not be judged (ledger, lock or metrics unreadable): the gate fails closed.'));

  states.task(
    'RollbackApp',
    fn.deployTarget,
    { operation: 'rollback', config: sections('target'), rollbackTo: $.rollbackTo, handle: $.release },
    {
      comment: 'Redeploys the version recorded before the deploy.',
      resultPath: '$.rollback',
      timeoutSeconds: 300,
      catch: [catchAll(DURING_ROLLBACK)],
      next: 'StartRollbackPoll',
    },
  );
  poll(states, {
    noun: 'Rollback',
    ready: 'RollbackReady',
    waitingFor: 'the previous version runs everywhere again',
    check: {
      name: 'CheckRollback',
      fn: fn.deployTarget,
      params: { operation: 'status', config: sections('target'), handle: $.rollback },
      options: { resultPath: '$.rollbackStatus', timeoutSeconds: 60, catch: [catchAll(DURING_ROLLBACK)] },
    },
    interval: settings.polling.deployment.intervalSeconds,
    maxAttempts: settings.polling.deployment.maxAttempts,
    until: is.stringEquals($.rollbackStatus.status, 'completed'),
    then: 'RestoreDecision',
    timeout: { zone: DURING_ROLLBACK, cause: format('Rollback to {} did not complete after {} checks', $.rollbackTo.ref, $.poll.attempts) },
  });

  states
    .add(
      'RestoreDecision',
      choice({
        comment:
          'Rules run in order, so a later rule never reads a missing database. An alarm rollback hours after a release restores only with a person approving.',
        rules: [
          when(is.null($.config.database), 'SkipRestore'),
          when(is.null($.snapshot), 'SkipRestore'),
          when(is.all(is.stringEquals($.deployment.action, 'rollback'), is.booleanEquals($.config.database.restoreApproval.required, false)), 'SkipRestore'),
          when(is.stringEquals($.config.database.restorePolicy, 'always'), 'RestoreApprovalNeeded'),
          when(
            is.all(is.stringEquals($.config.database.restorePolicy, 'when-migrations-ran'), is.booleanEquals($.migrations.started, true)),
            'RestoreApprovalNeeded',
          ),
        ],
        otherwise: 'SkipRestore',
      }),
    )
    .add('SkipRestore', pass({ result: { restored: false, decision: 'skipped' }, resultPath: '$.restore', next: 'VerifyRollback' }))
    .add(
      'RestoreApprovalNeeded',
      choice({
        comment: 'With database.restoreApproval.required a person decides before the database is touched.',
        rules: [when(is.booleanEquals($.config.database.restoreApproval.required, true), 'RequestRestoreApproval')],
        otherwise: 'StartRestorePoll',
      }),
    )
    .task(
      'RequestRestoreApproval',
      fn.notify,
      {
        event: 'approval-requested',
        config: sections('name', 'notifications'),
        deployment: $.deployment,
        snapshot: $.snapshot,
        error: $.error,
      },
      {
        comment:
          'Asks a person, without any token: the message says to run deploy-runbook approve --execution <arn> (or --reject). If nobody can be asked, no restore.',
        resultPath: null,
        timeoutSeconds: 30,
        catch: [catchAll({ resultPath: '$.approvalError', next: 'RestoreNotApproved' })],
        next: 'AwaitRestoreApproval',
      },
    )
    .activityTask(
      'AwaitRestoreApproval',
      restoreApproval,
      { kind: 'restore-approval', execution: $$.Execution.Id, target: settings.name, snapshot: $.snapshot.id },
      {
        comment:
          'Waits on the stack\'s activity: deploy-runbook approve takes the task (GetActivityTask, so the token is never in this history) and answers {"approved": true, "by": ...} or RestoreRejected; rejection or timeout means no restore.',
        resultPath: '$.approval',
        timeoutSeconds: '${RestoreApprovalTimeoutSeconds}',
        catch: [catchAll({ resultPath: '$.approvalError', next: 'RestoreNotApproved' })],
        next: 'ApprovalDecision',
      },
    )
    .add(
      'ApprovalDecision',
      choice({
        comment: 'Only an explicit approval restores the snapshot; a rejection keeps the current database.',
        rules: [when(is.booleanEquals($.approval.approved, true), 'StartRestorePoll')],
        otherwise: 'RestoreNotApproved',
      }),
    )
    .add('RestoreNotApproved', pass({ result: { restored: false, decision: 'not-approved' }, resultPath: '$.restore', next: 'VerifyRollback' }));
  poll(states, {
    noun: 'Restore',
    ready: 'RestoreFinished',
    waitingFor: 'the database is restored',
    check: {
      name: 'AdvanceRestore',
      fn: fn.restoreDatabase,
      params: { config: sections('database'), deployment: $.deployment, snapshot: $.snapshot, restore: $.restore },
      options: {
        comment: 'One idempotent step of the rename-swap per call: rerunning after a crash converges.',
        resultPath: '$.restore',
        timeoutSeconds: 300,
        catch: [catchAll(DURING_ROLLBACK)],
      },
    },
    interval: settings.polling.restore.intervalSeconds,
    maxAttempts: settings.polling.restore.maxAttempts,
    until: is.stringEquals($.restore.phase, 'done'),
    then: 'VerifyRestoredData',
    timeout: { zone: DURING_ROLLBACK, cause: format('Database restore stuck in phase {} after {} checks', $.restore.phase, $.poll.attempts) },
  });

  states
    .task(
      'VerifyRestoredData',
      fn.dataChecks,
      { operation: 'verify-restore', phase: 'after-restore', config: dataConfig, fingerprint: $.fingerprint },
      {
        comment: 'The restored data against the fingerprint recorded before the backup, table by table, and the SQL checks marked after-restore.',
        resultPath: '$.restoreCheck',
        timeoutSeconds: DATA_CHECKS_TIMEOUT,
        catch: [catchAll(DURING_ROLLBACK)],
        next: 'RestoredDataVerified',
      },
    )
    .add(
      'RestoredDataVerified',
      choice({
        comment: 'A restore whose data differs from the backup, or fails an after-restore check, is not a rollback a person can trust.',
        rules: [when(is.booleanEquals($.restoreCheck.passed, true), 'VerifyRollback')],
        otherwise: 'RestoredDataDiffers',
      }),
    )
    .add('RestoredDataDiffers', verdict(DURING_ROLLBACK, 'RestoreVerificationFailed', $.restoreCheck.summary));

  states
    .task(
      'VerifyRollback',
      fn.smokeTest,
      { phase: 'rollback', config: sections('smokeTests'), expectedVersion: $.rollbackTo.version },
      { resultPath: '$.verify', timeoutSeconds: 300, catch: [catchAll(DURING_ROLLBACK)], next: 'RollbackVerified' },
    )
    .add(
      'RollbackVerified',
      choice({
        comment: 'The version rolled back to must pass the smoke tests too; if it does not, a person is called.',
        rules: [when(is.booleanEquals($.verify.passed, true), 'RecordRollback')],
        otherwise: 'RollbackVerificationFailed',
      }),
    )
    .add('RollbackVerificationFailed', verdict(DURING_ROLLBACK, 'RollbackVerificationFailed', $.verify.summary))
    .task(
      'RecordRollback',
      fn.ledger,
      { operation: 'record-rollback', ...allSlots },
      { resultPath: '$.outcome', timeoutSeconds: 60, catch: [catchAll(bestEffort('$.recordError', 'RollbackUnrecorded'))], next: 'ReleaseLockAfterRollback' },
    )
    .add(
      'RollbackUnrecorded',
      pass({
        parameters: { cause: format('Rolled back after {}, but the rollback record could not be written: {}', $.error.Error, $.recordError.Cause) },
        resultPath: '$.outcome',
        next: 'ReleaseLockAfterRollback',
      }),
    )
    .task('ReleaseLockAfterRollback', fn.lock, releaseLock, {
      resultPath: null,
      timeoutSeconds: 30,
      catch: [catchAll(bestEffort('$.lockError', 'NotifyRolledBack'))],
      next: 'NotifyRolledBack',
    })
    .task(
      'NotifyRolledBack',
      fn.notify,
      { event: 'rolled-back', config: sections('name', 'notifications'), deployment: $.deployment, outcome: $.outcome, error: $.error, lockError: $.lockError },
      { resultPath: null, timeoutSeconds: 30, catch: [catchAll(bestEffort('$.notifyError', 'RolledBack'))], next: 'RolledBack' },
    )
    .add('RolledBack', fail('RolledBack', $.outcome.cause, 'A rollback is a failed deployment: CI must see it.'));

  states
    .task(
      'NotifyRollbackFailed',
      fn.notify,
      { event: 'rollback-failed', config: sections('name', 'notifications'), deployment: $.deployment, error: $.error, rollbackError: $.rollbackError },
      { resultPath: null, timeoutSeconds: 30, catch: [catchAll(bestEffort('$.notifyError', 'KeepLockForHuman'))], next: 'KeepLockForHuman' },
    )
    .task(
      'KeepLockForHuman',
      fn.lock,
      { operation: 'mark-stuck', deployment: $.deployment, execution: $.execution, lease: $.lock, rollbackError: $.rollbackError },
      { resultPath: null, timeoutSeconds: 30, catch: [catchAll(bestEffort('$.lockError', 'RecordRollbackFailure'))], next: 'RecordRollbackFailure' },
    )
    .task(
      'RecordRollbackFailure',
      fn.ledger,
      { operation: 'record-rollback-failure', ...allSlots },
      { resultPath: '$.outcome', timeoutSeconds: 60, catch: [catchAll(bestEffort('$.recordError', 'RollbackFailed'))], next: 'RollbackFailed' },
    )
    .add('RollbackFailed', fail('RollbackFailed', $.rollbackError.Cause));

  return {
    Comment: 'deploy-runbook: lock, preflight, snapshot, deploy, migrate, smoke-test, bake; roll back on failure. JSONPath only.',
    StartAt: 'LoadConfig',
    TimeoutSeconds: '${ExecutionTimeoutSeconds}',
    States: states.toJSON() as unknown as Json,
  };
}
