import * as z from 'zod/mini';
import type { SecretRef, SmokeTestsConfig } from '../../../config/schema';
import type { Clock } from '../../ports/clock';
import type { SecretSource } from '../../ports/secret-source';
import { SecretUnavailableError } from '../../errors';
import { judged, type SmokeReport, type SmokeResult } from '../../model';
import { checkInputs, refsOfCheck } from './dependencies';
import { type Reason, reason, responseExcerpt } from './reason';
import { Redactor } from './redact';
import { type CheckRun, runCheck } from './run-check';
import { runScheduled } from './schedule';

export const SmokeTestEvent = z.object({
  phase: z.enum(['deploy', 'rollback']),
  /** Only the smoke tests are read; the rest of the configuration passes through untouched. */
  config: judged<{ smokeTests: SmokeTestsConfig }>(),
  /** The version that should answer: the new one after a deploy, the restored one after a rollback. */
  expectedVersion: z.nullable(z.string()),
});
export type SmokeTestEvent = z.output<typeof SmokeTestEvent>;

export interface SmokeTestDeps {
  readonly secrets: SecretSource;
  readonly clock: Clock;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** A failed response is quoted in the report up to this many characters. */
const EXCERPT_LIMIT = 200;

/**
 * Runs the configured HTTP checks against the deployed (or rolled-back) service. A failing check never
 * throws: the report says `passed: false` and the state machine branches on it. It throws only when it
 * cannot run at all (a secret that cannot be resolved), naming the secret, never its value.
 */
export async function runSmokeTests(event: SmokeTestEvent, deps: SmokeTestDeps): Promise<SmokeReport> {
  const startedAt = deps.clock.now();
  const { checks, baseUrl, requestTimeoutMs, concurrency } = event.config.smokeTests;
  const redactor = new Redactor();
  const secrets = await resolveSecrets(event, deps.secrets);
  for (const value of secrets.values()) redactor.add(value);

  const inputs = checkInputs(checks);
  const runs: (CheckRun | { skipped: Reason })[] = [];
  const settings = { baseUrl, requestTimeoutMs, fetch: deps.fetch ?? globalThis.fetch };
  const versionMissing =
    event.phase === 'deploy'
      ? 'no version is expected (expectedVersion is null)'
      : 'the version to roll back to is unknown (expectedVersion is null)';

  await runScheduled({
    dependsOn: inputs.map((input) => input.dependsOn),
    concurrency,
    run: async (index) => {
      const vars = new Map<string, string>();
      for (const [name, producer] of inputs[index].producers) {
        const value = (runs[producer] as CheckRun).captured.get(name);
        if (value !== undefined) vars.set(name, value);
      }
      const run = await runCheck(checks[index], { secrets, vars, version: event.expectedVersion, versionMissing }, settings);
      for (const value of run.captured.values()) redactor.add(value);
      runs[index] = run;
      return run.passed;
    },
    skip: (index, blocker, outcome) => {
      runs[index] = { skipped: reason`skipped: depends on '${checks[blocker].name}', which ${outcome === 'failed' ? 'failed' : 'was skipped'}` };
    },
  });

  const rendered = runs.map((run, index) => render(checks[index].name, run, redactor));
  const failed = rendered.filter((r) => !r.result.passed);
  const summary =
    failed.length === 0
      ? `${checks.length}/${checks.length} checks passed`
      : `${failed.length} of ${checks.length} checks failed: ${failed.map((r) => `${r.result.name} (${r.headline.join(', ')})`).join('; ')}`;
  return {
    phase: event.phase,
    passed: failed.length === 0,
    expectedVersion: event.expectedVersion,
    summary,
    results: rendered.map((r) => r.result),
    startedAt: startedAt.toISOString(),
    durationMs: deps.clock.now().getTime() - startedAt.getTime(),
  };
}

/** Resolves each secret the checks use, once. Every failure is reported together, by name. */
async function resolveSecrets(event: SmokeTestEvent, source: SecretSource): Promise<Map<string, string>> {
  const declared = event.config.smokeTests.secrets;
  const used = new Set(
    event.config.smokeTests.checks.flatMap((check) => refsOfCheck(check).flatMap((ref) => (ref.scope === 'secrets' && Object.hasOwn(declared, ref.name) ? [ref.name] : []))),
  );
  const names = [...used].sort();
  const settled = await Promise.allSettled(names.map((name) => source.resolve(declared[name] as SecretRef)));
  // A source's message should not quote a value, but mask the ones already read in case it does.
  const known = new Redactor();
  for (const outcome of settled) if (outcome.status === 'fulfilled') known.add(outcome.value);
  const problems = settled.flatMap((outcome, i) =>
    outcome.status === 'rejected'
      ? [known.redact(`smokeTests.secrets.${names[i]}: ${outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)}`)]
      : [],
  );
  if (problems.length > 0) {
    throw new SecretUnavailableError(`cannot run the smoke tests: ${problems.join('; ')}`, {
      cause: settled.find((outcome) => outcome.status === 'rejected')?.reason,
    });
  }
  return new Map(names.map((name, i) => [name, (settled[i] as PromiseFulfilledResult<string>).value]));
}

function render(name: string, run: CheckRun | { skipped: Reason }, redactor: Redactor): { result: SmokeResult; headline: string[] } {
  if ('skipped' in run) {
    const why = run.skipped(redactor);
    return { result: { name, passed: false, status: null, latencyMs: null, attempts: 0, failures: [why] }, headline: [why] };
  }
  const headline = run.reasons.map((why) => why(redactor));
  const quoted = !run.passed && run.body ? [responseExcerpt(run.body, EXCERPT_LIMIT)(redactor)] : [];
  return {
    result: { name, passed: run.passed, status: run.status, latencyMs: run.latencyMs, attempts: run.attempts, failures: [...headline, ...quoted] },
    headline,
  };
}
