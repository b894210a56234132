import { describe, expect, it } from 'vitest';
import { deploymentMetrics, METRIC, phaseDurations } from '../../../../core/tasks/ledger/deployment-metrics';
import { recordAbort, recordRelease } from '../../../../core/tasks/ledger/record-outcome';
import { LedgerSlots } from '../../../../core/tasks/ledger/slots';
import { deploymentFor, emptySlots, execution, fixedClock, RecordingMetrics, releasedSlots, restored, smokeReport, tempFileStore } from './fixtures';

const FINISHED = new Date('2025-03-04T10:43:00.000Z');

describe('deploymentMetrics', () => {
  it('measures each phase of a release from the times the tasks recorded (execution started 10:00:00)', () => {
    expect(phaseDurations(releasedSlots(), FINISHED)).toEqual({
      Preflight: 10_000, // 10:00:00 → snapshot started 10:00:10
      Backup: 390_000, // snapshot 10:00:10 → 10:06:40
      Deploy: 120_000, // release 10:07:00 → migrations started 10:09:00
      Migrations: 90_000, // 10:09:00 → 10:10:30
      SmokeTests: 1_830,
      Bake: 1_800_000, // 10:12:00 → last check 10:42:00
    });
  });

  it('counts the outcome, measures the whole execution, and counts a rollback with what triggered it', () => {
    const rolledBack = { ...releasedSlots(), rollback: { kind: 'ecs' as const, ref: 'td:41', version: 'v1.4.1', image: null, deploymentId: null, startedAt: '2025-03-04T10:15:00.000Z' }, restore: restored, verify: smokeReport('rollback') };
    const points = deploymentMetrics(rolledBack, 'rolled-back', FINISHED);
    expect(points.filter((p) => p.name !== METRIC.phaseDuration)).toEqual([
      { name: METRIC.deployments, unit: 'Count', value: 1, dimensions: { Outcome: 'rolled-back' } },
      { name: METRIC.duration, unit: 'Milliseconds', value: 2_580_000, dimensions: { Outcome: 'rolled-back' } },
      { name: METRIC.rollbacks, unit: 'Count', value: 1, dimensions: { Trigger: 'deploy' } },
    ]);
    expect(points.filter((p) => p.name === METRIC.phaseDuration).map((p) => p.dimensions.Phase)).toEqual(expect.arrayContaining(['Rollback', 'VerifyRollback']));
    const alarm = { ...rolledBack, deployment: deploymentFor(execution, { action: 'rollback', version: null, image: null }) };
    expect(deploymentMetrics(alarm, 'rolled-back', FINISHED).find((p) => p.name === METRIC.rollbacks)?.dimensions).toEqual({ Trigger: 'alarm' });
    const trigger = { releaseId: 'deploy-v1-4-2-64a8320c', checkpoint: 3, at: FINISHED.toISOString(), metrics: ['p95'], reason: 'Metric p95: too slow' };
    const watch = { ...alarm, deployment: { ...alarm.deployment, watch: trigger } };
    expect(deploymentMetrics(watch, 'rolled-back', FINISHED).find((p) => p.name === METRIC.rollbacks)?.dimensions).toEqual({ Trigger: 'watch' });
  });

  it('leaves out the phases an aborted execution never reached, and counts no rollback', () => {
    const points = deploymentMetrics(LedgerSlots.parse(emptySlots()), 'aborted', FINISHED);
    expect(points.map((p) => p.name)).toEqual([METRIC.deployments, METRIC.duration]);
  });
});

describe('the ledger records the metrics of each ending', () => {
  it('records a release once its record is written, and an abort with its outcome', async () => {
    const { store, remove } = await tempFileStore('deploy-runbook-metrics-');
    try {
      const metrics = new RecordingMetrics();
      const deps = { store, clock: fixedClock(FINISHED.toISOString()), metrics };
      await recordRelease(releasedSlots(), deps);
      expect(metrics.points.filter((p) => p.name === METRIC.deployments)).toEqual([{ name: METRIC.deployments, unit: 'Count', value: 1, dimensions: { Outcome: 'succeeded' } }]);
      await recordAbort(LedgerSlots.parse({ ...emptySlots(), error: { Error: 'PreflightFailedError', Cause: null } }), deps);
      expect(metrics.points.filter((p) => p.name === METRIC.deployments).map((p) => p.dimensions.Outcome)).toEqual(['succeeded', 'aborted']);
    } finally {
      await remove();
    }
  });
});
