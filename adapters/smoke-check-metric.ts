import type { AnalysisMetric, SmokeCheck, SmokeTestsConfig } from '../config/schema';
import type { Clock } from '../core/ports/clock';
import type { MeasureContext, MetricQuery } from '../core/ports/metric-query';
import type { SecretSource } from '../core/ports/secret-source';
import { MetricQueryError, RunbookError } from '../core/errors';
import { checkInputs } from '../core/tasks/smoke-test/dependencies';
import { runSmokeTests } from '../core/tasks/smoke-test/smoke-test';

export interface SmokeCheckMetricDeps {
  /** The configuration's smoke tests: the checks a metric names, their base URL, secrets and timeouts. */
  readonly smokeTests: SmokeTestsConfig;
  readonly secrets: SecretSource;
  readonly clock: Clock;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/**
 * The `http` provider: smoke checks re-run at a checkpoint, as one number — how many of the named checks failed
 * (0 when all passed). A check that captures what a named one uses runs first, as in SmokeTest, but only the
 * named checks count. The checks run exactly as SmokeTest runs them (retries, redirects within their origin,
 * secrets masked), expecting the version the context names. A secret that cannot be read is a query error.
 */
export class SmokeCheckMetric implements MetricQuery {
  constructor(private readonly deps: SmokeCheckMetricDeps) {}

  async value(metric: AnalysisMetric, _at: Date, context?: MeasureContext): Promise<number | null> {
    const provider = metric.provider;
    if (provider.kind !== 'http') throw new MetricQueryError(`analysis metric ${metric.name}: the http adapter got a ${provider.kind} provider`);
    const { checks } = this.deps.smokeTests;
    const named = provider.checks ?? checks.map((check) => check.name);
    const unknown = named.filter((name) => !checks.some((check) => check.name === name));
    if (unknown.length > 0) throw new MetricQueryError(`analysis metric ${metric.name}: no smoke check is called ${unknown.map((name) => `'${name}'`).join(', ')}`);
    const chosen = withProducers(checks, named);
    let report;
    try {
      report = await runSmokeTests(
        { phase: 'deploy', config: { smokeTests: { ...this.deps.smokeTests, checks: chosen } }, expectedVersion: context?.expectedVersion ?? null },
        { secrets: this.deps.secrets, clock: this.deps.clock, fetch: this.deps.fetch },
      );
    } catch (error) {
      if (error instanceof RunbookError) throw new MetricQueryError(`the smoke checks could not run: ${error.message}`);
      throw error;
    }
    return report.results.filter((result) => named.includes(result.name) && !result.passed).length;
  }
}

/** The named checks and every check whose captures they use (transitively), in configuration order. */
function withProducers(checks: readonly SmokeCheck[], names: readonly string[]): SmokeCheck[] {
  const inputs = checkInputs(checks);
  const needed = new Set<number>();
  const visit = (index: number) => {
    if (needed.has(index)) return;
    needed.add(index);
    for (const producer of inputs[index].dependsOn) visit(producer);
  };
  checks.forEach((check, index) => {
    if (names.includes(check.name)) visit(index);
  });
  return checks.filter((_check, index) => needed.has(index));
}
