import { describe, expect, it } from 'vitest';
import { longestPath } from '../../config/budgets';
import { parseConfig } from '../../config/load';
import { presetSteps, trafficPlan, trafficSteps } from '../../config/traffic';
import { type Draft, minimalDraft, problemsOf } from './fixtures';

function lambdaDraft(target: Record<string, unknown> = {}): Draft {
  return { ...minimalDraft(), target: { kind: 'lambda-alias', functionName: 'shop-fn', alias: 'live', codeBucket: 'shop-artifacts', ...target } };
}

describe('target.traffic of a lambda-alias target', () => {
  it('reads the CodeDeploy presets as steps', () => {
    expect(presetSteps('Canary10Percent5Minutes')).toEqual([{ percent: 10, minutes: 5 }, { percent: 100 }]);
    expect(presetSteps('LambdaCanary10Percent30Minutes')).toEqual([{ percent: 10, minutes: 30 }, { percent: 100 }]);
    expect(presetSteps('Linear10PercentEvery1Minute')).toEqual([
      ...[10, 20, 30, 40, 50, 60, 70, 80, 90].map((percent) => ({ percent, minutes: 1 })),
      { percent: 100 },
    ]);
    expect(presetSteps('Linear25PercentEvery10Minutes')).toEqual([25, 50, 75].map((percent) => ({ percent, minutes: 10 })).concat([{ percent: 100 } as never]));
    expect(presetSteps('AllAtOnce')).toEqual([{ percent: 100 }]);
    expect(presetSteps('Canary0Percent5Minutes')).toBeNull();
    expect(presetSteps('Blue')).toBeNull();
  });

  it('runs a step for its minutes and leaves the last to the bake', () => {
    expect(trafficSteps('Canary10Percent5Minutes')).toEqual([{ percent: 10, seconds: 300 }, { percent: 100, seconds: null }]);
    expect(trafficSteps({ steps: [{ percent: 5, minutes: 0.5 }, { percent: 100 }] })).toEqual([{ percent: 5, seconds: 30 }, { percent: 100, seconds: null }]);
    expect(trafficPlan({ kind: 'ecs' })).toBeNull();
  });

  it('defaults to AllAtOnce and accepts a preset or explicit steps', () => {
    expect(parseConfig(lambdaDraft()).target).toMatchObject({ kind: 'lambda-alias', traffic: 'AllAtOnce' });
    expect(parseConfig(lambdaDraft({ traffic: 'Linear10PercentEvery1Minute' })).target).toMatchObject({ traffic: 'Linear10PercentEvery1Minute' });
    expect(parseConfig(lambdaDraft({ traffic: { steps: [{ percent: 10, minutes: 5 }, { percent: 100 }] } })).target).toMatchObject({
      traffic: { steps: [{ percent: 10, minutes: 5 }, { percent: 100 }] },
    });
  });

  it('fails when a weight is outside 0–100, naming the step', () => {
    const problems = problemsOf(lambdaDraft({ traffic: { steps: [{ percent: 0, minutes: 5 }, { percent: 120 }] } }));
    expect(problems.some((p) => p.startsWith('target.traffic.steps[0].percent') && p.includes('more than 0'))).toBe(true);
    expect(problems.some((p) => p.startsWith('target.traffic.steps[1].percent') && p.includes('at most 100'))).toBe(true);
  });

  it('fails when the steps do not end at 100, go backwards or lack minutes', () => {
    expect(problemsOf(lambdaDraft({ traffic: { steps: [{ percent: 10, minutes: 5 }, { percent: 50 }] } })).join('\n')).toContain(
      'target.traffic.steps[1].percent: the last step must be 100: a release ends with all traffic on the new version (got 50)',
    );
    const problems = problemsOf(lambdaDraft({ traffic: { steps: [{ percent: 50, minutes: 5 }, { percent: 20 }, { percent: 100, minutes: 3 }] } })).join('\n');
    expect(problems).toContain('target.traffic.steps[1].percent: must be more than the step before (50): traffic only moves toward the new version (got 20)');
    expect(problems).toContain('target.traffic.steps[1].minutes: a step before the last needs minutes');
    expect(problems).toContain('target.traffic.steps[2].minutes: the last step (100 %) lasts as long as the bake (bake.durationSeconds): leave minutes out (got 3)');
  });

  it('fails on a name that is no preset', () => {
    expect(problemsOf(lambdaDraft({ traffic: 'Canary10PercentForever' })).join('\n')).toMatch(/^target\.traffic: .*Canary10Percent5Minutes/m);
  });

  it('fails without codeBucket or imageRepository, and with both', () => {
    expect(problemsOf(lambdaDraft({ codeBucket: undefined })).join('\n')).toContain('target.codeBucket: a lambda-alias target needs codeBucket');
    expect(problemsOf(lambdaDraft({ imageRepository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-fn' })).join('\n')).toContain(
      'target.imageRepository: give codeBucket or imageRepository, not both',
    );
  });

  it('counts the steps before the last in the longest path', () => {
    const config = parseConfig(lambdaDraft({ traffic: 'Canary10Percent5Minutes' }));
    expect(longestPath(config).find((loop) => loop.label.startsWith('target.traffic'))).toEqual({
      label: 'target.traffic 1 step(s) before 100 %, 5 × bake.pollSeconds 60 s',
      seconds: 300,
      events: 45,
    });
  });
});
