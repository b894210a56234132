import { describe, expect, it } from 'vitest';
import type { WindowDecision } from '../../core/model';
import type { TaskCall } from '../../local/engine/engine';
import {
  alarmInput,
  databaseWith,
  defaultResult,
  defaultWith,
  ending,
  NEW_VERSION,
  pollingWith,
  releasedVersion,
  RESTORE_CALLS,
  runScripted,
  type Script,
  testConfig,
} from './harness';

const PREVIOUS = { version: 'v1.4.0', image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:v1.4.0', ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:40' };
const TAIL = ['VerifyRollback', 'RecordRollback', 'ReleaseLockAfterRollback', 'NotifyRolledBack'];

/** CheckRollbackWindow's default `rollback` decision, its patch changed as given. */
function rollbackWith(patch: Record<string, unknown>): Script {
  return (call: TaskCall) => {
    const window = defaultResult(call) as WindowDecision;
    return { ...window, patch: { ...window.patch, ...patch } };
  };
}

describe('an alarm-triggered rollback', () => {
  it('rolls back to the version the release replaced, from the ledger patch, and ends RolledBack', async () => {
    const run = await runScripted({ config: testConfig(), input: alarmInput(), tasks: { CheckRollbackWindow: rollbackWith({ rollbackTo: PREVIOUS }) } });

    const released = releasedVersion();
    expect(ending(run)).toEqual({
      status: 'FAILED',
      terminal: 'RolledBack',
      error: 'RolledBack',
      cause: `rolled back to v1.4.0 after AlarmFired: shop-api-5xx-rate entered ALARM 2 hours after ${NEW_VERSION} was released`,
    });
    expect(run.states).toEqual(['ValidateInput', 'AcquireLock', 'CheckRollbackWindow', 'RollbackApp', 'CheckRollback', ...TAIL]);
    expect(run.log.event('CheckRollbackWindow')).toMatchObject({ operation: 'check-window', deployment: { action: 'rollback', alarm: { name: 'shop-api-5xx-rate' } } });
    expect(run.log.event('RollbackApp')).toMatchObject({ operation: 'rollback', rollbackTo: PREVIOUS, handle: released.handle });
    expect(run.log.event('RecordRollback')).toMatchObject({ error: { Error: 'AlarmFired' } });
    expect(run.log.event('VerifyRollback')).toMatchObject({ expectedVersion: 'v1.4.0' });
    expect(run.log.event('RecordRollback')).toMatchObject({ rollbackTo: PREVIOUS, release: released.handle, preflight: null, window: { decision: 'rollback' } });
  });

  it.each(['always', 'when-migrations-ran'])(
    "never restores the database without a person's approval, with restorePolicy '%s' and the release's snapshot in the patch",
    async (restorePolicy) => {
      const run = await runScripted({ config: testConfig({ database: databaseWith({ restorePolicy, restoreApproval: { required: false } }) }), input: alarmInput() });

      expect(run.states).toEqual(['ValidateInput', 'AcquireLock', 'CheckRollbackWindow', 'RollbackApp', 'CheckRollback', ...TAIL]);
      expect(run.log.event('RecordRollback')).toMatchObject({ snapshot: releasedVersion().snapshot, restore: { restored: false, decision: 'skipped' } });
    },
  );

  it("skips the restore when the patch has no snapshot (the ledger's answer when no approval is required)", async () => {
    const run = await runScripted({ config: testConfig({ database: databaseWith({ restorePolicy: 'always' }) }), input: alarmInput(), tasks: { CheckRollbackWindow: rollbackWith({ snapshot: null }) } });

    expect(run.states).toEqual(['ValidateInput', 'AcquireLock', 'CheckRollbackWindow', 'RollbackApp', 'CheckRollback', ...TAIL]);
    expect(run.log.event('RecordRollback')).toMatchObject({ snapshot: null, restore: { restored: false, decision: 'skipped' } });
  });

  it('never runs Preflight, a snapshot, Deploy, migrations, smoke tests of a new version or the bake', async () => {
    const run = await runScripted({ config: testConfig(), input: alarmInput() });

    const forbidden = ['Preflight', 'TakeSnapshot', 'CheckSnapshot', 'RecordBackup', 'Deploy', 'CheckDeployment', 'StartMigrations', 'CheckMigrations', 'SmokeTest', 'EvaluateAlarms', 'RecordRelease'];
    expect(run.states.filter((s) => forbidden.includes(s))).toEqual([]);
  });

  it('lets RestoreDecision see the patch: the release ran migrations and had a snapshot, so the approved restore uses that snapshot', async () => {
    const config = testConfig({ database: databaseWith({ restorePolicy: 'when-migrations-ran', restoreApproval: { required: true } }) });
    const run = await runScripted({ config, input: alarmInput() });

    const { snapshot } = releasedVersion();
    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'RolledBack', error: 'RolledBack' });
    expect(run.states).toEqual(['ValidateInput', 'AcquireLock', 'CheckRollbackWindow', 'RollbackApp', 'CheckRollback', 'RequestRestoreApproval', 'AwaitRestoreApproval', ...RESTORE_CALLS, ...TAIL]);
    expect(run.log.event('RequestRestoreApproval')).toMatchObject({ snapshot, error: { Error: 'AlarmFired' } });
    expect(run.log.event('AdvanceRestore')).toMatchObject({ snapshot });
  });

  it.each([
    { name: 'the release had no snapshot', patch: { snapshot: null } },
    { name: 'the release ran no migrations', patch: { migrations: { started: false, status: 'succeeded', ref: null, startedAt: null, finishedAt: null, detail: null } } },
  ])('skips the restore when $name (RestoreDecision reads the patch)', async ({ patch }) => {
    const config = testConfig({ database: databaseWith({ restorePolicy: 'when-migrations-ran', restoreApproval: { required: true } }) });
    const run = await runScripted({ config, input: alarmInput(), tasks: { CheckRollbackWindow: rollbackWith(patch) } });

    expect(run.error).toBe('RolledBack');
    expect(run.states).toEqual(['ValidateInput', 'AcquireLock', 'CheckRollbackWindow', 'RollbackApp', 'CheckRollback', ...TAIL]);
    expect(run.log.event('RecordRollback').restore).toEqual({ restored: false, decision: 'skipped' });
  });

  it.each([
    { decision: 'outside-window', message: 'v1.5.0 was released 9 hours ago, outside the 8-hour window' },
    { decision: 'already-rolled-back', message: 'v1.5.0 was already rolled back by ci-release-1-5-0' },
    { decision: 'no-release', message: 'the ledger holds no release of shop-api' },
  ])('does nothing but report and release the lock when the decision is $decision', async ({ decision, message }) => {
    const run = await runScripted({ config: testConfig(), input: alarmInput(), tasks: { CheckRollbackWindow: defaultWith({ decision, message, patch: null }) } });

    expect(ending(run)).toEqual({ status: 'SUCCEEDED', terminal: 'NoRollbackNeeded', error: null, cause: null });
    expect(run.states).toEqual(['ValidateInput', 'AcquireLock', 'CheckRollbackWindow', 'NotifyNoRollback', 'ReleaseLockNoRollback']);
    expect(run.log.event('NotifyNoRollback')).toMatchObject({ event: 'no-rollback', window: { decision, message } });
    expect(run.log.event('ReleaseLockNoRollback')).toMatchObject({ operation: 'release', lease: { key: 'locks/shop-api.json' } });
  });

  it('fails when the rollback of an alarm-triggered run fails: RollbackFailed with the lock kept', async () => {
    const run = await runScripted({
      config: testConfig({ polling: pollingWith({ deployment: 2 }) }),
      input: alarmInput(),
      tasks: { CheckRollback: defaultWith({ status: 'in-progress' }), CheckRollbackWindow: rollbackWith({ rollbackTo: PREVIOUS }) },
    });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'RollbackFailed', error: 'RollbackFailed', cause: `Rollback to ${PREVIOUS.ref} did not complete after 2 checks` });
    expect(run.states).toEqual(['ValidateInput', 'AcquireLock', 'CheckRollbackWindow', 'RollbackApp', 'CheckRollback', 'CheckRollback', 'NotifyRollbackFailed', 'KeepLockForHuman', 'RecordRollbackFailure']);
    expect(run.log.event('KeepLockForHuman')).toMatchObject({ operation: 'mark-stuck' });
  });
});
