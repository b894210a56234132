import { createContext, runInContext } from 'node:vm';

/**
 * How long one `matches` assertion may run. A pattern such as `^(a+)+$` backtracks exponentially on a value
 * that almost matches (seconds at 26 characters, years at 40): it is stopped and the check fails instead.
 */
export const MATCH_BUDGET_MS = 100;

// One context for every match: creating one costs milliseconds, running in it a fraction of one.
const sandbox = createContext({ pattern: /(?:)/, text: '' });

/** `pattern.test(text)`, or `'over-budget'` when it did not finish within MATCH_BUDGET_MS. */
export function boundedTest(pattern: RegExp, text: string): boolean | 'over-budget' {
  sandbox.pattern = pattern;
  sandbox.text = text;
  try {
    return runInContext('pattern.test(text)', sandbox, { timeout: MATCH_BUDGET_MS }) as boolean;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'over-budget';
    throw error;
  } finally {
    sandbox.text = '';
  }
}
