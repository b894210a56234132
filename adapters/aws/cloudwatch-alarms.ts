import { type CloudWatchClient, DescribeAlarmsCommand, type StateValue } from '@aws-sdk/client-cloudwatch';
import type { AlarmSource } from '../../core/ports/alarm-source';
import { AlarmStateUnavailableError } from '../../core/errors';
import type { AlarmState } from '../../core/model';

/**
 * The IAM action behind each AWS call CloudWatchAlarmSource makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const CLOUDWATCH_ALARMS_IAM = {
  describeAlarms: 'cloudwatch:DescribeAlarms',
} as const;

/** DescribeAlarms accepts at most this many names per call. */
const NAMES_PER_CALL = 100;

interface DescribedAlarm {
  AlarmName?: string;
  StateValue?: StateValue;
  StateReason?: string;
  StateUpdatedTimestamp?: Date;
}

/**
 * Reads CloudWatch metric and composite alarm states. It fails closed: an alarm that cannot be read
 * (missing, throttled, access denied) raises AlarmStateUnavailableError instead of counting as OK.
 */
export class CloudWatchAlarmSource implements AlarmSource {
  constructor(private readonly cloudwatch: CloudWatchClient) {}

  async states(names: readonly string[]): Promise<AlarmState[]> {
    const wanted = [...new Set(names)];
    const found = new Map<string, AlarmState>();
    for (let start = 0; start < wanted.length; start += NAMES_PER_CALL) {
      for (const alarm of await this.describe(wanted.slice(start, start + NAMES_PER_CALL))) {
        const state = toAlarmState(alarm);
        found.set(state.name, state);
      }
    }
    const missing = wanted.filter((name) => !found.has(name));
    if (missing.length > 0) {
      throw new AlarmStateUnavailableError(`CloudWatch has no metric or composite alarm named ${missing.map((n) => `"${n}"`).join(', ')} (alarms.names)`);
    }
    return wanted.map((name) => found.get(name) as AlarmState);
  }

  /** Every page of one DescribeAlarms query. */
  private async describe(alarmNames: string[]): Promise<DescribedAlarm[]> {
    const alarms: DescribedAlarm[] = [];
    let nextToken: string | undefined;
    do {
      try {
        const page = await this.cloudwatch.send(
          new DescribeAlarmsCommand({ AlarmNames: alarmNames, AlarmTypes: ['CompositeAlarm', 'MetricAlarm'], ...(nextToken ? { NextToken: nextToken } : {}) }),
        );
        alarms.push(...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? []));
        nextToken = page.NextToken;
      } catch (error) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        throw new AlarmStateUnavailableError(`could not read CloudWatch alarm states (${reason})`, { cause: error });
      }
    } while (nextToken);
    return alarms;
  }
}

function toAlarmState(alarm: DescribedAlarm): AlarmState {
  const name = alarm.AlarmName ?? '';
  // Without a state the alarm cannot be judged: treating it as OK would let a regression through.
  if (alarm.StateValue === undefined) throw new AlarmStateUnavailableError(`CloudWatch returned no state for alarm "${name}"`);
  return {
    name,
    state: alarm.StateValue,
    reason: alarm.StateReason ?? null,
    updatedAt: alarm.StateUpdatedTimestamp?.toISOString() ?? null,
  };
}
