import type { AnalysisMetric } from '../../config/schema';

/**
 * Where analysis metrics are read: Prometheus, CloudWatch metrics or Logs Insights on AWS, Prometheus or a log
 * file in a rehearsal. One number per metric, measured over the window ending at `at`.
 */
export interface MetricQuery {
  /** The metric's value; null when the query found no data. Throws MetricQueryError when the query fails. */
  value(metric: AnalysisMetric, at: Date, context?: MeasureContext): Promise<number | null>;
}

/** What a measurement knows of the deployment: the version that should answer (the http provider's `{{version}}`). */
export interface MeasureContext {
  /** The running version at the baseline, the new one during the bake; null when unknown. */
  readonly expectedVersion: string | null;
}
