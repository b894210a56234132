import type { z } from 'zod';

/** Longest rendering of a received value: enough to recognise it, short enough for one line. */
const MAX_VALUE_CHARS = 80;

/**
 * `scheme://user:password@` in a URL: the credentials are masked before a value is shown. The scheme
 * is bounded, so a long run of letters costs a bounded scan per letter, not one to the end of the run.
 */
const URL_CREDENTIALS = /([A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/)[^/?#\s"]*@/g;

/** Renders a value the user wrote, short enough for one line of an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = text.replace(URL_CREDENTIALS, '$1***@');
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 3)}...` : text;
}

/** Field names whose values may be credentials: a mistake there is named, its value never shown. */
const SENSITIVE_KEY = /secret|passw|token|authori[sz]ation|api[-_]?key|credential|cookie/i;

/** `describeValue`, unless the path passes through a field that may hold a credential. */
function shownAt(path: readonly PropertyKey[], value: unknown): string {
  if (!path.some((key) => typeof key === 'string' && SENSITIVE_KEY.test(key))) return describeValue(value);
  if (typeof value !== 'string') return 'a value that is not shown';
  return `a string of ${value.length} character${value.length === 1 ? '' : 's'}, not shown`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** A key that reads unambiguously after a dot; anything else (`foo.$`, `Bad Header`) is quoted. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `smokeTests.checks[2].expect.status` from zod's path array; odd keys as `capture["foo.$"]`. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (!PLAIN_KEY.test(String(key))) out += `[${JSON.stringify(String(key))}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}

/**
 * One line per problem, each naming the field and the value received, e.g.
 * `target.cluster: Invalid input: expected string, received number (got 42)`; values of fields that may
 * hold credentials are described, never shown.
 */
export function formatIssues(error: z.core.$ZodError, input: unknown, prefix = ''): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const received = valueAt(input, issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const at = [...issue.path, key];
        lines.push(`${formatPath(prefix, at)}: unknown field (got ${shownAt(at, valueAt(input, at))})`);
      }
      continue;
    }
    const expected = issue.code === 'invalid_union' ? typesExpected(issue.errors) : [];
    if (expected.length > 0) {
      const types = expected.join(' or ');
      const line = received === undefined ? `required (expected ${types})` : `expected ${types} (got ${shownAt(issue.path, received)})`;
      lines.push(`${formatPath(prefix, issue.path)}: ${line}`);
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the alternative the value was meant for: the one that knows most of its keys, then the one that got furthest.
      const best = [...issue.errors].sort((a, b) => unknownKeys(a) - unknownKeys(b) || depth(b) - depth(a))[0];
      const nested = best.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
      const fake = { issues: nested } as unknown as z.core.$ZodError;
      lines.push(...formatIssues(fake, input, prefix));
      continue;
    }
    if (issue.code === 'invalid_union' && issue.discriminator !== undefined && 'options' in issue && issue.options) {
      const kinds = issue.options.map((option) => `'${String(option)}'`).join(', ');
      lines.push(received === undefined ? `${formatPath(prefix, issue.path)}: required (one of ${kinds})` : `${formatPath(prefix, issue.path)}: must be one of ${kinds} (got ${shownAt(issue.path, received)})`);
      continue;
    }
    if (issue.code === 'invalid_key') {
      // The path ends with the rejected key: show the key (a name, never a credential), not the value under it.
      const rules = issue.issues.map((inner) => inner.message).join('; ');
      lines.push(`${formatPath(prefix, issue.path)}: key ${rules} (got ${describeValue(issue.path.at(-1))})`);
      continue;
    }
    if (issue.code === 'invalid_type' && received === undefined) {
      lines.push(`${formatPath(prefix, issue.path)}: required (expected ${issue.expected})`);
      continue;
    }
    lines.push(`${formatPath(prefix, issue.path)}: ${issue.message} (got ${shownAt(issue.path, received)})`);
  }
  return [...new Set(lines)];
}

/** When every alternative of a union rejected the value's type outright, the types it accepts, e.g. `string or object or array`. */
function typesExpected(branches: readonly (readonly z.core.$ZodIssue[])[]): string[] {
  const roots = branches.map((branch) => (branch.length === 1 && branch[0].code === 'invalid_type' && branch[0].path.length === 0 ? branch[0].expected : null));
  if (roots.length === 0 || roots.includes(null)) return [];
  return [...new Set(roots.map((type) => (type === 'record' ? 'object' : String(type))))];
}

function unknownKeys(issues: readonly z.core.$ZodIssue[]): number {
  return issues.reduce((count, issue) => count + (issue.code === 'unrecognized_keys' ? issue.keys.length : 0), 0);
}

function depth(issues: readonly { path: readonly PropertyKey[] }[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}
