/** One measurement, as CloudWatch (through EMF) or a rehearsal's log records it. */
export interface MetricPoint {
  readonly name: string;
  readonly unit: 'Count' | 'Milliseconds';
  readonly value: number;
  /** Besides the target's name, e.g. `{Outcome: 'rolled-back'}` or `{Phase: 'Bake'}`. */
  readonly dimensions: Readonly<Record<string, string>>;
}

/** Where deployment metrics go: CloudWatch metrics on AWS, the rehearsal's log locally. */
export interface MetricsSink {
  record(points: readonly MetricPoint[]): void;
}
