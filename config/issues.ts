import type { z } from 'zod';

/** Renders a value the user wrote, short enough for one line of an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** `smokeTests.checks[2].expect.status` from zod's path array. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}

/**
 * One line per problem, each naming the field and the value received,
 * e.g. `target.cluster: expected string, received number (got 42)`.
 */
export function formatIssues(error: z.ZodError, input: unknown, prefix = ''): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        lines.push(`${formatPath(prefix, [...issue.path, key])}: unknown field (got ${describeValue(valueAt(input, [...issue.path, key]))})`);
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the branch that got furthest rather than every alternative.
      const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0];
      const nested = best.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
      const fake = { issues: nested } as unknown as z.ZodError;
      lines.push(...formatIssues(fake, input, prefix));
      continue;
    }
    const received = valueAt(input, issue.path);
    if (issue.code === 'invalid_type' && received === undefined) {
      lines.push(`${formatPath(prefix, issue.path)}: required (expected ${issue.expected})`);
      continue;
    }
    lines.push(`${formatPath(prefix, issue.path)}: ${issue.message} (got ${describeValue(received)})`);
  }
  return [...new Set(lines)];
}

function depth(issues: readonly { path: readonly PropertyKey[] }[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}
