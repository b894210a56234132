import { describe, expect, it } from 'vitest';
import { requestSchemaFor } from '../../../config/deployment-input';
import { DEFAULT_SCENARIO, SCENARIOS, scenarioNamed, UnknownScenarioError, withAnswer } from '../../../local/rehearsal/scenarios';

describe('scenarios', () => {
  it('offers the healthy release first, then each way a deployment goes wrong', () => {
    expect(DEFAULT_SCENARIO).toBe('healthy');
    expect(SCENARIOS.map((s) => [s.name, s.expected])).toEqual([
      ['healthy', 'succeeded'],
      ['smoke-failure', 'rolled-back'],
      ['alarm', 'rolled-back'],
      ['migration-failure', 'rolled-back'],
      ['backfill-incomplete', 'rolled-back'],
      ['latency-regression', 'rolled-back'],
      ['log-errors', 'rolled-back'],
      ['hosts', 'rolled-back'],
      ['drill', 'succeeded'],
      ['drill-writes-during-backup', 'failed'],
      ['rollback-failure', 'failed'],
    ]);
  });

  it('sends inputs the state machine accepts', () => {
    for (const scenario of SCENARIOS) expect(requestSchemaFor(scenario.input).safeParse(scenario.input).success, scenario.name).toBe(true);
    expect(SCENARIOS.filter((s) => s.input.action === 'drill').map((s) => s.name)).toEqual(['drill', 'drill-writes-during-backup']);
  });

  it("limits the faults of the rolled-back scenarios to the new version, so the rollback brings a healthy one back", () => {
    for (const scenario of SCENARIOS.filter((s) => s.expected === 'rolled-back' && s.env.DEMO_FAULT)) {
      expect(scenario.env.DEMO_FAULT_VERSION).toBe(scenario.input.version);
    }
  });

  it('arms the rollback failure only once the previous release runs: it hits every version started later', () => {
    const scenario = scenarioNamed('rollback-failure');

    expect(scenario.env).toEqual({});
    expect(scenario.envAfterSetup).toEqual({ DEMO_FAULT: 'smoke' });
  });

  it('deploys a migration that exits 0 with NULLs left in the backfill-incomplete scenario, which the after-migrations SQL check names', async () => {
    const scenario = scenarioNamed('backfill-incomplete');
    const { readFile } = await import('node:fs/promises');
    const migration = await readFile(new URL(`../../../examples/demo-app/migrations/${scenario.input.version}.sql`, import.meta.url), 'utf8');
    expect(migration).toContain('ADD COLUMN sku');
    const rehearsal = (await import('../../../examples/rehearsal/runbook.json')).default as { checks: { sql: { name: string; when: string[] }[] } };
    expect(rehearsal.checks.sql.find((check) => check.name === scenario.failsDataGate)?.when).toEqual(['after-migrations']);
  });

  it('deploys v3-broken in the migration-failure scenario: the migration that destroys data, then fails', () => {
    expect(scenarioNamed('migration-failure').input.version).toBe('v3-broken');
  });

  it('expects the latency regression and the logged errors to be rolled back by an analysis metric, not an alarm', () => {
    expect(scenarioNamed('latency-regression')).toMatchObject({ env: { DEMO_FAULT: 'slow-factor:3', DEMO_FAULT_VERSION: 'v2' }, rolledBackBy: { provider: 'prometheus', relativeToBaseline: true } });
    expect(scenarioNamed('log-errors')).toMatchObject({ env: { DEMO_FAULT: 'log-errors', DEMO_FAULT_VERSION: 'v2' }, rolledBackBy: { provider: 'log-file', relativeToBaseline: false } });
    expect(SCENARIOS.filter((s) => s.rolledBackBy).map((s) => s.name)).toEqual(['latency-regression', 'log-errors']);
  });

  it('spreads the hosts scenario over three hosts, the fault on the second only, the third to stay untouched', () => {
    expect(scenarioNamed('hosts')).toMatchObject({ env: { DEMO_FAULT: 'crash', DEMO_FAULT_VERSION: 'v2', DEMO_FAULT_HOST: 'host-2' }, hosts: { count: 3, untouched: ['host-3'] } });
  });

  it('asks the person --rollback-approval plays only in scenarios whose release fails once it runs everywhere, and expects a kept one to fail', () => {
    const keep = { rollbackApproval: { required: true, timeoutMinutes: 30, onTimeout: 'keep' as const } };
    const rollback = { rollbackApproval: { required: true, timeoutMinutes: 30, onTimeout: 'rollback' as const } };

    expect(SCENARIOS.filter((s) => s.asksRollbackApproval).map((s) => s.name)).toEqual(['smoke-failure', 'alarm', 'backfill-incomplete', 'latency-regression', 'log-errors']);
    expect(withAnswer(scenarioNamed('smoke-failure'), 'reject', rollback)).toMatchObject({ expected: 'failed', rollbackDecision: 'keep' });
    expect(withAnswer(scenarioNamed('smoke-failure'), 'approve', keep)).toMatchObject({ expected: 'rolled-back', rollbackDecision: 'rollback' });
    expect(withAnswer(scenarioNamed('alarm'), 'timeout', keep)).toMatchObject({ expected: 'failed', rollbackDecision: 'keep' });
    expect(withAnswer(scenarioNamed('alarm'), 'timeout', rollback)).toMatchObject({ expected: 'rolled-back', rollbackDecision: 'rollback' });
    // A failed rollout is rolled back without asking.
    expect(withAnswer(scenarioNamed('hosts'), 'reject', rollback)).toBe(scenarioNamed('hosts'));
    expect(withAnswer(scenarioNamed('smoke-failure'), undefined, rollback)).toBe(scenarioNamed('smoke-failure'));
  });

  it('fails when the scenario does not exist, listing the valid ones', () => {
    expect(() => scenarioNamed('chaos')).toThrow(UnknownScenarioError);
    expect(() => scenarioNamed('chaos')).toThrow('scenario: there is no scenario "chaos"; the scenarios are healthy, smoke-failure, alarm, migration-failure, backfill-incomplete, latency-regression, log-errors, hosts, drill, drill-writes-during-backup, rollback-failure');
  });
});
