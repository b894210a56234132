import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnalysisSyntaxError, apsWorkspaceOf, boundOf, canSucceed, checkpointChecks, holds, parseCondition, parseSchedule } from '../../config/analysis';

const CONDITION_SHAPE = /must be "result <op> <number>" or "result <op> baseline \[\* \| \+ \| - <number>\]"/;

describe('parseCondition', () => {
  it.each([
    ['result < 1', '<', { kind: 'number', value: 1 }],
    ['result <= 0.01', '<=', { kind: 'number', value: 0.01 }],
    ['result > -5', '>', { kind: 'number', value: -5 }],
    ['result >= .5', '>=', { kind: 'number', value: 0.5 }],
    ['result == 0', '==', { kind: 'number', value: 0 }],
    ['result != 1e3', '!=', { kind: 'number', value: 1000 }],
    ['result<=2.5E-2', '<=', { kind: 'number', value: 0.025 }],
    ['  RESULT >= 7  ', '>=', { kind: 'number', value: 7 }],
    ['result <= baseline', '<=', { kind: 'baseline', operator: '*', operand: 1 }],
    ['result <= baseline * 1.2', '<=', { kind: 'baseline', operator: '*', operand: 1.2 }],
    ['result < baseline + 50', '<', { kind: 'baseline', operator: '+', operand: 50 }],
    ['result >= baseline - 0.5', '>=', { kind: 'baseline', operator: '-', operand: 0.5 }],
    ['result>baseline*2', '>', { kind: 'baseline', operator: '*', operand: 2 }],
  ])('reads %j', (text, comparison, bound) => {
    expect(parseCondition(text)).toEqual({ text: text.trim(), comparison, bound });
  });

  it.each([
    '',
    'result',
    'result <= ',
    'result =< 1',
    'result = 1',
    'result <> 1',
    'value <= 1',
    'result <= 1 and result > 0',
    'result <= baseline * ',
    'result <= baseline / 2',
    'result <= 2 * baseline',
    'result <= 1.2.3',
    'result <= 1%',
    'result <= baseline * 1.2 + 3',
  ])('fails when the condition is %j, saying what a condition looks like', (text) => {
    expect(() => parseCondition(text)).toThrow(AnalysisSyntaxError);
    expect(() => parseCondition(text)).toThrow(CONDITION_SHAPE);
  });
});

describe('boundOf and holds', () => {
  it.each([
    ['result <= 0.01', 99, 0.01],
    ['result <= 0.01', null, 0.01],
    ['result <= baseline', 200, 200],
    ['result <= baseline * 1.5', 200, 300],
    ['result <= baseline + 50', 200, 250],
    ['result <= baseline - 50', 200, 150],
    ['result <= baseline * 1.5', null, null],
  ] as const)('%s with baseline %s compares with %s', (text, baseline, bound) => {
    expect(boundOf(parseCondition(text), baseline)).toBe(bound);
  });

  it.each([
    // [condition, value, holds] at, just below and just above the bound 10
    ['result < 10', 9.99, true],
    ['result < 10', 10, false],
    ['result <= 10', 10, true],
    ['result <= 10', 10.01, false],
    ['result > 10', 10, false],
    ['result > 10', 10.01, true],
    ['result >= 10', 10, true],
    ['result >= 10', 9.99, false],
    ['result == 10', 10, true],
    ['result == 10', 10.01, false],
    ['result != 10', 10, false],
    ['result != 10', 9.99, true],
  ] as const)('%s holds for %s: %s', (text, value, expected) => {
    expect(holds(parseCondition(text), value, null)).toBe(expected);
  });

  it('compares with the baseline scaled or shifted, at the boundary', () => {
    expect(holds(parseCondition('result <= baseline * 1.2'), 240, 200)).toBe(true);
    expect(holds(parseCondition('result <= baseline * 1.2'), 240.5, 200)).toBe(false);
    expect(holds(parseCondition('result < baseline + 50'), 250, 200)).toBe(false);
    expect(holds(parseCondition('result >= baseline - 5'), 95, 100)).toBe(true);
  });

  it('cannot say without a baseline when the condition needs one', () => {
    expect(holds(parseCondition('result <= baseline * 1.2'), 1, null)).toBeNull();
    expect(holds(parseCondition('result <= 1'), 1, null)).toBe(true);
  });

  it('agrees with the comparison it reads, for any numbers', () => {
    const compare = { '<': (a: number, b: number) => a < b, '<=': (a: number, b: number) => a <= b, '>': (a: number, b: number) => a > b, '>=': (a: number, b: number) => a >= b };
    fc.assert(
      fc.property(fc.constantFrom('<', '<=', '>', '>=' as const), fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: 0, max: 1000 }), (op, value, baseline, shift) => {
        expect(holds(parseCondition(`result ${op} ${baseline}`), value, null)).toBe(compare[op](value, baseline));
        expect(holds(parseCondition(`result ${op} baseline + ${shift}`), value, baseline)).toBe(compare[op](value, baseline + shift));
        expect(holds(parseCondition(`result ${op} baseline - ${shift}`), value, baseline)).toBe(compare[op](value, baseline - shift));
      }),
    );
  });
});

describe('canSucceed', () => {
  it.each([
    ['result < 1', 'result < 2', false],
    ['result <= 1', 'result <= 1', false],
    ['result == 0', 'result >= 0', false],
    ['result > 5', 'result > 1', false],
    ['result >= 1e300', 'result > 0', false],
    ['result < 1', 'result >= 1', true],
    ['result <= 0.01', 'result > 0.05', true],
    ['result <= 1', 'result < 1', true],
    ['result == 0', 'result != 0', true],
    ['result != 3', 'result == 3', true],
    ['result < 2', 'result < 1', true],
    ['result >= 1e300', 'result < 1e300', true],
    ['result <= baseline * 1.2', 'result > 0', true],
    ['result < 1', 'result < baseline', true],
  ] as const)('success %j beside failure %j: %s', (success, failure, expected) => {
    expect(canSucceed(parseCondition(success), parseCondition(failure))).toBe(expected);
  });

  it('agrees with trying every value, for absolute conditions over small integers', () => {
    const condition = fc.tuple(fc.constantFrom('<', '<=', '>', '>=', '==', '!='), fc.integer({ min: -5, max: 5 })).map(([op, bound]) => parseCondition(`result ${op} ${bound}`));
    fc.assert(
      fc.property(condition, condition, (success, failure) => {
        const values = Array.from({ length: 41 }, (_, i) => -10 + i / 2);
        const tried = values.some((value) => holds(success, value, null) && !holds(failure, value, null));
        expect(canSucceed(success, failure)).toBe(tried);
      }),
    );
  });
});

describe('parseSchedule', () => {
  it.each([
    ['5m', [300], null],
    ['30s, 2m, 1h', [30, 120, 3600], null],
    ['2m, 5m, 15m, every 5m', [120, 300, 900], 300],
    ['every 90s', [], 90],
    [' 2m ,5m,  EVERY  10m ', [120, 300], 600],
  ])('reads %j', (text, offsetsSeconds, everySeconds) => {
    expect(parseSchedule(text)).toEqual({ offsetsSeconds, everySeconds });
  });

  it.each([
    ['5m, 2m', '"2m" must come after 300s: offsets increase'],
    ['2m, 2m', '"2m" must come after 120s: offsets increase'],
    ['every 5m, 10m', '"every 5m" must come last: offsets first, then one "every"'],
    ['every 5m, every 10m', '"every 5m" must come last: offsets first, then one "every"'],
    ['0s', '"0s" is not a duration such as 30s, 5m or 2h (nor "every" one): write the schedule as "2m, 5m, 15m, every 5m"'],
    ['2m, every 0m', '"every 0m" is not a duration such as 30s, 5m or 2h (nor "every" one)'],
    ['5 minutes', '"5 minutes" is not a duration'],
    ['2m,', '"" is not a duration'],
    ['', '"" is not a duration'],
    ['1.5m', '"1.5m" is not a duration'],
    ['-2m', '"-2m" is not a duration'],
    ['2d', '"2d" is not a duration'],
    ['every', '"every" is not a duration'],
  ])('fails when the schedule is %j', (text, message) => {
    expect(() => parseSchedule(text)).toThrow(AnalysisSyntaxError);
    expect(() => parseSchedule(text)).toThrow(message);
  });
});

describe('checkpointChecks', () => {
  it('measures at every evaluation without a schedule', () => {
    expect(checkpointChecks(null, 60, 5)).toEqual([1, 2, 3, 4, 5]);
  });

  it.each([
    // [schedule, pollSeconds, checks, expected]
    ['2m, 5m', 60, 10, [2, 5, 10]],
    ['2m, 5m, every 5m', 60, 20, [2, 5, 10, 15, 20]],
    ['2m, 5m, every 5m', 60, 18, [2, 5, 10, 15, 18]],
    ['every 3m', 60, 10, [3, 6, 9, 10]],
    ['30s', 60, 3, [1, 3]],
    ['90s, 150s', 60, 5, [2, 3, 5]],
    ['every 90s', 60, 7, [2, 4, 6, 7]],
    ['10m, 20m', 60, 12, [10, 12]],
    ['12m', 60, 12, [12]],
  ] as const)('%j every %ss over %s evaluations measures at %j', (text, pollSeconds, checks, expected) => {
    expect(checkpointChecks(parseSchedule(text), pollSeconds, checks)).toEqual(expected);
  });

  it('always measures at the last evaluation, never past it, in increasing order without repeats', () => {
    const schedule = fc
      .record({ offsets: fc.uniqueArray(fc.integer({ min: 1, max: 7200 }), { maxLength: 6 }), every: fc.option(fc.integer({ min: 1, max: 3600 })) })
      .map(({ offsets, every }) => ({ offsetsSeconds: [...offsets].sort((a, b) => a - b), everySeconds: every }));
    fc.assert(
      fc.property(fc.option(schedule), fc.integer({ min: 5, max: 600 }), fc.integer({ min: 1, max: 200 }), (plan, pollSeconds, checks) => {
        const at = checkpointChecks(plan, pollSeconds, checks);
        expect(at.at(-1)).toBe(checks);
        expect(at[0]).toBeGreaterThanOrEqual(1);
        for (let i = 1; i < at.length; i += 1) expect(at[i]).toBeGreaterThan(at[i - 1]);
        for (const offset of plan?.offsetsSeconds ?? []) {
          const check = Math.ceil(offset / pollSeconds);
          if (check <= checks) expect(at).toContain(check);
        }
      }),
    );
  });
});

describe('apsWorkspaceOf', () => {
  it.each([
    ['https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234abcd-5678-90ef', { region: 'eu-west-1', workspaceId: 'ws-1234abcd-5678-90ef' }],
    ['https://aps-workspaces.us-gov-west-1.amazonaws.com/workspaces/ws-ABC/', { region: 'us-gov-west-1', workspaceId: 'ws-ABC' }],
  ])('reads the region and workspace of %s', (url, expected) => {
    expect(apsWorkspaceOf(url)).toEqual(expected);
  });

  it.each([
    'http://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1',
    'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/query',
    'https://aps-workspaces.eu-west-1.amazonaws.com.evil.example/workspaces/ws-1',
    'https://prometheus.example.com/workspaces/ws-1',
    'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/1234',
  ])('finds no workspace in %s', (url) => {
    expect(apsWorkspaceOf(url)).toBeNull();
  });
});
