import type { AlarmsConfig } from './schema';

/** Alarm names a target watches, whichever source defines them. */
export function watchedAlarms(alarms: AlarmsConfig): string[] {
  return alarms.kind === 'cloudwatch' ? [...alarms.names] : alarms.rules.map((rule) => rule.name);
}
