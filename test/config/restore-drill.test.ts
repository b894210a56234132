import { describe, expect, it } from 'vitest';
import { DrillRequest, requestSchemaFor } from '../../config/deployment-input';
import { parseConfig } from '../../config/load';
import { placeProblems } from '../../config/kinds';
import { drillScheduleProblem } from '../../config/restore-drill';
import { exampleWith, problemsOf } from './fixtures';

const POSTGRES = { kind: 'postgres', restoreApproval: { required: false } };

describe('backup.testRestore and backup.drillSchedule', () => {
  it('default to no drill', () => {
    const { backup } = parseConfig(exampleWith(() => {}));
    expect(backup.testRestore).toBe(false);
    expect(backup.drillSchedule).toBeUndefined();
  });

  it('are accepted on a postgres database', () => {
    const config = parseConfig(
      exampleWith((c) => {
        c.database = POSTGRES;
        c.backup = { testRestore: true, drillSchedule: 'rate(7 days)' };
      }),
    );
    expect(config.backup).toMatchObject({ testRestore: true, drillSchedule: 'rate(7 days)' });
  });

  it.each([
    ['testRestore', { testRestore: true }],
    ['drillSchedule', { drillSchedule: 'rate(7 days)' }],
  ])('fails when %s is asked of an RDS snapshot without database.connection, saying why', (field, backup) => {
    expect(problemsOf(exampleWith((c) => (c.backup = backup)))).toEqual([
      `backup.${field}: a restore drill of an RDS instance restores its snapshot into a scratch copy and proves it by comparing the fingerprint and running the after-restore SQL checks there, which connect through database.connection (a Secrets Manager secret holding {host, port, username, password, dbname}), which is not set (got ${JSON.stringify(field === 'testRestore' ? true : 'rate(7 days)')})`,
    ]);
  });

  it('fails when testRestore is asked of an Aurora snapshot without database.connection, naming the cluster kind', () => {
    const draft = exampleWith((c) => (c.backup = { testRestore: true }));
    draft.database = { kind: 'aurora-cluster', clusterIdentifier: 'shop-aurora', restorePolicy: 'never' };
    expect(problemsOf(draft)).toEqual([expect.stringMatching(/^backup\.testRestore: a restore drill of an Aurora cluster restores its snapshot into a scratch copy .*database\.connection .*which is not set \(got true\)$/)]);
  });

  it.each(['rds-instance', 'aurora-cluster'])('accepts testRestore of a %s with database.connection', (kind) => {
    const draft = exampleWith((c) => (c.backup = { testRestore: true }));
    const identifier = kind === 'rds-instance' ? { instanceIdentifier: 'shop-db' } : { clusterIdentifier: 'shop-aurora' };
    draft.database = { kind, ...identifier, restorePolicy: 'never', connection: { secretsManager: 'shop/prod/db' } };
    expect(parseConfig(draft).backup.testRestore).toBe(true);
  });

  it('fails when a drill is asked without a database', () => {
    const draft = exampleWith((c) => {
      c.database = null;
      c.migrations = null;
      c.backup = { testRestore: true };
    });
    expect(problemsOf(draft)).toEqual(['backup.testRestore: a restore drill restores the backup of the database, but database is not configured (got true)']);
  });

  it('counts the drill in the worst-case waits: the default timeout no longer fits a restore approval too', () => {
    const draft = exampleWith((c) => (c.backup = { testRestore: true }));
    draft.database = { ...POSTGRES, restoreApproval: { required: true } };
    expect(problemsOf(draft)).toEqual([expect.stringMatching(/^executionTimeoutMinutes: .*polling\.restore 30 s × 179 waits for the restore drill \(backup\.testRestore\) = 89\.5 min/)]);
  });
});

describe('where a drill runs', () => {
  const onAws = (backup: object) =>
    parseConfig(
      exampleWith((c) => {
        c.database = { ...POSTGRES, connection: { secretsManager: 'shop/prod/db' } };
        c.network = { vpcId: 'vpc-0a1b2c3d4e5f67890', subnetIds: ['subnet-0a1b2c3d4e5f67890'], securityGroupIds: ['sg-0a1b2c3d4e5f67890'] };
        c.backup = backup;
      }),
    );

  it('accepts testRestore of a postgres database on AWS (the backup task restores the copy) and in a rehearsal', () => {
    const config = onAws({ testRestore: true });
    expect(placeProblems(config, 'aws')).toEqual([]);
    expect(placeProblems(config, 'local').filter((problem) => problem.startsWith('backup.'))).toEqual([]);
  });

  it('accepts a drill schedule of a postgres database on AWS (an EventBridge Scheduler schedule) and in a rehearsal', () => {
    const config = onAws({ drillSchedule: 'cron(0 3 ? * MON *)', drillScheduleTimezone: 'Europe/Paris' });
    expect(config.backup).toMatchObject({ drillSchedule: 'cron(0 3 ? * MON *)', drillScheduleTimezone: 'Europe/Paris' });
    expect(placeProblems(config, 'aws')).toEqual([]);
    expect(placeProblems(config, 'local').filter((problem) => problem.startsWith('backup.'))).toEqual([]);
  });

  it('runs an RDS drill on AWS with a connection and a network', () => {
    const config = parseConfig(
      exampleWith((c) => {
        c.database = { ...(c.database as object), connection: { secretsManager: 'shop/prod/db' } };
        c.network = { vpcId: 'vpc-0a1b2c3d4e5f67890', subnetIds: ['subnet-0a1b2c3d4e5f67890'], securityGroupIds: ['sg-0a1b2c3d4e5f67890'] };
        c.backup = { testRestore: true };
      }),
    );
    expect(placeProblems(config, 'aws')).toEqual([]);
  });

  it('fails on AWS when an RDS drill has no network: the copy is private, the checks must run in the VPC', () => {
    const config = parseConfig(
      exampleWith((c) => {
        c.database = { ...(c.database as object), connection: { secretsManager: 'shop/prod/db' } };
        c.backup = { testRestore: true };
      }),
    );
    expect(placeProblems(config, 'aws')).toEqual([
      `network: backup.testRestore restores an RDS instance's snapshot into a scratch copy without public access, in the source's subnets and security groups; the data checks reach it only from inside the VPC; set network to {"vpcId", "subnetIds", "securityGroupIds"} (got nothing)`,
    ]);
  });
  it('fails on AWS when a scheduled RDS drill has no network, as a drill before each deploy does', () => {
    const config = parseConfig(
      exampleWith((c) => {
        c.database = { ...(c.database as object), connection: { secretsManager: 'shop/prod/db' } };
        c.backup = { drillSchedule: 'rate(7 days)' };
      }),
    );
    expect(placeProblems(config, 'aws')).toEqual([
      `network: backup.drillSchedule restores an RDS instance's snapshot into a scratch copy without public access, in the source's subnets and security groups; the data checks reach it only from inside the VPC; set network to {"vpcId", "subnetIds", "securityGroupIds"} (got nothing)`,
    ]);
  });
});

describe('backup.drillScheduleTimezone', () => {
  const withZone = (backup: object) => {
    const draft = exampleWith((c) => (c.backup = backup));
    draft.database = POSTGRES;
    return draft;
  };

  it.each(['Europe/Paris', 'America/New_York', 'UTC', 'Etc/UTC', 'Asia/Calcutta'])('accepts %s for a cron schedule', (zone) => {
    expect(parseConfig(withZone({ drillSchedule: 'cron(0 3 ? * MON *)', drillScheduleTimezone: zone })).backup.drillScheduleTimezone).toBe(zone);
  });

  it.each([
    [{ drillSchedule: 'cron(0 3 ? * MON *)', drillScheduleTimezone: 'Mars/Olympus_Mons' }, 'must be an IANA time zone name such as Europe/Paris, America/New_York or UTC (got "Mars/Olympus_Mons")'],
    [{ drillSchedule: 'cron(0 3 ? * MON *)', drillScheduleTimezone: '+01:00' }, 'must be an IANA time zone name such as Europe/Paris, America/New_York or UTC (got "+01:00")'],
    [{ drillSchedule: 'cron(0 3 ? * MON *)', drillScheduleTimezone: 'europe/paris' }, 'must be spelled as the time zone database spells it: Europe/Paris (got "europe/paris")'],
    [{ drillSchedule: 'rate(7 days)', drillScheduleTimezone: 'Europe/Paris' }, 'applies to a cron(...) schedule only: backup.drillSchedule "rate(7 days)" has no time of day (got "Europe/Paris")'],
    [{ drillScheduleTimezone: 'Europe/Paris' }, 'is the time zone of backup.drillSchedule, which is not set (got "Europe/Paris")'],
  ])('fails when %j, naming the field and the value', (backup, problem) => {
    expect(problemsOf(withZone(backup))).toEqual([`backup.drillScheduleTimezone: ${problem}`]);
  });
});

describe('drillScheduleProblem', () => {
  it.each(['rate(7 days)', 'rate(1 day)', 'rate(1 hour)', 'rate(90 minutes)', 'cron(0 3 ? * MON *)', 'cron(30 2 1 * ? *)'])('accepts %s', (text) => {
    expect(drillScheduleProblem(text)).toBeNull();
  });

  it.each([
    ['rate(7 weeks)', 'must be rate(<n> minutes|hours|days), e.g. rate(7 days)'],
    ['rate(0 days)', 'must be a rate of at least 1'],
    ['rate(1 days)', 'must say 1 day'],
    ['rate(2 day)', 'must say 2 days'],
    ['rate(30 minutes)', 'must not start a drill more often than every hour: each one restores the whole database'],
    ['cron(0 3 * * MON)', 'must be cron(minutes hours day-of-month month day-of-week year), six fields, e.g. cron(0 3 ? * MON *)'],
    ['cron(*/5 * ? * * *)', 'must name one minute of the hour (a drill at most hourly: it restores the whole database) (minutes "*/5")'],
    ['cron(0 3 * * * *)', 'must have ? in exactly one of day-of-month and day-of-week (day-of-month "*", day-of-week "*")'],
    ['at(2026-12-07T03:00:00)', 'must be an EventBridge Scheduler expression, rate(7 days) or cron(0 3 ? * MON *); one-time at(...) schedules are not drills'],
  ])('refuses %s, naming the value', (text, problem) => {
    expect(drillScheduleProblem(text)).toBe(problem);
  });

  it('is the message the configuration names the field with', () => {
    const draft = exampleWith((c) => (c.backup = { drillSchedule: 'rate(30 minutes)' }));
    draft.database = POSTGRES;
    expect(problemsOf(draft)).toEqual(['backup.drillSchedule: must not start a drill more often than every hour: each one restores the whole database (got "rate(30 minutes)")']);
  });
});

describe('the drill request', () => {
  it('is picked by action and carries who asked and why, nothing else', () => {
    expect(requestSchemaFor({ action: 'drill' })).toBe(DrillRequest);
    expect(DrillRequest.parse({ action: 'drill', requestedBy: 'ops', reason: 'weekly' })).toEqual({ action: 'drill', requestedBy: 'ops', reason: 'weekly' });
    expect(DrillRequest.safeParse({ action: 'drill', version: 'v2' }).success).toBe(false);
  });
});
