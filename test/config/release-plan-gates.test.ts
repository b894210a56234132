import { describe, expect, it } from 'vitest';
import { MAX_GATE_CHECKS } from '../../config/deployment-input';
import { parseReleasePlan, ReleasePlanError } from '../../config/release-plan';

/** A one-stage plan whose stage has these gates. */
const planWith = (...gates: unknown[]) => ({ name: 'shop', stages: [{ name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates }] });

function problemsOf(raw: unknown): string[] {
  try {
    parseReleasePlan(raw);
  } catch (error) {
    if (error instanceof ReleasePlanError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the plan to be refused');
}

describe('release plan gates of kind analysis', () => {
  it('accepts an analysis gate without metrics (every deciding one) and one naming metrics, beside the other kinds', () => {
    const plan = parseReleasePlan(planWith({ kind: 'analysis' }, { kind: 'soak', minutes: 10 }, { kind: 'analysis', metrics: ['p95', 'error_rate'] }));
    expect(plan.stages[0].gates).toEqual([{ kind: 'analysis' }, { kind: 'soak', minutes: 10 }, { kind: 'analysis', metrics: ['p95', 'error_rate'] }]);
  });

  it.each([
    ['an empty metric list', { kind: 'analysis', metrics: [] }, 'stages[0].gates[0].metrics: Too small: expected array to have >=1 items (got [])'],
    ['a metric name that is no metric name', { kind: 'analysis', metrics: ['p95 latency'] }, 'stages[0].gates[0].metrics[0]: must be a letter followed by up to 63 letters, digits, _ or - (got "p95 latency")'],
    ['too many metrics', { kind: 'analysis', metrics: Array.from({ length: MAX_GATE_CHECKS + 1 }, (_, i) => `m${i}`) }, 'stages[0].gates[0].metrics: Too big'],
    ['a field it does not have', { kind: 'analysis', threshold: 0.5 }, 'stages[0].gates[0].threshold: unknown field (got 0.5)'],
    ['metrics as a string', { kind: 'analysis', metrics: 'p95' }, 'stages[0].gates[0].metrics: Invalid input: expected array, received string (got "p95")'],
  ])('refuses %s, naming the field and the value', (_case, gate, line) => {
    expect(problemsOf(planWith(gate)).join('\n')).toContain(line);
  });
});
