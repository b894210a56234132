import { describe, expect, it } from 'vitest';
import {
  BAKE_CHECKS,
  databaseWith,
  defaultWith,
  deployInput,
  happyPath,
  NEW_IMAGE,
  NEW_VERSION,
  RUNNING,
  runScripted,
  sequence,
  testConfig,
} from './harness';

describe('a deployment that goes well', () => {
  it('runs every step once, in order, and succeeds (database and ECS-task migrations)', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput() });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.error).toBeNull();
    expect(run.states).toEqual([
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
      'EvaluateAlarms',
      'EvaluateAlarms',
      'EvaluateAlarms',
      'RecordRelease',
      'ReleaseLock',
      'NotifySucceeded',
    ]);
    expect(run.log.callsTo('RollbackApp')).toEqual([]);
  });

  it('hands each task the slots the earlier ones filled', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput() });
    const { log } = run;
    const deployment = log.event('AcquireLock').deployment;
    const config = testConfig();

    expect(log.event('ValidateInput')).toMatchObject({ input: deployInput(), config, execution: { name: 'ci-release-1-5-0' } });
    expect(deployment).toMatchObject({ action: 'deploy', version: NEW_VERSION, image: NEW_IMAGE, bakeChecks: BAKE_CHECKS });
    expect(log.event('AcquireLock')).toMatchObject({ operation: 'acquire', config: { name: config.name, lock: config.lock } });
    expect(log.event('TakeSnapshot')).toEqual({ operation: 'take', config: { database: config.database }, deployment });
    expect(log.event('CheckSnapshot')).toMatchObject({ operation: 'check', source: { kind: 'rds-instance', status: 'available' }, snapshot: { status: 'creating' } });
    expect(log.event('RecordBackup')).toMatchObject({ operation: 'record-backup', snapshot: { status: 'available' } });
    expect(log.event('Deploy')).toEqual({ operation: 'deploy', config: { target: config.target }, deployment });
    expect(log.event('CheckDeployment')).toMatchObject({ operation: 'status', config: { target: config.target }, handle: { version: NEW_VERSION } });
    expect(log.event('StartMigrations')).toMatchObject({
      operation: 'start',
      config: { target: config.target, migrations: config.migrations },
      handle: { version: NEW_VERSION },
    });
    expect(log.event('CheckMigrations')).toMatchObject({ operation: 'status', migrations: { started: true, status: 'running' } });
    expect(log.event('SmokeTest')).toEqual({ phase: 'deploy', config: { smokeTests: config.smokeTests }, expectedVersion: NEW_VERSION });
    expect(log.callsTo('EvaluateAlarms').map((c) => (c.event as { bake: { checks: number } }).bake.checks)).toEqual([0, 1, 2]);
    expect(log.event('EvaluateAlarms')).toMatchObject({
      config: { alarms: config.alarms },
      baseline: { alarms: [{ name: 'shop-api-5xx-rate' }, { name: 'shop-api-p95-latency' }] },
    });
    expect(log.event('RecordRelease')).toMatchObject({
      operation: 'record-release',
      rollbackTo: RUNNING,
      migrations: { started: true, status: 'succeeded' },
      bake: { checks: BAKE_CHECKS, decision: 'healthy' },
      error: null,
    });
    expect(log.event('ReleaseLock')).toMatchObject({ operation: 'release', lease: { owner: deployment.id } });
    expect(log.event('NotifySucceeded')).toMatchObject({ event: 'succeeded', outcome: { result: 'succeeded' } });
    // Issue 13: the audiences hear of the deploy right after the lock, before anything is checked or changed.
    expect(log.event('NotifyStarted')).toEqual({
      event: 'started',
      config: { name: testConfig().name, notifications: testConfig().notifications },
      deployment,
    });
  });

  it('keeps polling while the snapshot is creating, and goes on once it is available', async () => {
    const run = await runScripted({
      config: testConfig(),
      input: deployInput(),
      tasks: { CheckSnapshot: sequence(defaultWith({ status: 'creating' }), defaultWith({ status: 'creating' }), defaultWith({ status: 'available' })) },
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.log.callsTo('CheckSnapshot')).toHaveLength(3);
    expect(run.states.slice(6, 11)).toEqual(['TakeSnapshot', 'CheckSnapshot', 'CheckSnapshot', 'CheckSnapshot', 'RecordBackup']);
  });

  it('keeps polling a rollout and a migration that take several checks', async () => {
    const run = await runScripted({
      config: testConfig(),
      input: deployInput(),
      tasks: {
        CheckDeployment: sequence(defaultWith({ status: 'in-progress' }), defaultWith({ status: 'in-progress' }), defaultWith({ status: 'completed' })),
        CheckMigrations: sequence(defaultWith({ status: 'running' }), defaultWith({ status: 'succeeded' })),
      },
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.log.callsTo('CheckDeployment')).toHaveLength(3);
    expect(run.log.callsTo('CheckMigrations')).toHaveLength(2);
  });

  it('checks once, without waiting, when StartMigrations reports the migrations already succeeded', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { StartMigrations: defaultWith({ status: 'succeeded' }) } });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.log.callsTo('CheckMigrations')).toHaveLength(1);
    expect(run.events.filter((event) => event.state === 'WaitForMigrations')).toEqual([]);
  });

  it('evaluates the alarms as many times as the bake duration allows', async () => {
    const run = await runScripted({ config: testConfig({ bake: { durationSeconds: 300, pollSeconds: 60 } }), input: deployInput() });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual(happyPath(5));
  });

  it.each([
    { name: 'neither database nor migrations', database: null, migrations: null, skipped: ['PreflightDataChecks', 'FingerprintData', 'TakeSnapshot', 'CheckSnapshot', 'RecordBackup', 'StartMigrations', 'CheckMigrations', 'AfterMigrationChecks'] },
    { name: 'a database without migrations', database: databaseWith({}), migrations: null, skipped: ['StartMigrations', 'CheckMigrations', 'AfterMigrationChecks'] },
    {
      name: 'hook migrations without a database',
      database: null,
      migrations: { kind: 'hook', functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:shop-migrate' },
      skipped: ['PreflightDataChecks', 'FingerprintData', 'TakeSnapshot', 'CheckSnapshot', 'RecordBackup', 'AfterMigrationChecks'],
    },
  ])('skips the states it does not need with $name', async ({ database, migrations, skipped }) => {
    const run = await runScripted({ config: testConfig({ database, migrations }), input: deployInput() });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual(happyPath().filter((state) => !skipped.includes(state)));
    expect(run.log.event('RecordRelease')).toMatchObject({ snapshot: database ? { status: 'available' } : null, migrations: { started: migrations !== null } });
  });
});
