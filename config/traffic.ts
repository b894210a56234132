/**
 * Traffic shifting of a `lambda-alias` target: the steps the alias's weight goes through, from CodeDeploy's
 * preset names or an explicit list. No zod here: the deploy-target function reads it without the schema.
 */

/** One step as the configuration writes it: this share of the traffic on the new version, for `minutes` (the last: 100, no minutes). */
export interface TrafficStepConfig {
  readonly percent: number;
  readonly minutes?: number;
}

/** A step as the runbook runs it: the new version's share, and how long it is baked; null for the last (the configured bake). */
export interface TrafficStep {
  readonly percent: number;
  readonly seconds: number | null;
}

const CANARY = /^(?:Lambda)?Canary(\d{1,2})Percent(\d{1,4})Minutes?$/;
const LINEAR = /^(?:Lambda)?Linear(\d{1,2})PercentEvery(\d{1,4})Minutes?$/;
const ALL_AT_ONCE = /^(?:Lambda)?AllAtOnce$/;

/** The preset names, as the schema's message lists them. */
export const TRAFFIC_PRESET_FORMS = 'AllAtOnce, Canary<P>Percent<M>Minutes (e.g. Canary10Percent5Minutes) or Linear<P>PercentEvery<M>Minute(s) (e.g. Linear10PercentEvery1Minute)';

/** A CodeDeploy-shaped preset as explicit steps; null when the name is not one. */
export function presetSteps(name: string): TrafficStepConfig[] | null {
  if (ALL_AT_ONCE.test(name)) return [{ percent: 100 }];
  const canary = CANARY.exec(name);
  if (canary) {
    const [percent, minutes] = [Number(canary[1]), Number(canary[2])];
    return percent > 0 && minutes > 0 ? [{ percent, minutes }, { percent: 100 }] : null;
  }
  const linear = LINEAR.exec(name);
  if (linear) {
    const [increment, minutes] = [Number(linear[1]), Number(linear[2])];
    if (increment <= 0 || minutes <= 0) return null;
    const steps: TrafficStepConfig[] = [];
    for (let percent = increment; percent < 100; percent += increment) steps.push({ percent, minutes });
    return [...steps, { percent: 100 }];
  }
  return null;
}

/** The steps a configured `traffic` runs (a preset name or `{steps}`); [] for a name that is no preset (the schema refuses it). */
export function trafficSteps(traffic: string | { readonly steps: readonly TrafficStepConfig[] }): TrafficStep[] {
  const steps = typeof traffic === 'string' ? (presetSteps(traffic) ?? []) : traffic.steps;
  return steps.map((step, index) => ({ percent: step.percent, seconds: index === steps.length - 1 ? null : (step.minutes ?? 0) * 60 }));
}

/** Why a list of steps cannot run, each problem with the index of the step it names; empty when it can. */
export function trafficStepProblems(steps: readonly TrafficStepConfig[]): { index: number; field: 'percent' | 'minutes'; message: string }[] {
  const problems: { index: number; field: 'percent' | 'minutes'; message: string }[] = [];
  steps.forEach((step, index) => {
    const last = index === steps.length - 1;
    if (index > 0 && step.percent <= steps[index - 1].percent) {
      problems.push({ index, field: 'percent', message: `must be more than the step before (${steps[index - 1].percent}): traffic only moves toward the new version (got ${step.percent})` });
    }
    if (last && step.percent !== 100) {
      problems.push({ index, field: 'percent', message: `the last step must be 100: a release ends with all traffic on the new version (got ${step.percent})` });
    }
    if (last && step.minutes !== undefined) {
      problems.push({ index, field: 'minutes', message: `the last step (100 %) lasts as long as the bake (bake.durationSeconds): leave minutes out (got ${step.minutes})` });
    }
    if (!last && step.minutes === undefined) {
      problems.push({ index, field: 'minutes', message: 'a step before the last needs minutes: how long it is baked at this weight (got nothing)' });
    }
  });
  return problems;
}

/** The plan written into the definition at synth (`$.traffic` before the first ShiftTraffic); null for a target without steps. */
export function trafficPlan(target: { readonly kind: string; readonly traffic?: string | { readonly steps: readonly TrafficStepConfig[] } }) {
  if (target.kind !== 'lambda-alias' || target.traffic === undefined) return null;
  const steps = trafficSteps(target.traffic);
  return { steps, given: 0, total: steps.length, percent: 0, bakeChecks: 1, history: [] as never[] };
}
