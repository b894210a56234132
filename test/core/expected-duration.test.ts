import { describe, expect, it } from 'vitest';
import { DURATION_SAMPLES, describeExpectedDuration, expectedDuration, spokenDuration } from '../../core/expected-duration';

describe('expectedDuration', () => {
  it.each<[string, (number | null | undefined)[], number | null, number, [number, number] | null]>([
    ['no history', [], null, 0, null],
    ['only deploys without a duration (rolled back)', [null, undefined], null, 0, null],
    ['one successful deployment', [840], 840, 1, [840, 840]],
    ['an odd count: the middle one', [600, 1200, 900], 900, 3, [600, 1200]],
    ['an even count: between the two middle ones', [600, 700, 900, 2000], 800, 4, [600, 2000]],
    ['one run stuck on a long approval moves it little', [600, 620, 610, 7200, 630], 620, 5, [600, 7200]],
    ['skips what is not a duration', [600, null, Number.NaN, -5, 900], 750, 2, [600, 900]],
    ['rounds to a second', [601, 602], 602, 2, [601, 602]],
  ])('%s', (_, past, seconds, samples, range) => {
    expect(expectedDuration(past)).toEqual({ seconds, samples, range });
  });

  it(`looks at the newest ${DURATION_SAMPLES} only`, () => {
    const newest = Array.from({ length: DURATION_SAMPLES }, () => 300);
    expect(expectedDuration([...newest, 9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000])).toEqual({ seconds: 300, samples: DURATION_SAMPLES, range: [300, 300] });
    expect(expectedDuration([100, 200, 300, 400], 2)).toEqual({ seconds: 150, samples: 2, range: [100, 200] });
  });
});

describe('describeExpectedDuration', () => {
  it.each<[(number | null)[], string]>([
    [[], 'unknown (no successful deployment recorded yet)'],
    [[840], 'about 14 min (one successful deployment recorded)'],
    [[600, 900, 720], 'about 12 min (median of the last 3 successful deployments: 10 min to 15 min)'],
    [[40, 50], 'about 45 s (median of the last 2 successful deployments: 40 s to 50 s)'],
    [[7200, 8100, 7500], 'about 2 h 05 min (median of the last 3 successful deployments: 2 h 00 min to 2 h 15 min)'],
  ])('words %j as %j', (past, words) => {
    expect(describeExpectedDuration(expectedDuration(past), 'deployment')).toBe(words);
  });

  it.each([
    [0, '0 s'],
    [59, '59 s'],
    [60, '1 min'],
    [89, '1 min'],
    [90, '2 min'],
    [3599, '1 h 00 min'],
    [3600, '1 h 00 min'],
    [3660, '1 h 01 min'],
  ])('says %d seconds as %j', (seconds, words) => {
    expect(spokenDuration(seconds)).toBe(words);
  });
});
