import type { JsonAssertion, SmokeCheck } from '../../../config/schema';
import { boundedTest, MATCH_BUDGET_MS } from './bounded-match';
import { jsonEquals, type PathLookup, readJsonPath } from './json-path';
import { type Reason, reason, shown } from './reason';

const NOT_FOUND: PathLookup = { found: false };

/** One response as the checks see it. */
export interface ObservedResponse {
  readonly status: number;
  readonly body: string;
  readonly latencyMs: number;
}

/** What a response proved: why it failed (empty when it passed), and the values it captured. */
export interface Verdict {
  readonly reasons: Reason[];
  /**
   * The values the capture paths found, whether the check passed or not: a failing response is quoted in
   * the report, so its values must be masked too. Only a passing check's values reach the checks that use them.
   */
  readonly captured: Map<string, string>;
}

/**
 * Judges a response against a check's expectations. A wrong status stops there: asserting on the body
 * of an error page would only add noise to the one fact that matters.
 */
export function judge(response: ObservedResponse, check: SmokeCheck, assertions: readonly JsonAssertion[]): Verdict {
  const captures = Object.entries(check.capture);
  const document = assertions.length > 0 || captures.length > 0 ? parseJson(response.body) : null;
  // Read before judging, from a failing response too: it is quoted in the report.
  const lookups = captures.map(([name, path]) => ({ name, path, found: document?.ok ? readJsonPath(document.value, path) : NOT_FOUND }));
  const captured = new Map<string, string>();
  for (const { name, found } of lookups) if (found.found && found.value !== null) captured.set(name, typeof found.value === 'string' ? found.value : JSON.stringify(found.value));

  const expected = Array.isArray(check.expect.status) ? check.expect.status : [check.expect.status];
  if (!expected.includes(response.status)) {
    const wanted = expected.length === 1 ? String(expected[0]) : `one of ${expected.join(', ')}`;
    return { reasons: [reason`status ${response.status}, expected ${wanted}`], captured };
  }

  const reasons: Reason[] = [];
  if (document?.ok === false) {
    reasons.push(reason`response is not JSON`);
  } else if (document?.ok) {
    for (const assertion of assertions) {
      const failure = assertJson(document.value, assertion);
      if (failure) reasons.push(failure);
    }
    for (const { name, path, found } of lookups) {
      if (!found.found || found.value === null) reasons.push(reason`capture ${name}: ${path} is ${found.found ? 'null' : 'missing'}`);
    }
  }
  if (check.expect.bodyContains !== undefined && !response.body.includes(check.expect.bodyContains)) {
    reasons.push(reason`body does not contain ${shown(check.expect.bodyContains)}`);
  }
  const budget = check.expect.maxLatencyMs;
  if (budget !== undefined && response.latencyMs > budget) {
    reasons.push(reason`took ${response.latencyMs} ms, over the ${budget} ms budget`);
  }
  return { reasons, captured };
}

function assertJson(document: unknown, assertion: JsonAssertion): Reason | undefined {
  const { path } = assertion;
  const found = readJsonPath(document, path);
  if (assertion.exists !== undefined) {
    if (assertion.exists && !found.found) return reason`${path} is missing`;
    if (!assertion.exists && found.found) return reason`${path} is ${shown(found.value)}, expected it to be absent`;
    return undefined;
  }
  if (assertion.matches !== undefined) {
    const pattern = new RegExp(assertion.matches);
    if (!found.found) return reason`${path} is missing, expected a match for /${assertion.matches}/`;
    const text = typeof found.value === 'string' ? found.value : JSON.stringify(found.value);
    const matched = boundedTest(pattern, text);
    if (matched === 'over-budget') {
      return reason`${path}: matching /${assertion.matches}/ took over ${MATCH_BUDGET_MS} ms and was stopped: the pattern backtracks catastrophically on this value (nested quantifiers such as (a+)+); rewrite it`;
    }
    return matched ? undefined : reason`${path} is ${shown(found.value)}, which does not match /${assertion.matches}/`;
  }
  if (!found.found) return reason`${path} is missing, expected ${shown(assertion.equals)}`;
  return jsonEquals(found.value, assertion.equals) ? undefined : reason`${path} is ${shown(found.value)}, expected ${shown(assertion.equals)}`;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
