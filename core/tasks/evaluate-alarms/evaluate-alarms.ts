import * as z from 'zod/mini';
import type { RunbookConfig } from '../../../config/schema';
import { watchedAlarms } from '../../../config/watched-alarms';
import type { AlarmSource } from '../../ports/alarm-source';
import type { Clock } from '../../ports/clock';
import { Baseline, BakeState, judged } from '../../model';

/** EvaluateAlarms' Parameters: the bake so far and the alarm states taken before the deploy. */
export const EvaluateAlarmsEvent = z.object({
  config: judged<Pick<RunbookConfig, 'alarms'>>(),
  baseline: Baseline,
  bake: BakeState,
});
export type EvaluateAlarmsEvent = z.output<typeof EvaluateAlarmsEvent>;

/** Ports the evaluation needs. */
export interface EvaluateAlarmsDeps {
  readonly alarms: AlarmSource;
  readonly clock: Clock;
}

/**
 * One alarm evaluation of the bake. Only an alarm that fires now and did not fire at the baseline
 * counts against the release: one already firing before the deploy is reported, not blamed on it.
 * An alarm missing from the baseline counts as not firing there.
 */
export async function evaluateAlarms(event: EvaluateAlarmsEvent, deps: EvaluateAlarmsDeps): Promise<BakeState> {
  const now = deps.clock.now().toISOString();
  const names = watchedAlarms(event.config.alarms);
  const states = names.length === 0 ? [] : await deps.alarms.states(names);
  const firedAtBaseline = new Set(event.baseline.alarms.filter((alarm) => alarm.state === 'ALARM').map((alarm) => alarm.name));
  const firing = states.filter((alarm) => alarm.state === 'ALARM');
  const newlyFiring = firing.filter((alarm) => !firedAtBaseline.has(alarm.name)).map((alarm) => alarm.name);
  return {
    checks: event.bake.checks + 1,
    startedAt: event.bake.startedAt ?? now,
    decision: newlyFiring.length > 0 ? 'regressed' : 'healthy',
    firing,
    newlyFiring,
    firingAtBaseline: firing.filter((alarm) => firedAtBaseline.has(alarm.name)).map((alarm) => alarm.name),
    lastCheckedAt: now,
  };
}
