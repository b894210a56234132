import { describe, expect, it } from 'vitest';
import {
  ABORT_TAIL,
  defaultWith,
  deployInput,
  ending,
  FINGERPRINT,
  happyPathThrough,
  RESTORE_CALLS,
  ROLLBACK_FAILED_TAIL,
  rollbackTail,
  runScripted,
  testConfig,
} from './harness';

const BACKFILL = "1 of 1 SQL checks failed (after-migrations): 'no unreplied messages' returned \"12\", expected 0";
const DIFFERS = 'the restored data differs from the fingerprint recorded before the backup: messages: 40 → 30 rows';

describe('the SQL checks and the fingerprint in the runbook', () => {
  it('aborts before any backup or deploy when a preflight check fails, naming it', async () => {
    const summary = "1 of 1 SQL checks failed (preflight): 'queue drained' returned \"3\", expected 0";
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { PreflightDataChecks: defaultWith({ passed: false, summary }) } });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'DeploymentAborted', error: 'DeploymentAborted', cause: summary });
    expect(run.states).toEqual([...happyPathThrough('PreflightDataChecks'), ...ABORT_TAIL]);
    expect(run.log.event('RecordAbort')).toMatchObject({ error: { Error: 'DataCheckFailed', Cause: summary }, preflightChecks: { passed: false } });
  });

  it('records the fingerprint before the snapshot and hands it to the backup manifest', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput() });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states.indexOf('FingerprintData')).toBe(run.states.indexOf('TakeSnapshot') - 1);
    expect(run.log.event('FingerprintData')).toMatchObject({ operation: 'fingerprint', config: { backup: { fingerprint: { checksumTables: [] } } } });
    expect(run.log.event('RecordBackup')).toMatchObject({ fingerprint: FINGERPRINT });
    expect(run.log.event('RecordRelease')).toMatchObject({ fingerprint: FINGERPRINT, dataGate: { phase: 'after-migrations', passed: true } });
  });

  it('rolls back, restoring the database, when the gate after the migrations fails, before any smoke test', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { AfterMigrationChecks: defaultWith({ passed: false, summary: BACKFILL }) } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'RolledBack', cause: `rolled back to v1.4.2 after DataCheckFailed: ${BACKFILL}` });
    expect(run.states).toEqual([...happyPathThrough('AfterMigrationChecks'), ...rollbackTail(true)]);
    expect(run.log.callsTo('SmokeTest')).toEqual([]);
    expect(run.log.event('VerifyRestoredData')).toMatchObject({ operation: 'verify-restore', phase: 'after-restore', fingerprint: FINGERPRINT });
  });

  it('ends in RollbackFailed, naming the tables that differ, when the restored data does not match the fingerprint', async () => {
    const run = await runScripted({
      config: testConfig(),
      input: deployInput(),
      tasks: {
        AfterMigrationChecks: defaultWith({ passed: false, summary: BACKFILL }),
        VerifyRestoredData: defaultWith({ passed: false, summary: DIFFERS, comparison: { identical: false, differences: ['messages: 40 → 30 rows'], tables: 2 } }),
      },
    });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'RollbackFailed', error: 'RollbackFailed', cause: DIFFERS });
    expect(run.states).toEqual([...happyPathThrough('AfterMigrationChecks'), 'RollbackApp', 'CheckRollback', ...RESTORE_CALLS, ...ROLLBACK_FAILED_TAIL]);
    expect(run.log.event('RecordRollbackFailure')).toMatchObject({ rollbackError: { Error: 'RestoreVerificationFailed', Cause: DIFFERS }, restoreCheck: { passed: false } });
  });
});

describe("a release plan's SQL gate in the runbook ({action: check})", () => {
  const SQL = [
    { name: 'backfill complete', sql: 'SELECT count(*) FROM messages WHERE replied_to IS NULL', expect: { equals: 0 }, when: ['after-migrations'] },
    { name: 'queue drained', sql: 'SELECT count(*) FROM jobs', expect: { equals: 0 }, when: ['preflight'] },
  ];
  const gateInput = { action: 'check', checks: ['backfill complete'], requestedBy: 'release-plan shop' };

  it('runs the named checks once, read-only, without the lock or any change, and succeeds ChecksPassed', async () => {
    const run = await runScripted({ config: testConfig({ checks: { sql: SQL } }), input: gateInput });

    expect(ending(run)).toMatchObject({ status: 'SUCCEEDED', terminal: 'ChecksPassed' });
    expect(run.states).toEqual(['ValidateInput', 'GateChecks']);
    expect(run.log.event('GateChecks')).toMatchObject({ operation: 'check', phase: 'gate', names: ['backfill complete'], config: { checks: { sql: [{ name: 'backfill complete' }, { name: 'queue drained' }] } } });
  });

  it('fails ChecksFailed with the checks summary as its cause when one does not pass', async () => {
    const summary = "1 of 1 SQL checks failed (gate): 'backfill complete' returned \"12\", expected 0";
    const run = await runScripted({ config: testConfig({ checks: { sql: SQL } }), input: gateInput, tasks: { GateChecks: defaultWith({ passed: false, summary }) } });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'ChecksFailed', error: 'ChecksFailed', cause: summary });
    expect(run.states).toEqual(['ValidateInput', 'GateChecks']);
  });

  it('fails closed, ChecksUnavailable, when the checks cannot run', async () => {
    const unreachable = () => {
      const error = new Error('database shop-db at db.internal:5432 cannot be reached: ETIMEDOUT');
      error.name = 'DatabaseUnreachableError';
      throw error;
    };
    const run = await runScripted({ config: testConfig({ checks: { sql: SQL } }), input: gateInput, tasks: { GateChecks: unreachable } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'ChecksUnavailable', error: 'ChecksUnavailable' });
    expect(run.cause).toContain('cannot be reached');
  });
});
