import { describe, expect, it } from 'vitest';
import { validateInput, ValidateInputEvent } from '../../core/tasks/validate-input/validate-input';
import type { TaskCall } from '../../local/engine/engine';
import {
  ABORT_TAIL,
  defaultWith,
  DRILL_ABORT_TAIL,
  deployInput,
  DRILL_CALLS,
  DRILL_RUN,
  DRILL_THROUGH_BACKUP,
  databaseWith,
  drillConfig,
  drillHappyPath,
  drillInput,
  ending,
  FINGERPRINT,
  happyPath,
  happyPathThrough,
  pollingWith,
  runScripted,
  sequence,
  testConfig,
} from './harness';

const DIFFERS = 'the restored data differs from the fingerprint recorded before the backup: orders: 8000 → 7990 rows';
const SCRATCH = 'shop_drill_20250304100000';

describe('the restore drill in the runbook (backup.testRestore, action drill)', () => {
  it('restores the fresh backup into a scratch copy, checks it against the fingerprint, drops it and records it, all before the deploy', async () => {
    const run = await runScripted({ config: drillConfig(), input: deployInput() });

    expect(ending(run)).toMatchObject({ status: 'SUCCEEDED', terminal: 'DeploymentSucceeded' });
    expect(run.states).toEqual(drillHappyPath());
    expect(run.log.event('AdvanceDrill', 0)).toMatchObject({ operation: 'drill', restore: null, snapshot: { status: 'available' } });
    expect(run.log.event('AdvanceDrill', 1)).toMatchObject({ operation: 'drill', restore: { phase: 'restore', scratch: SCRATCH } });
    expect(run.log.event('VerifyDrillCopy')).toMatchObject({ operation: 'verify-restore', phase: 'after-restore', fingerprint: FINGERPRINT, database: SCRATCH });
    expect(run.log.event('DiscardDrillCopy')).toMatchObject({ operation: 'discard-drill', restore: { phase: 'done', scratch: SCRATCH } });
    expect(run.log.event('RecordDrill')).toMatchObject({ operation: 'record-drill', drill: { phase: 'discarded', scratch: SCRATCH }, drillCheck: { passed: true } });
    expect(run.log.event('RecordRelease')).toMatchObject({ drill: { phase: 'discarded' }, drillCheck: { passed: true } });
  });

  it('runs no drill without backup.testRestore', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput() });

    expect(run.states).toEqual(happyPath());
    for (const state of DRILL_CALLS) expect(run.log.callsTo(state)).toEqual([]);
  });

  it('aborts before the deploy when the copy differs from the fingerprint, naming the table, and still drops the copy', async () => {
    const run = await runScripted({
      config: drillConfig(),
      input: deployInput(),
      tasks: { VerifyDrillCopy: defaultWith({ passed: false, summary: DIFFERS, comparison: { identical: false, differences: ['orders: 8000 → 7990 rows'], tables: 2 } }) },
    });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'DeploymentAborted', error: 'DeploymentAborted', cause: DIFFERS });
    expect(run.states).toEqual([...happyPathThrough('RecordBackup'), ...DRILL_CALLS, ...ABORT_TAIL]);
    expect(run.log.callsTo('Deploy')).toEqual([]);
    expect(run.log.event('RecordDrill')).toMatchObject({ drillCheck: { passed: false, summary: DIFFERS } });
    expect(run.log.event('RecordAbort')).toMatchObject({ error: { Error: 'RestoreDrillFailed', Cause: DIFFERS }, drill: { phase: 'discarded' } });
  });

  it('gives up after polling.restore.maxAttempts restore steps, drops what was restored and aborts', async () => {
    const run = await runScripted({
      config: drillConfig({ polling: pollingWith({ restore: 2 }) }),
      input: deployInput(),
      tasks: { AdvanceDrill: (call) => ({ ...(call.event as { restore: unknown }), ...stuck }) },
    });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'DeploymentAborted', cause: 'Restore drill of deploy-runbook-shop-api-ci-release-1-5-0-6ad9ca6b stuck in phase restore after 2 checks' });
    expect(run.states).toEqual([...happyPathThrough('RecordBackup'), 'AdvanceDrill', 'AdvanceDrill', 'DiscardDrillCopy', 'RecordDrill', ...ABORT_TAIL]);
    expect(run.log.event('RecordAbort')).toMatchObject({ error: { Error: 'DrillTimedOut' } });
  });

  it('runs a drill execution to DrillSucceeded without touching the target', async () => {
    const run = await runScripted({ config: drillConfig(), input: drillInput() });

    expect(ending(run)).toEqual({ status: 'SUCCEEDED', terminal: 'DrillSucceeded', error: null, cause: null });
    expect(run.states).toEqual(DRILL_RUN);
    expect(run.log.event('AcquireLock')).toMatchObject({ deployment: { action: 'drill' } });
    expect(run.log.event('ReleaseLockAfterDrill')).toMatchObject({ operation: 'release' });
  });

  it('runs a drill execution even without backup.testRestore, and ends a failed one in DeploymentAborted, notified as drill-failed', async () => {
    const run = await runScripted({
      config: testConfig({ database: { kind: 'postgres' } }),
      input: drillInput(),
      tasks: { AdvanceDrill: sequence(defaultWith({}), new Error('pg_restore exited with 1')) },
    });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'DeploymentAborted' });
    expect(run.states).toEqual([...DRILL_THROUGH_BACKUP, 'AdvanceDrill', 'AdvanceDrill', 'DiscardDrillCopy', 'RecordDrill', ...DRILL_ABORT_TAIL]);
    expect(run.log.event('NotifyDrillFailed')).toMatchObject({ event: 'drill-failed', deployment: { action: 'drill' }, error: { Error: 'Error' }, lockError: null });
    expect(run.log.callsTo('NotifyAborted')).toEqual([]);
  });

  it('notifies drill-failed when a drill execution fails before its restore (the database unreachable in Preflight)', async () => {
    const run = await runScripted({ config: drillConfig(), input: drillInput(), tasks: { Preflight: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:5432')) } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'DeploymentAborted' });
    expect(run.states.slice(-3)).toEqual(DRILL_ABORT_TAIL);
    expect(run.log.event('NotifyDrillFailed')).toMatchObject({ event: 'drill-failed', error: { Error: 'Error', Cause: expect.stringContaining('ECONNREFUSED') } });
  });

  it('tells the audiences a drill did not run when another execution holds the lock, and ends DeploymentInProgress', async () => {
    const held = Object.assign(new Error('shop-api is locked by execution ci-release-1-4-9 until 2025-03-04T16:00:00Z'), { name: 'DeploymentInProgressError' });
    const run = await runScripted({ config: drillConfig(), input: drillInput(), tasks: { AcquireLock: () => Promise.reject(held) } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'DeploymentInProgress', error: 'DeploymentInProgress' });
    expect(run.states).toEqual(['ValidateInput', 'AcquireLock', 'NotifyDrillNotRun']);
    expect(run.log.event('NotifyDrillNotRun')).toMatchObject({ event: 'drill-failed', deployment: { action: 'drill' }, error: { Error: 'DeploymentInProgressError' }, lockError: null });
  });

  it('still notifies a deploy aborted by its backup.testRestore drill as aborted', async () => {
    const run = await runScripted({
      config: drillConfig(),
      input: deployInput(),
      tasks: { VerifyDrillCopy: defaultWith({ passed: false, summary: DIFFERS, comparison: { identical: false, differences: ['orders: 8000 → 7990 rows'], tables: 2 } }) },
    });

    expect(run.log.event('NotifyAborted')).toMatchObject({ event: 'aborted', error: { Error: 'RestoreDrillFailed' } });
    expect(run.log.callsTo('NotifyDrillFailed')).toEqual([]);
  });
});

/** An AdvanceDrill answer that never gets past the restore. */
const stuck = { restored: false, decision: 'restoring', phase: 'restore', failedCopy: null, scratch: SCRATCH, snapshotId: 'x', steps: [], startedAt: '2025-03-04T10:00:00.000Z', finishedAt: null };

describe('a drill request judged by the real ValidateInput', () => {
  const clock = { now: () => new Date('2025-03-04T10:00:00.000Z') };
  const validating = (call: TaskCall) => validateInput(ValidateInputEvent.parse(call.event), { clock, alarms: () => ({ states: async () => [] }) });

  it('fails when the database is an RDS instance without database.connection: InvalidInput naming the action and the field, nothing else runs', async () => {
    const run = await runScripted({ config: testConfig(), input: drillInput(), tasks: { ValidateInput: validating } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'InvalidInput' });
    expect(run.cause).toContain('action: \\"drill\\": a restore drill of an RDS instance restores its snapshot into a scratch copy');
    expect(run.cause).toContain('connect through database.connection (a Secrets Manager secret holding {host, port, username, password, dbname}), which is not set');
    expect(run.states).toEqual(['ValidateInput']);
  });

  it('lets a drill of an RDS instance with a connection through, and checks the copy at its own endpoint', async () => {
    const host = 'shop-db-drill-20250304100000.abcdefghij.eu-west-1.rds.amazonaws.com';
    const config = testConfig({ database: databaseWith({ connection: { secretsManager: 'shop/prod/db' } }), executionTimeoutMinutes: 480 });
    const rdsStep = (call: TaskCall) => {
      const previous = (call.event as { restore: Record<string, unknown> | null }).restore;
      const done = previous !== null;
      return { ...stuck, restored: done, decision: done ? 'restored' : 'restoring', phase: done ? 'done' : 'restore', scratch: 'shop-db-drill-20250304100000', scratchHost: done ? host : null };
    };
    const run = await runScripted({ config, input: drillInput(), tasks: { ValidateInput: validating, AdvanceDrill: rdsStep } });

    expect(run.terminal).toBe('DrillSucceeded');
    expect(run.log.event('VerifyDrillCopy')).toMatchObject({ operation: 'verify-restore', database: 'shop-db-drill-20250304100000', host });
    expect(run.log.event('DiscardDrillCopy')).toMatchObject({ operation: 'discard-drill', restore: { scratch: 'shop-db-drill-20250304100000', scratchHost: host } });
  });

  it('lets a drill of a postgres database through, with nothing to deploy', async () => {
    const run = await runScripted({ config: drillConfig(), input: { ...(drillInput() as object), reason: 'weekly' }, tasks: { ValidateInput: validating } });

    expect(run.terminal).toBe('DrillSucceeded');
    expect(run.log.event('AcquireLock').deployment).toMatchObject({ action: 'drill', version: null, image: null, requestedBy: 'restore drill schedule', reason: 'weekly' });
  });
});
