import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A vitest reporter for .ci/run: counts the tests by how they ended and writes the counts as JSON to
 * TEST_COUNTS_FILE. Vitest reports a test behind a failing beforeAll as skipped; here it counts as failed.
 */
export default class TestCounts {
  onTestRunEnd(testModules, unhandledErrors) {
    const counts = { passed: 0, failed: 0, blocked: 0, skipped: 0, todo: 0, brokenFiles: 0, unhandledErrors: unhandledErrors.length };
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const kind = classify(test);
        counts[kind] += 1;
        if (kind === 'failed' || kind === 'blocked') failedHere += 1;
      }
      // A file that does not load, or an afterAll that fails once its tests passed, fails no test of its own.
      if (failedHere === 0 && module.state() === 'failed') counts.brokenFiles += 1;
    }
    const file = process.env.TEST_COUNTS_FILE ?? '.tmp/test-counts.json';
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(counts)}\n`);
  }
}

/** `blocked`: meant to run, but a hook of its suite or file failed first (or the run ended before it). */
function classify(test) {
  const { state } = test.result();
  if (state === 'passed' || state === 'failed') return state;
  if (test.options.mode === 'todo') return 'todo';
  if (test.options.mode === 'skip') return 'skipped';
  if (state === 'pending' || hookFailedAbove(test)) return 'blocked';
  // Skipped from inside the test (`context.skip()`): a decision, not a failure.
  return 'skipped';
}

function hookFailedAbove(test) {
  for (let node = test.parent; node; node = node.type === 'module' ? undefined : node.parent) {
    if (node.errors().length > 0) return true;
  }
  return false;
}
