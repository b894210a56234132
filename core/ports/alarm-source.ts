import type { AlarmState } from '../model';

/** CloudWatch alarms on AWS; thresholds over Prometheus metrics locally. */
export interface AlarmSource {
  /** Current state of each named alarm; throws AlarmStateUnavailableError when they cannot be read. */
  states(names: readonly string[]): Promise<AlarmState[]>;
}
