/**
 * The restore drill's configuration rules (backup.testRestore, backup.drillSchedule): which databases a drill can
 * restore, and which EventBridge Scheduler expressions may start one.
 */

/** A rate expression: a positive whole number and a unit, singular for 1 (`rate(1 day)`, `rate(7 days)`). */
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
/** Six fields (minutes hours day-of-month month day-of-week year), each of the characters EventBridge accepts. */
const CRON = /^cron\(([0-9A-Za-z*?,/#-]+ ){5}[0-9A-Za-z*?,/#-]+\)$/;
const SECONDS_PER = { minute: 60, hour: 3600, day: 86_400 } as const;
/** A drill restores a whole database: more often than hourly would load the server for no added proof. */
export const MIN_DRILL_INTERVAL_SECONDS = 3600;

/** Why `text` cannot start drills on a schedule, or null when it can (the caller adds the value). */
export function drillScheduleProblem(text: string): string | null {
  if (text.startsWith('rate(')) {
    const match = RATE.exec(text);
    if (!match) return `must be rate(<n> minutes|hours|days), e.g. rate(7 days)`;
    const count = Number(match[1]);
    const unit = match[2].replace(/s$/, '') as keyof typeof SECONDS_PER;
    if (count === 0) return `must be a rate of at least 1`;
    if ((count === 1) !== (match[2] === unit)) return `must say ${count === 1 ? `1 ${unit}` : `${count} ${unit}s`}`;
    if (count * SECONDS_PER[unit] < MIN_DRILL_INTERVAL_SECONDS) return `must not start a drill more often than every hour: each one restores the whole database`;
    return null;
  }
  if (text.startsWith('cron(')) {
    if (!CRON.test(text)) return `must be cron(minutes hours day-of-month month day-of-week year), six fields, e.g. cron(0 3 ? * MON *)`;
    const [minutes, , dayOfMonth, , dayOfWeek] = text.slice(5, -1).split(' ');
    if (!/^\d+$/.test(minutes)) return `must name one minute of the hour (a drill at most hourly: it restores the whole database) (minutes "${minutes}")`;
    if ((dayOfMonth === '?') === (dayOfWeek === '?')) return `must have ? in exactly one of day-of-month and day-of-week (day-of-month "${dayOfMonth}", day-of-week "${dayOfWeek}")`;
    return null;
  }
  return `must be an EventBridge Scheduler expression, rate(7 days) or cron(0 3 ? * MON *); one-time at(...) schedules are not drills`;
}

/**
 * Why `zone` cannot be the drill schedule's time zone, or null when it can: an IANA name EventBridge Scheduler knows
 * (`Europe/Paris`, `UTC`), spelled as the time zone database spells it, for a cron() schedule (a rate() one has no
 * time of day). The caller adds the value.
 */
export function drillTimezoneProblem(zone: string, schedule: string | undefined): string | null {
  if (schedule === undefined) return 'is the time zone of backup.drillSchedule, which is not set';
  if (!schedule.startsWith('cron(')) return `applies to a cron(...) schedule only: backup.drillSchedule "${schedule}" has no time of day`;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return 'must be an IANA time zone name such as Europe/Paris, America/New_York or UTC';
  }
  if (resolved !== zone && resolved.toLowerCase() === zone.toLowerCase()) return `must be spelled as the time zone database spells it: ${resolved}`;
  return null;
}

/**
 * Why the configured database cannot be drilled, or null when it can: a logical PostgreSQL backup is restored into a
 * scratch database; an RDS or Aurora snapshot into a scratch instance or cluster, which the data checks reach through
 * `database.connection` (without it nothing could prove the copy holds the data).
 */
export function drillDatabaseProblem(database: { readonly kind: string; readonly connection?: object } | null): string | null {
  if (database === null) return 'a restore drill restores the backup of the database, but database is not configured';
  if (database.kind === 'postgres') return null;
  if (database.kind === 'rds-instance' || database.kind === 'aurora-cluster') {
    if (database.connection !== undefined) return null;
    return `a restore drill of ${database.kind === 'rds-instance' ? 'an RDS instance' : 'an Aurora cluster'} restores its snapshot into a scratch copy and proves it by comparing the fingerprint and running the after-restore SQL checks there, which connect through database.connection (a Secrets Manager secret holding {host, port, username, password, dbname}), which is not set`;
  }
  return `a restore drill restores a PostgreSQL backup or an RDS/Aurora snapshot: database.kind 'postgres', 'rds-instance' or 'aurora-cluster' (database.kind is "${database.kind}")`;
}
