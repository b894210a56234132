import type { AnalysisMetric } from '../../config/schema';

/**
 * Where analysis metrics are read: Prometheus, CloudWatch metrics or Logs Insights on AWS, Prometheus or a log
 * file in a rehearsal. One number per metric, measured over the window ending at `at`.
 */
export interface MetricQuery {
  /** The metric's value; null when the query found no data. Throws MetricQueryError when the query fails. */
  value(metric: AnalysisMetric, at: Date): Promise<number | null>;
}
