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

const MIGRATION_FAILS: Scripts = { CheckMigrations: new MigrationFailedError('migration 0042_split_orders exited with code 1') };
const SMOKE_FAILS: Scripts = { SmokeTest: defaultWith({ passed: false, summary: '1 of 5 checks failed: health' }) };
const DEPLOY_FAILS: Scripts = { CheckDeployment: new DeploymentFailedError('circuit breaker: 3 tasks failed to start') };
const APPROVAL = { required: true, timeoutMinutes: 30 };
const TAIL = ['VerifyRollback', 'RecordRollback', 'ReleaseLockAfterRollback', 'NotifyRolledBack'];
const SKIPPED = { restored: false, decision: 'skipped' };
const NOT_APPROVED = { restored: false, decision: 'not-approved' };
const RESTORED = { restored: true, decision: 'restored', phase: 'done' };

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
    restoreCalls: ['RequestRestoreApproval', ...RESTORE_CALLS],
    restore: RESTORED,
  },
  {
    name: 'approval required and approved: restored',
    database: databaseWith({ restorePolicy: 'always', restoreApproval: APPROVAL }),
    trigger: SMOKE_FAILS,
    restoreCalls: ['RequestRestoreApproval', ...RESTORE_CALLS],
    restore: RESTORED,
  },
  {
    name: 'approval required and rejected: not restored',
    database: databaseWith({ restorePolicy: 'always', restoreApproval: APPROVAL }),
    trigger: { ...SMOKE_FAILS, RequestRestoreApproval: { approved: false, by: 'dba@example.com', comment: 'orders were written since; keep the data' } },
    restoreCalls: ['RequestRestoreApproval'],
    restore: NOT_APPROVED,
  },
  {
    name: 'approval required, nobody answers in time (States.Timeout): not restored',
    database: databaseWith({ restorePolicy: 'always', restoreApproval: APPROVAL }),
    trigger: { ...SMOKE_FAILS, RequestRestoreApproval: failure('States.Timeout', 'no answer within 1800 seconds') },
    restoreCalls: ['RequestRestoreApproval'],
    restore: NOT_APPROVED,
  },
  {
    name: 'approval required, answered with SendTaskFailure (RestoreRejected): not restored',
    database: databaseWith({ restorePolicy: 'always', restoreApproval: APPROVAL }),
    trigger: { ...SMOKE_FAILS, RequestRestoreApproval: failure('RestoreRejected', 'rejected by dba@example.com') },
    restoreCalls: ['RequestRestoreApproval'],
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

  it('hands the approval function the Payload (with the task token), not the lambda:invoke parameters', async () => {
    const config = testConfig({ database: databaseWith({ restoreApproval: APPROVAL }) });
    const run = await runScripted({ config, input: deployInput(), tasks: MIGRATION_FAILS });

    const [call] = run.log.callsTo('RequestRestoreApproval');
    expect(call.folder).toBe('notify');
    expect(Object.keys(call.event as object).sort()).toEqual(['config', 'deployment', 'error', 'event', 'snapshot', 'taskToken']);
    expect(call.event).toMatchObject({
      event: 'approval-requested',
      taskToken: expect.stringMatching(/\S/),
      deployment: { approvalTimeoutSeconds: 1800 },
      snapshot: run.log.event('RecordBackup').snapshot,
      error: { Error: 'MigrationFailedError', Cause: lambdaCause(new MigrationFailedError('migration 0042_split_orders exited with code 1')) },
    });
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
