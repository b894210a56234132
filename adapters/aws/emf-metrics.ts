import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricPoint, MetricsSink } from '../../core/ports/metrics';

/**
 * CloudWatch metrics in the embedded metric format: each point is written at once to the function's log
 * with the target's name and its own dimensions, and CloudWatch Logs turns it into a metric. No API call,
 * so no IAM permission and no latency.
 */
export class EmfMetrics implements MetricsSink {
  constructor(
    private readonly metrics: Metrics,
    private readonly target: string,
  ) {}

  record(points: readonly MetricPoint[]): void {
    for (const point of points) {
      const single = this.metrics.singleMetric();
      single.addDimensions({ Target: this.target, ...point.dimensions });
      single.addMetric(point.name, point.unit, point.value);
    }
  }
}
