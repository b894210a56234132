/**
 * The simple JSONPath the smoke tests use: `$`, then `.name` or `[index]` steps (`$.data.items[0].id`).
 * No wildcards or filters: a check points at exactly one value.
 */

/** One step of a path: an object key or an array index. */
export type PathStep = string | number;

/** The value a path points at, or `found: false` when any step is missing. */
export type PathLookup = { readonly found: true; readonly value: unknown } | { readonly found: false };

const STEP = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]/y;

/** Splits `$.a.b[0]` into `['a', 'b', 0]`; throws a RangeError naming the path when it is not one. */
export function parseJsonPath(path: string): PathStep[] {
  if (!path.startsWith('$')) throw new RangeError(`JSONPath must start with $ (got "${path}")`);
  const steps: PathStep[] = [];
  STEP.lastIndex = 1;
  while (STEP.lastIndex < path.length) {
    const at = STEP.lastIndex;
    const match = STEP.exec(path);
    if (!match) throw new RangeError(`JSONPath "${path}" has an unsupported step at character ${at}`);
    steps.push(match[1] ?? Number(match[2]));
  }
  return steps;
}

/** Follows the path through own properties only, so `$.constructor` never reaches a prototype. */
export function readJsonPath(root: unknown, path: string): PathLookup {
  let current = root;
  for (const step of parseJsonPath(path)) {
    if (typeof step === 'number') {
      if (!Array.isArray(current) || step >= current.length) return { found: false };
      current = current[step];
    } else {
      if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, step)) return { found: false };
      current = (current as Record<string, unknown>)[step];
    }
  }
  return { found: true, value: current };
}

/** Deep equality of JSON values: object key order does not matter, array order does. */
export function jsonEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEquals(item, b[i]));
  }
  const aKeys = Object.keys(a);
  const bRecord = b as Record<string, unknown>;
  return (
    aKeys.length === Object.keys(b).length &&
    aKeys.every((key) => Object.hasOwn(bRecord, key) && jsonEquals((a as Record<string, unknown>)[key], bRecord[key]))
  );
}
