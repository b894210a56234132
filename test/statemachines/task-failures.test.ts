import { describe, expect, it } from 'vitest';
import type { RunbookConfig } from '../../config/schema';
import {
  DeploymentFailedError,
  DeploymentInProgressError,
  InvalidInputError,
  LockLostError,
  MigrationFailedError,
  PreflightFailedError,
  RestoreFailedError,
  SnapshotFailedError,
} from '../../core/errors';
import { DatabaseUnreachableError } from '../../core/ports/database-inspector';
import { type Json, loadDefinition } from '../../statemachines/definition';
import {
  ABORT_TAIL,
  alarmInput,
  analyzeInput,
  askingConfig,
  byDefault,
  databaseWith,
  defaultWith,
  deployInput,
  DRILL_ABORT_TAIL,
  DRILL_RUN,
  drillConfig,
  drillHappyPath,
  drillInput,
  ending,
  failure,
  happyPath,
  happyPathThrough,
  KEPT_TAIL,
  lambdaAliasConfig,
  lambdaCause,
  lambdaInput,
  RESTORE_CALLS,
  ROLLBACK_FAILED_TAIL,
  rollbackTail,
  RUNNING,
  runScripted,
  type ScriptedRun,
  type Scripts,
  sequence,
  testConfig,
  watchConfig,
  watchInput,
} from './harness';

/** One injected failure and where the run must end. */
interface Case {
  readonly state: string;
  readonly error: Error;
  readonly input?: Json;
  readonly config?: RunbookConfig;
  /** Scripts that lead the run to `state`. */
  readonly reach?: Scripts;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly terminal: string;
  readonly cause?: string;
  readonly calls: string[];
  /** What this kind of failure must leave behind, beyond the common assertions. */
  readonly check?: (run: ScriptedRun) => void;
}

/** Nothing deployed before the deploy step; the abort recorded, the lock released. */
function leftAborted(error: Error): (run: ScriptedRun) => void {
  return (run) => {
    expect(run.log.callsTo('Deploy')).toEqual([]);
    expect(run.log.callsTo('RollbackApp')).toEqual([]);
    expect(run.log.event('RecordAbort')).toMatchObject({ operation: 'record-abort', error: { Error: error.name, Cause: lambdaCause(error) }, release: null });
    expect(run.log.event('ReleaseLockAfterAbort')).toMatchObject({ operation: 'release', lease: { key: 'locks/shop-api.json' } });
    expect(run.log.event('NotifyAborted')).toMatchObject({ event: 'aborted', error: { Error: error.name } });
  };
}

/** The app went back to the version Preflight found running; the rollback recorded, the lock released. */
function leftRolledBack(state: string, error: Error): (run: ScriptedRun) => void {
  return (run) => {
    expect(run.log.callsTo('RollbackApp')).toHaveLength(1);
    expect(run.log.event('RollbackApp')).toMatchObject({ operation: 'rollback', rollbackTo: RUNNING });
    expect(run.log.event('RollbackApp').handle).toEqual(state === 'Deploy' ? null : run.log.event('CheckDeployment').handle);
    expect(run.log.event('VerifyRollback')).toMatchObject({ phase: 'rollback', expectedVersion: RUNNING.version });
    expect(run.log.event('RecordRollback')).toMatchObject({
      operation: 'record-rollback',
      error: { Error: error.name, Cause: lambdaCause(error) },
      rollbackTo: RUNNING,
      verify: { passed: true },
    });
    expect(run.log.event('ReleaseLockAfterRollback')).toMatchObject({ operation: 'release' });
    expect(run.log.event('NotifyRolledBack')).toMatchObject({ event: 'rolled-back', outcome: { result: 'rolled-back' } });
  };
}

/** The lock kept and marked stuck for a person, never released. */
function leftStuck(error: Error): (run: ScriptedRun) => void {
  return (run) => {
    expect(run.states.filter((s) => s.startsWith('ReleaseLock'))).toEqual([]);
    expect(run.log.event('NotifyRollbackFailed')).toMatchObject({ event: 'rollback-failed', error: { Error: 'SmokeTestFailed' }, rollbackError: { Error: error.name } });
    expect(run.log.event('KeepLockForHuman')).toMatchObject({ operation: 'mark-stuck', lease: { key: 'locks/shop-api.json' }, rollbackError: { Error: error.name, Cause: lambdaCause(error) } });
    expect(run.log.event('RecordRollbackFailure')).toMatchObject({ operation: 'record-rollback-failure', rollbackError: { Error: error.name } });
  };
}

const SMOKE_FAILED = { SmokeTest: defaultWith({ passed: false, summary: '1 of 5 checks failed: login (status 500, expected 200)' }) };
const ROLLED_BACK_AFTER_SMOKE = 'rolled back to v1.4.2 after SmokeTestFailed: 1 of 5 checks failed: login (status 500, expected 200)';
const NO_ROLLBACK = { CheckRollbackWindow: defaultWith({ decision: 'outside-window', message: 'v1.5.0 was released 9 hours ago', patch: null }) };
const ROLLING_BACK = [...happyPathThrough('SmokeTest'), 'RollbackApp', 'CheckRollback', ...RESTORE_CALLS];
const PREFLIGHT_FAILS = new PreflightFailedError('service shop-api has 2 deployments in progress (expected 1)');
const ROLLBACK_FAILS = new DeploymentFailedError('rollback to task definition shop-api:41 failed: CannotPullContainerError');

function abortedAt(state: string, error: Error): Case {
  return { state, error, status: 'FAILED', terminal: 'DeploymentAborted', cause: lambdaCause(error), calls: [...happyPathThrough(state), ...ABORT_TAIL], check: leftAborted(error) };
}

function rolledBackAt(state: string, error: Error, restore: boolean): Case {
  return {
    state,
    error,
    status: 'FAILED',
    terminal: 'RolledBack',
    cause: `rolled back to v1.4.2 after ${error.name}: ${error.message}`,
    calls: [...happyPathThrough(state), ...rollbackTail(restore)],
    check: leftRolledBack(state, error),
  };
}

function rollbackFailedAt(state: string, error: Error, through: string[]): Case {
  return {
    state,
    error,
    reach: SMOKE_FAILED,
    status: 'FAILED',
    terminal: 'RollbackFailed',
    cause: lambdaCause(error),
    calls: [...through, ...ROLLBACK_FAILED_TAIL],
    check: leftStuck(error),
  };
}

/** A failure in the restore drill of `drillConfig()`: the copy is dropped (unless that failed), then the deployment aborted. */
function drillAbortedAt(state: string, error: Error, drill: string[]): Case {
  return {
    state,
    error,
    config: drillConfig(),
    status: 'FAILED',
    terminal: 'DeploymentAborted',
    cause: lambdaCause(error),
    calls: [...happyPathThrough('RecordBackup'), ...drill, ...ABORT_TAIL],
    check: leftAborted(error),
  };
}

/** A failure of a reporting state: the run ends exactly where it would have without it. */
function harmless(state: string, error: Error, run: Omit<Case, 'state' | 'error'>): Case {
  return { state, error, ...run };
}

/** The Task states of `lambdaAliasConfig()` up to the first EvaluateStepAlarms. */
const LAMBDA_STEPS = ['ValidateInput', 'AcquireLock', 'NotifyStarted', 'Preflight', 'Deploy', 'CheckDeployment', 'ShiftTraffic', 'SmokeTestStep', 'EvaluateStepAlarms'];

const CASES: Case[] = [
  { state: 'ValidateInput', error: new InvalidInputError('version: required (expected string)'), status: 'FAILED', terminal: 'InvalidInput', cause: lambdaCause(new InvalidInputError('version: required (expected string)')), calls: ['ValidateInput'] },
  { state: 'ValidateInput', error: failure('Lambda.Unknown', 'Task timed out after 30.00 seconds'), status: 'FAILED', terminal: 'ValidationUnavailable', cause: lambdaCause(failure('Lambda.Unknown', 'Task timed out after 30.00 seconds')), calls: ['ValidateInput', 'ValidateInput', 'ValidateInput', 'ValidateInput', 'ValidateInput', 'ValidateInput', 'ValidateInput'] },
  {
    state: 'AcquireLock',
    error: new DeploymentInProgressError('shop-api is locked by ci-release-1-4-9 until 2025-03-04T16:00:00Z'),
    status: 'FAILED',
    terminal: 'DeploymentInProgress',
    cause: lambdaCause(new DeploymentInProgressError('shop-api is locked by ci-release-1-4-9 until 2025-03-04T16:00:00Z')),
    calls: ['ValidateInput', 'AcquireLock'],
  },
  {
    state: 'AcquireLock',
    error: new DeploymentInProgressError('shop-api is locked by ci-release-1-5-1'),
    input: alarmInput(),
    status: 'SUCCEEDED',
    terminal: 'SkippedLockHeld',
    calls: ['ValidateInput', 'AcquireLock'],
  },
  {
    state: 'AcquireLock',
    error: failure('AccessDenied', 'not authorized to perform s3:PutObject on locks/shop-api.json'),
    status: 'FAILED',
    terminal: 'LockUnavailable',
    cause: lambdaCause(failure('AccessDenied', 'not authorized to perform s3:PutObject on locks/shop-api.json')),
    calls: ['ValidateInput', 'AcquireLock'],
  },
  abortedAt('Preflight', PREFLIGHT_FAILS),
  abortedAt('PreflightDataChecks', new DatabaseUnreachableError('could not connect to postgres://app@db.internal:5432/shop (sslmode verify-full): connect ETIMEDOUT')),
  abortedAt('FingerprintData', failure('DatabaseQueryError', 'table invoices (backup.fingerprint) does not exist')),
  abortedAt('TakeSnapshot', new SnapshotFailedError('manual snapshot quota: 100 of 100 used, 1 must stay free')),
  abortedAt('CheckSnapshot', new SnapshotFailedError('snapshot deploy-runbook-shop-api-x is failed')),
  abortedAt('CheckSnapshot', failure('DBSnapshotNotFound', 'DBSnapshot deploy-runbook-shop-api-x not found')),
  abortedAt('RecordBackup', failure('AccessDenied', 'not authorized to perform s3:PutObject on backups/shop-api/x.json')),
  drillAbortedAt('AdvanceDrill', new RestoreFailedError('pg_restore of backups/shop-api/x.dump into shop_drill_20250304100000 exited with 1'), ['AdvanceDrill', 'DiscardDrillCopy', 'RecordDrill']),
  drillAbortedAt('VerifyDrillCopy', new DatabaseUnreachableError('could not connect to postgres://app@db.internal:5432/shop_drill_20250304100000: connect ETIMEDOUT'), [
    'AdvanceDrill',
    'AdvanceDrill',
    'VerifyDrillCopy',
    'DiscardDrillCopy',
    'RecordDrill',
  ]),
  // The copy could not be dropped: nothing more is recorded as a drill, the deployment is aborted with the reason.
  drillAbortedAt('DiscardDrillCopy', new RestoreFailedError('refusing to drop shop: it is not marked as this drill\'s copy'), ['AdvanceDrill', 'AdvanceDrill', 'VerifyDrillCopy', 'DiscardDrillCopy']),
  harmless('RecordDrill', failure('LedgerConflictError', 'the ledger ledger/shop-api.json changed under every one of 5 attempts'), {
    config: drillConfig(),
    status: 'SUCCEEDED',
    terminal: 'DeploymentSucceeded',
    calls: drillHappyPath(),
  }),
  // A drill's failure notice that cannot be sent leaves the outcome as it was: the failed drill, the drill that did not run.
  harmless('NotifyDrillFailed', failure('AuthorizationError', 'not authorized to perform SNS:Publish'), {
    config: drillConfig(),
    input: drillInput(),
    reach: { Preflight: PREFLIGHT_FAILS },
    status: 'FAILED',
    terminal: 'DeploymentAborted',
    cause: lambdaCause(PREFLIGHT_FAILS),
    calls: ['ValidateInput', 'AcquireLock', 'Preflight', ...DRILL_ABORT_TAIL],
  }),
  harmless('NotifyDrillNotRun', failure('AuthorizationError', 'not authorized to perform SNS:Publish'), {
    config: drillConfig(),
    input: drillInput(),
    reach: { AcquireLock: new DeploymentInProgressError('shop-api is locked by ci-release-1-4-9 until 2025-03-04T16:00:00Z') },
    status: 'FAILED',
    terminal: 'DeploymentInProgress',
    cause: lambdaCause(new DeploymentInProgressError('shop-api is locked by ci-release-1-4-9 until 2025-03-04T16:00:00Z')),
    calls: ['ValidateInput', 'AcquireLock', 'NotifyDrillNotRun'],
  }),
  harmless('ReleaseLockAfterDrill', new LockLostError('lease on locks/shop-api.json was taken by ci-release-1-5-1'), {
    config: drillConfig(),
    input: drillInput(),
    status: 'SUCCEEDED',
    terminal: 'DrillSucceeded',
    calls: DRILL_RUN,
  }),
  {
    state: 'CheckRollbackWindow',
    error: failure('NoSuchKey', 'ledger/shop-api.json could not be read'),
    input: alarmInput(),
    status: 'FAILED',
    terminal: 'DeploymentAborted',
    cause: lambdaCause(failure('NoSuchKey', 'ledger/shop-api.json could not be read')),
    calls: ['ValidateInput', 'AcquireLock', 'CheckRollbackWindow', ...ABORT_TAIL],
  },
  ...(['CheckWatch', 'MeasureWatchCheckpoint'] as const).map(
    (state, index): Case => ({
      state,
      error: failure('LedgerDocumentInvalidError', 'the ledger ledger/shop-api.json is not JSON'),
      input: watchInput(),
      config: watchConfig(),
      status: 'FAILED',
      terminal: 'WatchUnavailable',
      cause: lambdaCause(failure('LedgerDocumentInvalidError', 'the ledger ledger/shop-api.json is not JSON')),
      calls: ['ValidateInput', 'CheckWatch', 'MeasureWatchCheckpoint'].slice(0, index + 2),
    }),
  ),
  {
    state: 'RecordWatchCheckpoint',
    error: failure('LedgerConflictError', 'the ledger ledger/shop-api.json changed under every one of 5 attempts'),
    input: watchInput(),
    config: watchConfig(),
    status: 'SUCCEEDED',
    terminal: 'WatchPassed',
    calls: ['ValidateInput', 'CheckWatch', 'MeasureWatchCheckpoint', 'RecordWatchCheckpoint'],
  },
  ...(['CheckAnalysis', 'MeasureAnalysis'] as const).map(
    (state, index): Case => ({
      // A release plan's analysis gate fails closed: the plan rolls back what it deployed.
      state,
      error: failure('LedgerDocumentInvalidError', 'the ledger ledger/shop-api.json is not JSON'),
      input: analyzeInput(),
      config: watchConfig(),
      status: 'FAILED',
      terminal: 'AnalysisUnavailable',
      cause: lambdaCause(failure('LedgerDocumentInvalidError', 'the ledger ledger/shop-api.json is not JSON')),
      calls: ['ValidateInput', 'CheckAnalysis', 'MeasureAnalysis'].slice(0, index + 2),
    }),
  ),
  {
    // A release plan's SQL gate fails closed: the plan rolls back what it deployed.
    state: 'GateChecks',
    error: new DatabaseUnreachableError('could not connect to postgres://app@db.internal:5432/shop (sslmode verify-full): connect ETIMEDOUT'),
    input: { action: 'check', checks: ['backfill complete'] },
    config: testConfig({ checks: { sql: [{ name: 'backfill complete', sql: 'SELECT count(*) FROM messages WHERE replied_to IS NULL', expect: { equals: 0 }, when: ['after-migrations'] }] } }),
    status: 'FAILED',
    terminal: 'ChecksUnavailable',
    cause: lambdaCause(new DatabaseUnreachableError('could not connect to postgres://app@db.internal:5432/shop (sslmode verify-full): connect ETIMEDOUT')),
    calls: ['ValidateInput', 'GateChecks'],
  },
  rolledBackAt('Deploy', new DeploymentFailedError('RegisterTaskDefinition refused the image'), false),
  rolledBackAt('CheckDeployment', new DeploymentFailedError('circuit breaker: 3 tasks failed to start'), false),
  rolledBackAt('StartMigrations', new MigrationFailedError('RunTask failed: no capacity in shop-prod'), true),
  rolledBackAt('CheckMigrations', new MigrationFailedError('migration task exited with code 1'), true),
  rolledBackAt('AfterMigrationChecks', new DatabaseUnreachableError('could not connect to postgres://app@db.internal:5432/shop (sslmode verify-full): connect ETIMEDOUT'), true),
  rolledBackAt('SmokeTest', failure('Error', 'smoke tests could not read secret shop/prod/smoke-user'), true),
  rolledBackAt('EvaluateAlarms', failure('Error', 'unexpected alarm source response'), true),
  rolledBackAt('RecordRelease', failure('PreconditionFailedError', 'conditional write to ledger/shop-api.json did not match (HTTP 412)'), true),
  ...(
    [
      ['ShiftTraffic', new DeploymentFailedError('UpdateAlias refused: ResourceConflictException'), 7],
      ['SmokeTestStep', failure('Error', 'smoke tests could not read secret shop/prod/smoke-user'), 8],
      ['EvaluateStepAlarms', failure('Error', 'unexpected alarm source response'), 9],
    ] as const
  ).map(
    ([state, error, through]): Case => ({
      state,
      error,
      config: lambdaAliasConfig(),
      input: lambdaInput(),
      status: 'FAILED',
      terminal: 'RolledBack',
      cause: `rolled back to v1.4.2 after ${error.name}: ${error.message}`,
      calls: [...LAMBDA_STEPS.slice(0, through), ...rollbackTail(false)],
      check: leftRolledBack(state, error),
    }),
  ),
  rollbackFailedAt('RollbackApp', ROLLBACK_FAILS, [...happyPathThrough('SmokeTest'), 'RollbackApp']),
  rollbackFailedAt('CheckRollback', new DeploymentFailedError('rollback rollout FAILED: circuit breaker'), [...happyPathThrough('SmokeTest'), 'RollbackApp', 'CheckRollback']),
  rollbackFailedAt('AdvanceRestore', new RestoreFailedError('instance shop-prod-db is in state modifying'), [...happyPathThrough('SmokeTest'), 'RollbackApp', 'CheckRollback', 'AdvanceRestore']),
  rollbackFailedAt('VerifyRestoredData', new DatabaseUnreachableError('could not connect to postgres://app@db.internal:5432/shop (sslmode verify-full): connect ECONNREFUSED'), [...ROLLING_BACK]),
  rollbackFailedAt('VerifyRollback', failure('Error', 'smoke tests timed out after 300 s'), [...ROLLING_BACK, 'VerifyRollback']),
  {
    state: 'AwaitRestoreApproval',
    error: failure('States.Timeout', 'nobody answered within 60 minutes'),
    config: testConfig({ database: databaseWith({ restoreApproval: { required: true } }) }),
    reach: SMOKE_FAILED,
    status: 'FAILED',
    terminal: 'RolledBack',
    cause: ROLLED_BACK_AFTER_SMOKE,
    calls: [...happyPathThrough('SmokeTest'), 'RollbackApp', 'CheckRollback', 'RequestRestoreApproval', 'AwaitRestoreApproval', 'VerifyRollback', 'RecordRollback', 'ReleaseLockAfterRollback', 'NotifyRolledBack'],
  },
  {
    // Nobody could be asked (SNS refused): no restore, without waiting for an answer that cannot come.
    state: 'RequestRestoreApproval',
    error: failure('AuthorizationError', 'not authorized to perform SNS:Publish'),
    config: testConfig({ database: databaseWith({ restoreApproval: { required: true } }) }),
    reach: SMOKE_FAILED,
    status: 'FAILED',
    terminal: 'RolledBack',
    cause: ROLLED_BACK_AFTER_SMOKE,
    calls: [...happyPathThrough('SmokeTest'), 'RollbackApp', 'CheckRollback', 'RequestRestoreApproval', 'VerifyRollback', 'RecordRollback', 'ReleaseLockAfterRollback', 'NotifyRolledBack'],
  },
  {
    // Nobody could be asked for the rollback (SNS refused): rollbackApproval.onTimeout decides at once, here rollback.
    state: 'RequestRollbackApproval',
    error: failure('AuthorizationError', 'not authorized to perform SNS:Publish'),
    config: askingConfig('rollback'),
    reach: SMOKE_FAILED,
    status: 'FAILED',
    terminal: 'RolledBack',
    cause: ROLLED_BACK_AFTER_SMOKE,
    calls: [...happyPathThrough('SmokeTest'), 'RequestRollbackApproval', ...rollbackTail(true)],
  },
  {
    state: 'AwaitRollbackApproval',
    error: failure('States.Timeout', 'nobody answered within 20 minutes'),
    config: askingConfig('keep'),
    reach: SMOKE_FAILED,
    status: 'FAILED',
    terminal: 'ReleaseKept',
    cause: 'kept v1.5.0 after SmokeTestFailed',
    calls: [...happyPathThrough('SmokeTest'), 'RequestRollbackApproval', 'AwaitRollbackApproval', ...KEPT_TAIL],
  },
  harmless('RecordKept', failure('PreconditionFailedError', 'conditional write to ledger/shop-api.json did not match (HTTP 412)'), {
    config: askingConfig(),
    reach: { ...SMOKE_FAILED, AwaitRollbackApproval: { approved: false, by: 'lead@example.com', comment: null } },
    status: 'FAILED',
    terminal: 'ReleaseKept',
    cause: `Kept after SmokeTestFailed instead of rolling back, but the record could not be written: ${lambdaCause(failure('PreconditionFailedError', 'conditional write to ledger/shop-api.json did not match (HTTP 412)'))}`,
    calls: [...happyPathThrough('SmokeTest'), 'RequestRollbackApproval', 'AwaitRollbackApproval', ...KEPT_TAIL],
  }),
  ...['ReleaseLockAfterKeep', 'NotifyKept'].map((state) =>
    harmless(state, failure('Error', `${state} failed`), {
      config: askingConfig(),
      reach: { ...SMOKE_FAILED, AwaitRollbackApproval: { approved: false, by: 'lead@example.com', comment: null } },
      status: 'FAILED',
      terminal: 'ReleaseKept',
      cause: 'kept v1.5.0 after SmokeTestFailed',
      calls: [...happyPathThrough('SmokeTest'), 'RequestRollbackApproval', 'AwaitRollbackApproval', ...KEPT_TAIL],
    }),
  ),
  harmless('ReleaseLock', new LockLostError('lease on locks/shop-api.json was taken by ci-release-1-5-1'), { status: 'SUCCEEDED', terminal: 'DeploymentSucceeded', calls: happyPath() }),
  harmless('NotifyStarted', failure('AuthorizationError', 'not authorized to perform SNS:Publish'), {
    status: 'SUCCEEDED',
    terminal: 'DeploymentSucceeded',
    calls: happyPath(),
    // The deploy goes on; the failure is kept for whoever reads the execution, and later notifications still go out.
    check: (run) => {
      expect(run.output).toMatchObject({ notifyError: { Error: 'AuthorizationError' } });
      expect(run.log.event('NotifySucceeded')).toMatchObject({ event: 'succeeded' });
    },
  }),
  harmless('NotifySucceeded', failure('AuthorizationError', 'not authorized to perform SNS:Publish'), { status: 'SUCCEEDED', terminal: 'DeploymentSucceeded', calls: happyPath() }),
  ...['RecordAbort', 'ReleaseLockAfterAbort', 'NotifyAborted'].map((state) =>
    harmless(state, failure('Error', `${state} failed`), {
      reach: { Preflight: PREFLIGHT_FAILS },
      status: 'FAILED',
      terminal: 'DeploymentAborted',
      cause: lambdaCause(PREFLIGHT_FAILS),
      calls: [...happyPathThrough('Preflight'), ...ABORT_TAIL],
    }),
  ),
  harmless('RecordRollback', failure('PreconditionFailedError', 'conditional write to ledger/shop-api.json did not match (HTTP 412)'), {
    reach: SMOKE_FAILED,
    status: 'FAILED',
    terminal: 'RolledBack',
    cause: `Rolled back after SmokeTestFailed, but the rollback record could not be written: ${lambdaCause(failure('PreconditionFailedError', 'conditional write to ledger/shop-api.json did not match (HTTP 412)'))}`,
    calls: [...ROLLING_BACK, 'VerifyRollback', 'RecordRollback', 'ReleaseLockAfterRollback', 'NotifyRolledBack'],
  }),
  ...['ReleaseLockAfterRollback', 'NotifyRolledBack'].map((state) =>
    harmless(state, failure('Error', `${state} failed`), {
      reach: SMOKE_FAILED,
      status: 'FAILED',
      terminal: 'RolledBack',
      cause: ROLLED_BACK_AFTER_SMOKE,
      calls: [...ROLLING_BACK, 'VerifyRollback', 'RecordRollback', 'ReleaseLockAfterRollback', 'NotifyRolledBack'],
    }),
  ),
  ...['NotifyRollbackFailed', 'KeepLockForHuman', 'RecordRollbackFailure'].map((state) =>
    harmless(state, failure('Error', `${state} failed`), {
      reach: { ...SMOKE_FAILED, RollbackApp: ROLLBACK_FAILS },
      status: 'FAILED',
      terminal: 'RollbackFailed',
      cause: lambdaCause(ROLLBACK_FAILS),
      calls: [...happyPathThrough('SmokeTest'), 'RollbackApp', ...ROLLBACK_FAILED_TAIL],
    }),
  ),
  ...['NotifyNoRollback', 'ReleaseLockNoRollback'].map((state) =>
    harmless(state, failure('Error', `${state} failed`), {
      input: alarmInput(),
      reach: NO_ROLLBACK,
      status: 'SUCCEEDED',
      terminal: 'NoRollbackNeeded',
      calls: ['ValidateInput', 'AcquireLock', 'CheckRollbackWindow', 'NotifyNoRollback', 'ReleaseLockNoRollback'],
    }),
  ),
];

const TASK_STATES = Object.entries(loadDefinition().States as Record<string, { Type: string }>)
  .filter(([, state]) => state.Type === 'Task')
  .map(([name]) => name);

async function inject(c: Case): Promise<ScriptedRun> {
  return runScripted({ config: c.config ?? testConfig(), input: c.input ?? deployInput(), tasks: { ...c.reach, [c.state]: c.error } });
}

describe('a failure at each Task', () => {
  it('has a case for every Task state of the definition', () => {
    expect([...new Set(CASES.map((c) => c.state))].sort()).toEqual([...TASK_STATES].sort());
  });

  it.each(CASES.map((c) => [c.state, c.error.name, c.terminal, c] as const))('fails when %s throws %s: ends in %s', async (_state, _name, _terminal, c) => {
    const run = await inject(c);

    expect(ending(run)).toEqual({
      status: c.status,
      terminal: c.terminal,
      error: c.status === 'FAILED' ? c.terminal : null,
      cause: c.cause ?? null,
    });
    expect(run.states).toEqual(c.calls);
    c.check?.(run);
  });
});

describe('throttled Lambda invocations', () => {
  const throttle = failure('Lambda.TooManyRequestsException', 'Rate Exceeded.');

  it.each([...new Set(happyPath())])('retries %s after two throttles and the deployment still succeeds', async (state) => {
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { [state]: sequence(throttle, throttle, byDefault) } });

    const expected = happyPath();
    expected.splice(expected.indexOf(state), 0, state, state);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual(expected);
    expect(run.events.filter((e) => e.type === 'retried').map((e) => e.state)).toEqual([state, state]);
  });

  it('fails when throttling outlasts the retries: the throttled Preflight aborts the deployment after 7 attempts', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { Preflight: throttle } });

    expect(run.error).toBe('DeploymentAborted');
    expect(run.cause).toBe(lambdaCause(throttle));
    expect(run.log.callsTo('Preflight')).toHaveLength(7);
  });

  it('does not retry a task error: a failed rollout is rolled back after one attempt', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { CheckDeployment: new DeploymentFailedError('circuit breaker') } });

    expect(run.log.callsTo('CheckDeployment')).toHaveLength(1);
    expect(run.error).toBe('RolledBack');
  });
});
