import { DataFingerprint } from '../../core/data-fingerprint';
import { DataCheckReport } from '../../core/tasks/data-checks/data-checks';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { DeploymentInProgressError, PreflightFailedError } from '../../core/errors';
import {
  Approval,
  BackupRecord,
  BakeState,
  DeployHandle,
  Deployment,
  DeployStatus,
  Lease,
  MigrationsState,
  Outcome,
  Preflight,
  RestoreState,
  SmokeReport,
  SnapshotRef,
  TrafficState,
  WatchResult,
  WatchStatus,
  WindowDecision,
} from '../../core/model';
import { loadDefinition } from '../../statemachines/definition';
import {
  alarmInput,
  analyzeInput,
  askingConfig,
  databaseWith,
  DEFAULT_STATES,
  defaultResult,
  defaultWith,
  deployInput,
  drillConfig,
  drillInput,
  failure,
  lambdaAliasConfig,
  lambdaInput,
  runScripted,
  sequence,
  testConfig,
  watchConfig,
  watchInput,
} from './harness';

/** The model schema of the slot each state's result lands in; the others' results are discarded (ResultPath null). */
const RESULT_SCHEMAS: Record<string, z.ZodMiniType> = {
  ValidateInput: Deployment,
  AcquireLock: Lease,
  Preflight,
  PreflightDataChecks: DataCheckReport,
  FingerprintData: z.nullable(DataFingerprint),
  AfterMigrationChecks: DataCheckReport,
  GateChecks: DataCheckReport,
  VerifyRestoredData: DataCheckReport,
  AdvanceDrill: RestoreState,
  VerifyDrillCopy: DataCheckReport,
  DiscardDrillCopy: RestoreState,
  RecordDrill: Outcome,
  TakeSnapshot: SnapshotRef,
  CheckSnapshot: SnapshotRef,
  RecordBackup: BackupRecord,
  Deploy: DeployHandle,
  CheckDeployment: DeployStatus,
  StartMigrations: MigrationsState,
  CheckMigrations: MigrationsState,
  SmokeTest: SmokeReport,
  ShiftTraffic: TrafficState,
  SmokeTestStep: SmokeReport,
  EvaluateStepAlarms: BakeState,
  EvaluateAlarms: BakeState,
  RecordRelease: Outcome,
  RecordAbort: Outcome,
  RecordRollback: Outcome,
  RecordRollbackFailure: Outcome,
  CheckRollbackWindow: WindowDecision,
  RollbackApp: DeployHandle,
  CheckRollback: DeployStatus,
  AwaitRestoreApproval: Approval,
  AwaitRollbackApproval: Approval,
  RecordKept: Outcome,
  AdvanceRestore: RestoreState,
  VerifyRollback: SmokeReport,
  CheckWatch: WatchStatus,
  MeasureWatchCheckpoint: WatchResult,
  CheckAnalysis: WatchStatus,
  MeasureAnalysis: WatchResult,
};

const TASKS = Object.entries(loadDefinition().States as Record<string, { Type: string; ResultPath?: string | null }>).filter(([, s]) => s.Type === 'Task');

describe('the scripted harness', () => {
  it('has a default result for every Task state, and a schema for every one whose result is kept', () => {
    expect([...DEFAULT_STATES].sort()).toEqual(TASKS.map(([name]) => name).sort());
    expect(TASKS.filter(([, s]) => s.ResultPath !== null).map(([name]) => name).sort()).toEqual(Object.keys(RESULT_SCHEMAS).sort());
  });

  it('produces default results that satisfy the model, on every path', async () => {
    const approval = testConfig({ database: databaseWith({ restoreApproval: { required: true } }) });
    const runs = await Promise.all([
      runScripted({ config: testConfig(), input: deployInput() }),
      runScripted({ config: testConfig(), input: deployInput(), tasks: { SmokeTest: defaultWith({ passed: false, summary: 'health failed' }) } }),
      runScripted({ config: testConfig(), input: deployInput(), tasks: { RollbackApp: failure('Error', 'x'), CheckDeployment: failure('Error', 'y') } }),
      runScripted({ config: testConfig(), input: deployInput(), tasks: { Preflight: new PreflightFailedError('not stable') } }),
      runScripted({ config: testConfig(), input: alarmInput() }),
      runScripted({ config: testConfig(), input: alarmInput(), tasks: { CheckRollbackWindow: defaultWith({ decision: 'no-release', patch: null }) } }),
      runScripted({ config: approval, input: deployInput(), tasks: { CheckMigrations: failure('MigrationFailedError', 'exit 1') } }),
      runScripted({ config: watchConfig(), input: watchInput() }),
      runScripted({ config: lambdaAliasConfig(), input: lambdaInput() }),
      runScripted({ config: drillConfig(), input: deployInput() }),
      runScripted({ config: drillConfig(), input: drillInput() }),
      runScripted({ config: drillConfig(), input: drillInput(), tasks: { Preflight: new PreflightFailedError('database unreachable') } }),
      runScripted({ config: drillConfig(), input: drillInput(), tasks: { AcquireLock: new DeploymentInProgressError('shop-api is locked') } }),
      runScripted({ config: askingConfig(), input: deployInput(), tasks: { SmokeTest: defaultWith({ passed: false, summary: 'health failed' }) } }),
      runScripted({ config: askingConfig(), input: deployInput(), tasks: { SmokeTest: defaultWith({ passed: false, summary: 'health failed' }), AwaitRollbackApproval: { approved: false, by: 'lead', comment: null } } }),
      runScripted({ config: testConfig({ checks: { sql: [{ name: 'backfill complete', sql: 'SELECT 0', expect: { equals: 0 }, when: ['after-migrations'] }] } }), input: { action: 'check', checks: ['backfill complete'] } }),
      runScripted({ config: watchConfig(), input: analyzeInput() }),
    ]);

    const calls = runs.flatMap((run) => run.log.calls);
    expect(new Set(calls.map((c) => c.state))).toEqual(new Set(DEFAULT_STATES));
    for (const call of calls) {
      const schema = RESULT_SCHEMAS[call.state];
      if (schema) expect(schema.safeParse(defaultResult(call)).error, call.state).toBeUndefined();
    }
  });

  it('records every attempt in order, failed ones included, and replays a sequence with its last step repeating', async () => {
    const run = await runScripted({
      config: testConfig(),
      input: deployInput(),
      tasks: { CheckDeployment: sequence(failure('Lambda.ServiceException', 'busy'), defaultWith({ status: 'in-progress' }), defaultWith({ status: 'completed' })) },
    });

    expect(run.states.filter((s) => s === 'CheckDeployment')).toHaveLength(3);
    expect(run.events.filter((e) => e.type === 'retried').map((e) => e.state)).toEqual(['CheckDeployment']);
  });

  it('fails when a state has no default: the harness names it', () => {
    expect(() => defaultResult({ state: 'Unknown', folder: 'ledger', event: {} })).toThrow('harness has no default result for state Unknown');
  });
});
