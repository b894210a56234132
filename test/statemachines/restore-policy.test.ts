import { describe, expect, it } from 'vitest';
import { DeploymentFailedError, MigrationFailedError, RestoreFailedError } from '../../core/errors';
import {
  databaseWith,
  defaultWith,
  deployInput,
  ending,
  failure,
  happyPathThrough,
  lambdaCause,
  RESTORE_CALLS,
  ROLLBACK_FAILED_TAIL,
  runScripted,
  type Scripts,
  testConfig,
} from './harness';
import { APPROVAL_ACTIVITY } from '../../local/engine/engine';
import { RestoreApprovalTask } from '../../core/restore-approval';

const MIGRATION_FAILS: Scripts = { CheckMigrations: new MigrationFailedError('migration 0042_split_orders exited with code 1') };
const SMOKE_FAILS: Scripts = { SmokeTest: defaultWith({ passed: false, summary: '1 of 5 checks failed: health' }) };
const DEPLOY_FAILS: Scripts = { CheckDeployment: new DeploymentFailedError('circuit breaker: 3 tasks failed to start') };
const APPROVAL = { required: true, timeoutMinutes: 30 };
const TAIL = ['VerifyRollback', 'RecordRollback', 'ReleaseLockAfterRollback', 'NotifyRolledBack'];
const SKIPPED = { restored: false, decision: 'skipped' };
const NOT_APPROVED = { restored: false, decision: 'not-approved' };
const RESTORED = { restored: true, decision: 'restored', phase: 'done' };
/** The notification asking a person, then the wait on the approval activity. */
const ASKED = ['RequestRestoreApproval', 'AwaitRestoreApproval'];

/** One row of the RestoreDecision matrix. */
interface Row {
  readonly name: string;
  readonly database: Record<string, unknown> | null;
  readonly migrations?: null;
  readonly trigger: Scripts;
  /** The states between the failure and VerifyRollback, after RollbackApp and CheckRollback. */
  readonly restoreCalls: string[];
  readonly restore: Record<string, unknown>;
}

const ROWS: Row[] = [
  { name: 'never: a failed migration is not restored', database: databaseWith({ restorePolicy: 'never' }), trigger: MIGRATION_FAILS, restoreCalls: [], restore: SKIPPED },
  { name: 'when-migrations-ran: a failed migration is restored', database: databaseWith({ restorePolicy: 'when-migrations-ran' }), trigger: MIGRATION_FAILS, restoreCalls: RESTORE_CALLS, restore: RESTORED },
  {
    name: 'when-migrations-ran: a failed smoke test after migrations is restored',
    database: databaseWith({ restorePolicy: 'when-migrations-ran' }),
    trigger: SMOKE_FAILS,
    restoreCalls: RESTORE_CALLS,
    restore: RESTORED,
  },
  {
    name: 'when-migrations-ran: without migrations configured a failed smoke test is not restored',
    database: databaseWith({ restorePolicy: 'when-migrations-ran' }),
    migrations: null,
    trigger: SMOKE_FAILS,
    restoreCalls: [],
    restore: SKIPPED,
  },
  {
    name: 'when-migrations-ran: a rollout that failed before the migrations is not restored',
    database: databaseWith({ restorePolicy: 'when-migrations-ran' }),
    trigger: DEPLOY_FAILS,
    restoreCalls: [],
    restore: SKIPPED,
  },
  { name: 'always: even a failed rollout is restored', database: databaseWith({ restorePolicy: 'always' }), trigger: DEPLOY_FAILS, restoreCalls: RESTORE_CALLS, restore: RESTORED },
  { name: 'no database: nothing to restore', database: null, trigger: SMOKE_FAILS, restoreCalls: [], restore: SKIPPED },
  {
    name: 'approval left unsaid: a person is asked before the restore (the safer default)',
    database: { kind: 'rds-instance', instanceIdentifier: 'shop-prod-db' },
    trigger: MIGRATION_FAILS,
    restoreCalls: [...ASKED, ...RESTORE_CALLS],
    restore: RESTORED,
  },
  {
    name: 'approval required and approved: restored',
    database: databaseWith({ restorePolicy: 'always', restoreApproval: APPROVAL }),
    trigger: SMOKE_FAILS,
    restoreCalls: [...ASKED, ...RESTORE_CALLS],
    restore: RESTORED,
  },
  {
    name: 'approval required and rejected: not restored',
    database: databaseWith({ restorePolicy: 'always', restoreApproval: APPROVAL }),
    trigger: { ...SMOKE_FAILS, AwaitRestoreApproval: { approved: false, by: 'dba@example.com', comment: 'orders were written since; keep the data' } },
    restoreCalls: ASKED,
    restore: NOT_APPROVED,
  },
  {
    name: 'approval required, nobody answers in time (States.Timeout): not restored',
    database: databaseWith({ restorePolicy: 'always', restoreApproval: APPROVAL }),
    trigger: { ...SMOKE_FAILS, AwaitRestoreApproval: failure('States.Timeout', 'no answer within 1800 seconds') },
    restoreCalls: ASKED,
    restore: NOT_APPROVED,
  },
  {
    name: 'approval required, answered with SendTaskFailure (RestoreRejected): not restored',
    database: databaseWith({ restorePolicy: 'always', restoreApproval: APPROVAL }),
    trigger: { ...SMOKE_FAILS, AwaitRestoreApproval: failure('RestoreRejected', 'rejected by dba@example.com') },
    restoreCalls: ASKED,
    restore: NOT_APPROVED,
  },
];

describe('the database restore decision', () => {
  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const config = testConfig({ database: row.database, ...(row.migrations === null ? { migrations: null } : {}) });
    const run = await runScripted({ config, input: deployInput(), tasks: row.trigger });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'RolledBack', error: 'RolledBack' });
    const failedAt = run.states.indexOf('RollbackApp');
    expect(run.states.slice(failedAt)).toEqual(['RollbackApp', 'CheckRollback', ...row.restoreCalls, ...TAIL]);
    expect(run.log.event('RecordRollback').restore).toMatchObject(row.restore);
    expect(run.log.event('VerifyRollback')).toMatchObject({ phase: 'rollback', expectedVersion: 'v1.4.2' });
  });

  it('restores the pre-deploy snapshot, one step per AdvanceRestore call, carrying the state from step to step', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: MIGRATION_FAILS });

    const snapshot = run.log.event('RecordBackup').snapshot;
    const [first, second] = run.log.callsTo('AdvanceRestore').map((c) => c.event as Record<string, unknown>);
    expect(first).toMatchObject({ snapshot, restore: null, deployment: { id: run.log.event('AcquireLock').deployment.id } });
    expect(second).toMatchObject({ snapshot, restore: { decision: 'restoring', phase: 'restoring', snapshotId: snapshot.id } });
  });

  it('asks with a notification that carries no token, then waits on the approval activity for this execution', async () => {
    const config = testConfig({ database: databaseWith({ restoreApproval: APPROVAL }) });
    const run = await runScripted({ config, input: deployInput(), tasks: MIGRATION_FAILS });

    const [asked] = run.log.callsTo('RequestRestoreApproval');
    expect(asked.folder).toBe('notify');
    expect(Object.keys(asked.event as object).sort()).toEqual(['config', 'deployment', 'error', 'event', 'snapshot']);
    expect(asked.event).toMatchObject({
      event: 'approval-requested',
      deployment: { approvalTimeoutSeconds: 1800, executionId: run.executionId },
      snapshot: run.log.event('RecordBackup').snapshot,
      error: { Error: 'MigrationFailedError', Cause: lambdaCause(new MigrationFailedError('migration 0042_split_orders exited with code 1')) },
    });
    const [waiting] = run.log.callsTo('AwaitRestoreApproval');
    expect(waiting.folder).toBe(APPROVAL_ACTIVITY);
    expect(waiting.event).toEqual({ kind: 'restore-approval', execution: run.executionId, target: config.name, snapshot: run.log.event('RecordBackup').snapshot.id });
    expect(RestoreApprovalTask.safeParse(waiting.event).success).toBe(true);
  });

  it('records a rejection as SendTaskFailure sent it: the error and the cause, not wrapped as a Lambda error', async () => {
    const config = testConfig({ database: databaseWith({ restorePolicy: 'always', restoreApproval: APPROVAL }) });
    const run = await runScripted({ config, input: deployInput(), tasks: { ...SMOKE_FAILS, AwaitRestoreApproval: failure('RestoreRejected', 'rejected by dba@example.com: keep the orders') } });

    expect(run.log.event('RecordRollback')).toMatchObject({ restore: NOT_APPROVED });
    expect(run.events.filter((e) => e.state === 'AwaitRestoreApproval' && e.error)).toEqual([
      expect.objectContaining({ error: 'RestoreRejected', cause: 'rejected by dba@example.com: keep the orders' }),
    ]);
  });

  it('fails when a step of the restore fails: RollbackFailed, the lock kept and marked stuck', async () => {
    const broken = new RestoreFailedError('cannot rename shop-prod-db: DB instance is in state modifying');
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { ...MIGRATION_FAILS, AdvanceRestore: broken } });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'RollbackFailed', error: 'RollbackFailed', cause: lambdaCause(broken) });
    expect(run.states).toEqual([...happyPathThrough('CheckMigrations'), 'RollbackApp', 'CheckRollback', 'AdvanceRestore', ...ROLLBACK_FAILED_TAIL]);
    expect(run.log.event('KeepLockForHuman')).toMatchObject({ operation: 'mark-stuck', rollbackError: { Error: 'RestoreFailedError' } });
    expect(run.states.filter((s) => s.startsWith('ReleaseLock'))).toEqual([]);
  });
});
