import type { MetricPoint, MetricsSink } from '../../core/ports/metrics';

/**
 * The rehearsal's metrics: one line per point in the rehearsal's log (`metric Deployments=1 Count
 * Outcome=succeeded`), where CloudWatch would receive them on AWS.
 */
export class LogMetrics implements MetricsSink {
  constructor(
    private readonly target: string,
    private readonly log: (line: string) => void,
  ) {}

  record(points: readonly MetricPoint[]): void {
    for (const point of points) {
      const dimensions = Object.entries({ Target: this.target, ...point.dimensions }).map(([name, value]) => `${name}=${value}`);
      this.log(`metric ${point.name}=${point.value} ${point.unit} ${dimensions.join(' ')}`);
    }
  }
}
