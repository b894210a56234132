import type { LedgerSlots } from './slots';
import type { Outcome } from '../../model';
import type { MetricPoint } from '../../ports/metrics';

/** The CloudWatch namespace of the runbook's metrics; the stack's dashboard reads the same names. */
export const METRICS_NAMESPACE = 'DeployRunbook';

/** Metric and dimension names, shared by the ledger (which records) and the dashboard (which shows). */
export const METRIC = {
  /** One per execution that ended through the ledger, with the `Outcome` dimension. */
  deployments: 'Deployments',
  /** From the execution's start to its record, with the `Outcome` dimension. */
  duration: 'DeploymentDuration',
  /** Each phase the execution went through, with the `Phase` dimension. */
  phaseDuration: 'PhaseDuration',
  /** One per rollback, with the `Trigger` dimension: `deploy` (a failed deploy) or `alarm`. */
  rollbacks: 'Rollbacks',
} as const;

export const OUTCOMES: readonly Outcome['result'][] = ['succeeded', 'rolled-back', 'aborted', 'rollback-failed', 'kept'];

/** The phases measured, in the order they run. */
export const PHASES = ['Preflight', 'Backup', 'Deploy', 'Migrations', 'SmokeTests', 'Bake', 'Rollback', 'Restore', 'VerifyRollback'] as const;
type Phase = (typeof PHASES)[number];

function span(start: string | null | undefined, end: string | null | undefined): number | null {
  if (!start || !end) return null;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

/** How long each phase took, from the times the tasks recorded in the state; phases not run are absent. */
export function phaseDurations(slots: LedgerSlots, now: Date): Partial<Record<Phase, number>> {
  const { execution, snapshot, release, migrations, smoke, bake, rollback, restore, verify } = slots;
  const end = now.toISOString();
  const afterDeploy = migrations?.startedAt ?? smoke?.startedAt ?? rollback?.startedAt ?? end;
  const phases: Partial<Record<Phase, number | null>> = {
    Preflight: span(execution.startedAt, snapshot?.startedAt ?? release?.startedAt ?? rollback?.startedAt),
    Backup: span(snapshot?.startedAt, snapshot?.completedAt),
    Deploy: span(release?.startedAt, afterDeploy),
    Migrations: span(migrations?.startedAt, migrations?.finishedAt),
    SmokeTests: smoke?.durationMs ?? null,
    Bake: span(bake?.startedAt, bake?.lastCheckedAt),
    Rollback: span(rollback?.startedAt, restore?.startedAt ?? verify?.startedAt),
    Restore: span(restore?.startedAt, restore?.finishedAt),
    VerifyRollback: verify?.durationMs ?? null,
  };
  return Object.fromEntries(Object.entries(phases).filter(([, ms]) => ms !== null && ms !== undefined)) as Partial<Record<Phase, number>>;
}

/** What the ledger records when an execution ends: its outcome, its duration, each phase's, and a rollback. */
export function deploymentMetrics(slots: LedgerSlots, result: Outcome['result'], now: Date): MetricPoint[] {
  const total = span(slots.execution.startedAt, now.toISOString());
  const points: MetricPoint[] = [{ name: METRIC.deployments, unit: 'Count', value: 1, dimensions: { Outcome: result } }];
  if (total !== null) points.push({ name: METRIC.duration, unit: 'Milliseconds', value: total, dimensions: { Outcome: result } });
  for (const [phase, ms] of Object.entries(phaseDurations(slots, now))) {
    points.push({ name: METRIC.phaseDuration, unit: 'Milliseconds', value: ms, dimensions: { Phase: phase } });
  }
  if (result === 'rolled-back') {
    points.push({ name: METRIC.rollbacks, unit: 'Count', value: 1, dimensions: { Trigger: rollbackTrigger(slots.deployment) } });
  }
  return points;
}

/** What started a rollback: a failed deploy, an alarm (or a person) after the release, or a failed watch checkpoint. */
function rollbackTrigger(deployment: LedgerSlots['deployment']): 'deploy' | 'alarm' | 'watch' {
  if (deployment.action !== 'rollback') return 'deploy';
  return deployment.watch ? 'watch' : 'alarm';
}
