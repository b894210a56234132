import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ABORT_TAIL,
  defaultWith,
  deployInput,
  ending,
  happyPathThrough,
  pollingWith,
  ROLLBACK_FAILED_TAIL,
  rollbackTail,
  RUNNING,
  runScripted,
  sequence,
  snapshotOf,
  testConfig,
} from './harness';

const times = (state: string, n: number): string[] => Array<string>(n).fill(state);
const SMOKE_FAILED = { SmokeTest: defaultWith({ passed: false, summary: '2 of 5 checks failed: health, login' }) };

describe('polling loops that never finish', () => {
  it('fails when the snapshot is never available: SnapshotTimedOut after maxAttempts checks, aborted before the deploy', async () => {
    const run = await runScripted({
      config: testConfig({ polling: pollingWith({ snapshot: 4 }) }),
      input: deployInput(),
      tasks: { CheckSnapshot: defaultWith({ status: 'creating' }) },
    });

    const snapshotId = snapshotOf(run.log.event('AcquireLock').deployment, 'creating').id;
    const cause = `Snapshot ${snapshotId} was not available after 4 checks`;
    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'DeploymentAborted', error: 'DeploymentAborted', cause });
    expect(run.states).toEqual([...happyPathThrough('TakeSnapshot'), ...times('CheckSnapshot', 4), ...ABORT_TAIL]);
    expect(run.log.event('RecordAbort').error).toEqual({ Error: 'SnapshotTimedOut', Cause: cause });
  });

  it('fails when the rollout never completes: DeploymentTimedOut after maxAttempts checks, then rolled back', async () => {
    const run = await runScripted({
      config: testConfig({ polling: pollingWith({ deployment: 5 }) }),
      input: deployInput(),
      tasks: { CheckDeployment: defaultWith({ status: 'in-progress' }) },
    });

    expect(ending(run)).toEqual({
      status: 'FAILED',
      terminal: 'RolledBack',
      error: 'RolledBack',
      cause: 'rolled back to v1.4.2 after DeploymentTimedOut: Deployment of v1.5.0 did not complete after 5 checks',
    });
    expect(run.states).toEqual([...happyPathThrough('Deploy'), ...times('CheckDeployment', 5), ...rollbackTail(false)]);
    expect(run.log.event('RollbackApp')).toMatchObject({ rollbackTo: RUNNING });
    expect(run.log.event('RecordRollback')).toMatchObject({ error: { Error: 'DeploymentTimedOut' } });
  });

  it('fails when the migrations never finish: MigrationsTimedOut after maxAttempts checks, rolled back and restored', async () => {
    const run = await runScripted({
      config: testConfig({ polling: pollingWith({ migrations: 3 }) }),
      input: deployInput(),
      tasks: { CheckMigrations: defaultWith({ status: 'running' }) },
    });

    expect(ending(run)).toEqual({
      status: 'FAILED',
      terminal: 'RolledBack',
      error: 'RolledBack',
      cause: 'rolled back to v1.4.2 after MigrationsTimedOut: Migrations did not finish after 3 checks',
    });
    expect(run.states).toEqual([...happyPathThrough('StartMigrations'), ...times('CheckMigrations', 3), ...rollbackTail(true)]);
  });

  it('fails when the rollback never completes: RollbackTimedOut after maxAttempts checks, the lock kept', async () => {
    const run = await runScripted({
      config: testConfig({ polling: pollingWith({ deployment: 4 }) }),
      input: deployInput(),
      tasks: { ...SMOKE_FAILED, CheckRollback: defaultWith({ status: 'in-progress' }) },
    });

    expect(ending(run)).toEqual({
      status: 'FAILED',
      terminal: 'RollbackFailed',
      error: 'RollbackFailed',
      cause: `Rollback to ${RUNNING.ref} did not complete after 4 checks`,
    });
    expect(run.states).toEqual([...happyPathThrough('SmokeTest'), 'RollbackApp', ...times('CheckRollback', 4), ...ROLLBACK_FAILED_TAIL]);
    expect(run.log.event('KeepLockForHuman')).toMatchObject({ operation: 'mark-stuck', rollbackError: { Error: 'RollbackTimedOut' } });
  });

  it('fails when the restore never reaches done: RestoreTimedOut after maxAttempts steps, the lock kept', async () => {
    const run = await runScripted({
      config: testConfig({ polling: pollingWith({ restore: 3 }) }),
      input: deployInput(),
      tasks: { ...SMOKE_FAILED, AdvanceRestore: defaultWith({ phase: 'restoring-instance' }) },
    });

    expect(ending(run)).toEqual({
      status: 'FAILED',
      terminal: 'RollbackFailed',
      error: 'RollbackFailed',
      cause: 'Database restore stuck in phase restoring-instance after 3 checks',
    });
    expect(run.states).toEqual([...happyPathThrough('SmokeTest'), 'RollbackApp', 'CheckRollback', ...times('AdvanceRestore', 3), ...ROLLBACK_FAILED_TAIL]);
    expect(run.log.callsTo('VerifyRollback')).toEqual([]);
  });

  it('restarts the count for each loop: a slow rollout does not eat into the rollback checks', async () => {
    const run = await runScripted({
      config: testConfig({ polling: pollingWith({ deployment: 3 }) }),
      input: deployInput(),
      tasks: {
        CheckDeployment: sequence(defaultWith({ status: 'in-progress' }), defaultWith({ status: 'in-progress' }), defaultWith({ status: 'completed' })),
        ...SMOKE_FAILED,
        CheckRollback: sequence(defaultWith({ status: 'in-progress' }), defaultWith({ status: 'in-progress' }), defaultWith({ status: 'completed' })),
      },
    });

    expect(run.error).toBe('RolledBack');
    expect(run.log.callsTo('CheckDeployment')).toHaveLength(3);
    expect(run.log.callsTo('CheckRollback')).toHaveLength(3);
  });

  it('checks the snapshot min(creating checks + 1, maxAttempts) times and deploys only when it became available', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 6 }), async (maxAttempts, creating) => {
        const run = await runScripted({
          config: testConfig({ polling: pollingWith({ snapshot: maxAttempts }) }),
          input: deployInput(),
          tasks: { CheckSnapshot: sequence(...times('creating', creating).map((status) => defaultWith({ status })), defaultWith({ status: 'available' })) },
        });

        const available = creating + 1 <= maxAttempts;
        expect(run.log.callsTo('CheckSnapshot')).toHaveLength(Math.min(creating + 1, maxAttempts));
        expect(run.log.callsTo('Deploy')).toHaveLength(available ? 1 : 0);
        expect(run.status).toBe(available ? 'SUCCEEDED' : 'FAILED');
      }),
      { numRuns: 12 },
    );
  });
});
