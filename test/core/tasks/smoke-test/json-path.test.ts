import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonEquals, parseJsonPath, readJsonPath } from '../../../../core/tasks/smoke-test/json-path';

const doc = { status: 'healthy', data: { items: [{ id: 'a1', tags: ['x'] }, { id: null }] }, count: 0, 'kebab-key': true };

describe('parseJsonPath', () => {
  it.each([
    ['$', []],
    ['$.status', ['status']],
    ['$.data.items[1].id', ['data', 'items', 1, 'id']],
    ['$[0][12]', [0, 12]],
    ['$.kebab-key', ['kebab-key']],
  ])('splits %s into steps', (path, steps) => {
    expect(parseJsonPath(path)).toEqual(steps);
  });

  it.each([['status'], ['$.'], ['$..a'], ['$.a[*]'], ["$['a']"], ['$.a[-1]']])('fails when the path is %s', (path) => {
    expect(() => parseJsonPath(path)).toThrow(RangeError);
    expect(() => parseJsonPath(path)).toThrow(path);
  });
});

describe('readJsonPath', () => {
  it.each([
    ['$', doc],
    ['$.status', 'healthy'],
    ['$.data.items[0].id', 'a1'],
    ['$.data.items[0].tags[0]', 'x'],
    ['$.data.items[1].id', null],
    ['$.count', 0],
    ['$.kebab-key', true],
  ])('finds %s', (path, value) => {
    expect(readJsonPath(doc, path)).toEqual({ found: true, value });
  });

  it.each([['$.missing'], ['$.data.items[2]'], ['$.data.items.id'], ['$.status.length'], ['$.constructor'], ['$.data.items[0].tags.toString'], ['$[0]']])(
    'reports %s as not found',
    (path) => {
      expect(readJsonPath(doc, path)).toEqual({ found: false });
    },
  );
});

describe('jsonEquals', () => {
  it.each([
    [1, 1, true],
    ['1', 1, false],
    [null, null, true],
    [null, {}, false],
    [{ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, true],
    [[1, 2], [2, 1], false],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [{ a: [] }, { a: {} }, false],
    [[], {}, false],
  ])('compares %j with %j: %s', (a, b, equal) => {
    expect(jsonEquals(a, b)).toBe(equal);
    expect(jsonEquals(b, a)).toBe(equal);
  });

  it('holds for any JSON value and its reparsed copy with keys in reverse order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const reversed = JSON.parse(JSON.stringify(value), (_key, v: unknown) =>
          v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
        );
        return jsonEquals(value, reversed);
      }),
    );
  });

  it('tells a value from the same value with one leaf changed', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.integer()), fc.string(), fc.integer(), (object, key, value) => {
        const changed = { ...object, [key]: object[key] === value ? value + 1 : value };
        return !jsonEquals(object, changed);
      }),
    );
  });
});
