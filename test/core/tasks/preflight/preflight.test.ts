import { analysisMetric, NO_METRICS, scriptedMetrics } from '../../../support/metric-queries';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SecretRef } from '../../../../config/schema';
import type { AlarmSource } from '../../../../core/ports/alarm-source';
import type { DatabaseBackups, SnapshotQuota } from '../../../../core/ports/database-backups';
import type { DeployTarget } from '../../../../core/ports/deploy-target';
import type { SecretSource } from '../../../../core/ports/secret-source';
import { PreflightEvent, runPreflight } from '../../../../core/tasks/preflight/preflight';
import { AlarmStateUnavailableError, InvalidInputError, PreflightFailedError, SecretUnavailableError } from '../../../../core/errors';
import type { AlarmState, DatabaseInfo, DeployedVersion, PreflightCheck } from '../../../../core/model';
import { config, deployment, fixedClock, NOW, REPO, TD41 } from '../../../adapters/aws/deploy-fixtures';

const running: DeployedVersion = { version: 'v1.4.2', image: `${REPO}:v1.4.2`, ref: TD41 };
const settled: PreflightCheck[] = [{ name: 'ecs service', ok: true, detail: 'shop-api in cluster shop-prod is ACTIVE' }];

function fakeTarget(checks: PreflightCheck[] = settled, current: DeployedVersion | Error = running): DeployTarget {
  const unused = () => Promise.reject(new Error('not used by the preflight'));
  return {
    preflight: async () => checks,
    current: async () => {
      if (current instanceof Error) throw current;
      return current;
    },
    deploy: unused,
    status: unused,
    rollback: unused,
  };
}

const databaseInfo: DatabaseInfo = {
  kind: 'rds-instance',
  identifier: 'shop-prod-db',
  arn: 'arn:aws:rds:eu-west-1:123456789012:db:shop-prod-db',
  engine: 'postgres',
  engineVersion: '16.3',
  status: 'available',
  encrypted: true,
  sizeBytes: 107_374_182_400,
};

function fakeBackups(info: DatabaseInfo | Error = databaseInfo, quota: SnapshotQuota | null = { used: 40, max: 100 }): DatabaseBackups {
  const unused = () => Promise.reject(new Error('not used by the preflight'));
  return {
    describe: async () => {
      if (info instanceof Error) throw info;
      return info;
    },
    quota: async () => quota,
    find: unused,
    create: unused,
    verify: unused,
  };
}

const alarm = (name: string, state: AlarmState['state'], reason: string | null = null): AlarmState => ({ name, state, reason, updatedAt: '2025-06-01T09:58:00.000Z' });

function fakeAlarms(states: AlarmState[] | Error): AlarmSource & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    asked,
    states: async (names) => {
      asked.push([...names]);
      if (states instanceof Error) throw states;
      return states;
    },
  };
}

/** The example's one secret (SMOKE_PASSWORD, shop/prod/smoke-user) readable, or failing with the error given. */
function fakeSecrets(failure?: Error): SecretSource & { read: SecretRef[] } {
  const read: SecretRef[] = [];
  return {
    read,
    resolve: async (ref) => {
      read.push(ref);
      if (failure) throw failure;
      return 'Sm0ke-Pa55-not-to-be-shown';
    },
  };
}

const healthyAlarms = () => fakeAlarms([alarm('shop-api-5xx-rate', 'OK'), alarm('shop-api-p95-latency', 'OK')]);
const event = (overrides: Record<string, unknown> = {}) => PreflightEvent.parse({ config: config(overrides), deployment });

describe('runPreflight', () => {
  it('records the running version, the database and the alarm baseline when everything is fit', async () => {
    const alarms = healthyAlarms();

    const result = await runPreflight(event(), { target: fakeTarget(), backups: fakeBackups(), alarms, clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS });

    expect(result).toEqual({
      running,
      baseline: { takenAt: NOW.toISOString(), alarms: [alarm('shop-api-5xx-rate', 'OK'), alarm('shop-api-p95-latency', 'OK')], metrics: [] },
      database: databaseInfo,
      checks: [
        ...settled,
        { name: 'running version', ok: true, detail: `v1.4.2 (${TD41}): the rollback target` },
        { name: 'database available', ok: true, detail: 'rds-instance shop-prod-db is available' },
        { name: 'snapshot quota', ok: true, detail: '40 of 100 manual snapshots used; this deploy needs 1 more and keeps 1 free' },
        { name: 'smoke-test secret SMOKE_PASSWORD', ok: true, detail: "Secrets Manager secret 'shop/prod/smoke-user' (key 'password') is readable" },
        { name: 'alarm baseline', ok: true, detail: '2 alarm(s), none in ALARM' },
      ],
      checkedAt: NOW.toISOString(),
    });
    expect(alarms.asked).toEqual([['shop-api-5xx-rate', 'shop-api-p95-latency']]);
  });

  it('checks only the database for a restore drill: no target, secret, alarm or metric is read', async () => {
    const alarms = fakeAlarms(new AlarmStateUnavailableError('must not be asked'));
    const drill = PreflightEvent.parse({ config: config(), deployment: { ...deployment, action: 'drill', version: null, image: null } });

    const result = await runPreflight(drill, {
      target: fakeTarget([{ name: 'ecs service', ok: false, detail: 'must not be asked' }], new Error('must not be asked')),
      backups: fakeBackups(),
      alarms,
      clock: fixedClock,
      secrets: fakeSecrets(new SecretUnavailableError('must not be asked')),
      metrics: NO_METRICS,
    });

    expect(result).toEqual({
      running: { version: null, image: null, ref: 'not read: a restore drill deploys nothing' },
      baseline: { takenAt: NOW.toISOString(), alarms: [], metrics: [] },
      database: databaseInfo,
      checks: [
        { name: 'database available', ok: true, detail: 'rds-instance shop-prod-db is available' },
        { name: 'snapshot quota', ok: true, detail: '40 of 100 manual snapshots used; this deploy needs 1 more and keeps 1 free' },
      ],
      checkedAt: NOW.toISOString(),
    });
    expect(alarms.asked).toEqual([]);
  });

  it('fails a restore drill when the database is unfit, as a deploy would', async () => {
    const drill = PreflightEvent.parse({ config: config(), deployment: { ...deployment, action: 'drill', version: null, image: null } });
    const attempt = runPreflight(drill, { target: fakeTarget(), backups: fakeBackups({ ...databaseInfo, status: 'stopped' }), alarms: healthyAlarms(), clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS });
    await expect(attempt).rejects.toThrow(PreflightFailedError);
    await expect(runPreflight(drill, { target: fakeTarget(), backups: fakeBackups({ ...databaseInfo, status: 'stopped' }), alarms: healthyAlarms(), clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS })).rejects.toThrow(
      'database available: rds-instance shop-prod-db is stopped',
    );
  });

  it('fails when, without target.imageRepository, the new image is not from the repository the service runs', async () => {
    const open = PreflightEvent.parse({
      config: config({ target: { ...config().target, imageRepository: undefined } }),
      deployment: { ...deployment, image: 'registry.evil.example.com/shop-api:v1.5.0' },
    });
    const deps = { target: fakeTarget(), backups: fakeBackups(), alarms: healthyAlarms(), clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS };

    await expect(runPreflight(open, deps)).rejects.toThrow(
      `image source: registry.evil.example.com/shop-api:v1.5.0 is not from the repository the service runs (${REPO}:v1.4.2): set target.imageRepository to deploy images from elsewhere`,
    );
    const same = PreflightEvent.parse({ ...open, deployment: { ...deployment, image: `${REPO}:v1.5.0` } });
    expect((await runPreflight(same, deps)).checks).toContainEqual({ name: 'image source', ok: true, detail: `${REPO}:v1.5.0 comes from the repository the service runs (${REPO}:v1.4.2)` });
  });

  it('notes a redeploy of the version already running', async () => {
    const result = await runPreflight(event(), {
      target: fakeTarget(settled, { ...running, version: 'v1.5.0' }),
      backups: fakeBackups(),
      alarms: healthyAlarms(),
      clock: fixedClock,
      secrets: fakeSecrets(),
      metrics: NO_METRICS,
    });

    expect(result.checks).toContainEqual({ name: 'redeploy', ok: true, detail: 'v1.5.0 is already running: this deploy redeploys it' });
  });

  it('fails once, listing every failed check, when target, database, quota and alarms are all unfit', async () => {
    const target = fakeTarget(
      [
        { name: 'no rollout in progress', ok: false, detail: '2 deployment(s)' },
        { name: 'service stable', ok: false, detail: 'running 1 of 3 desired tasks' },
      ],
      new PreflightFailedError('ECS service shop-api in cluster shop-prod is DRAINING, not ACTIVE'),
    );
    const backups = fakeBackups({ ...databaseInfo, status: 'modifying' }, { used: 99, max: 100 });
    const alarms = fakeAlarms([alarm('shop-api-5xx-rate', 'ALARM', 'Threshold Crossed: 3 datapoints > 1.0'), alarm('shop-api-p95-latency', 'OK')]);

    const error = await runPreflight(event({ alarms: { kind: 'cloudwatch', names: ['shop-api-5xx-rate', 'shop-api-p95-latency'], preexisting: 'block' } }), {
      target,
      backups,
      alarms,
      clock: fixedClock,
      secrets: fakeSecrets(),
      metrics: NO_METRICS,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PreflightFailedError);
    expect((error as Error).message).toBe(
      'pre-flight failed for shop-api (6 check(s)): ' +
        [
          'no rollout in progress: 2 deployment(s)',
          'service stable: running 1 of 3 desired tasks',
          'running version: ECS service shop-api in cluster shop-prod is DRAINING, not ACTIVE',
          'database available: rds-instance shop-prod-db is modifying',
          'snapshot quota: 99 of 100 manual snapshots used; this deploy needs 1 more and keeps 1 free',
          'alarm baseline: already in ALARM before the deploy: shop-api-5xx-rate (Threshold Crossed: 3 datapoints > 1.0); alarms.preexisting is "block"',
        ].join('; '),
    );
  });

  it('reports an alarm already firing without blocking when alarms.preexisting is "report"', async () => {
    const alarms = fakeAlarms([alarm('shop-api-5xx-rate', 'ALARM', 'Threshold Crossed'), alarm('shop-api-p95-latency', 'INSUFFICIENT_DATA')]);

    const result = await runPreflight(event(), { target: fakeTarget(), backups: fakeBackups(), alarms, clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS });

    expect(result.checks.at(-1)).toEqual({
      name: 'alarm baseline',
      ok: true,
      detail:
        'already in ALARM before the deploy, reported and not blocking (only new alarms roll back): shop-api-5xx-rate (Threshold Crossed); no data yet: shop-api-p95-latency',
    });
    expect(result.baseline.alarms.map((a) => a.state)).toEqual(['ALARM', 'INSUFFICIENT_DATA']);
  });

  it('fails when an alarm is already firing and alarms.preexisting is "block"', async () => {
    const alarms = fakeAlarms([alarm('shop-api-5xx-rate', 'OK'), alarm('shop-api-p95-latency', 'ALARM')]);

    await expect(
      runPreflight(event({ alarms: { kind: 'cloudwatch', names: ['shop-api-5xx-rate', 'shop-api-p95-latency'], preexisting: 'block' } }), {
        target: fakeTarget(),
        backups: fakeBackups(),
        alarms,
        clock: fixedClock,
        secrets: fakeSecrets(),
        metrics: NO_METRICS,
      }),
    ).rejects.toThrow(
      new PreflightFailedError(
        'pre-flight failed for shop-api (1 check(s)): alarm baseline: already in ALARM before the deploy: shop-api-p95-latency; alarms.preexisting is "block"',
      ),
    );
  });

  it('fails when the alarm states cannot be read: without a baseline the bake cannot judge', async () => {
    const alarms = fakeAlarms(new AlarmStateUnavailableError('CloudWatch has no metric or composite alarm named "shop-api-5xx-rate" (alarms.names)'));

    await expect(runPreflight(event(), { target: fakeTarget(), backups: fakeBackups(), alarms, clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS })).rejects.toThrow(
      new PreflightFailedError(
        'pre-flight failed for shop-api (1 check(s)): alarm baseline: CloudWatch has no metric or composite alarm named "shop-api-5xx-rate" (alarms.names)',
      ),
    );
  });

  it('fails when the database does not exist', async () => {
    const backups = fakeBackups(new PreflightFailedError('database.instanceIdentifier: RDS DB instance "shop-prod-db" does not exist in this account and region'));

    await expect(runPreflight(event(), { target: fakeTarget(), backups, alarms: healthyAlarms(), clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS })).rejects.toThrow(
      /database: database.instanceIdentifier: RDS DB instance "shop-prod-db" does not exist/,
    );
  });

  it('reports the same target failure once when preflight and current trip over it', async () => {
    const missing = 'ECS service shop-api in cluster shop-prod was not found (MISSING)';
    const target = fakeTarget([{ name: 'ecs service', ok: false, detail: missing }], new PreflightFailedError(missing));

    await expect(runPreflight(event(), { target, backups: fakeBackups(), alarms: healthyAlarms(), clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS })).rejects.toThrow(
      new PreflightFailedError(`pre-flight failed for shop-api (1 check(s)): ecs service: ${missing}`),
    );
  });

  it('fails before anything changes when a smoke-test secret cannot be read, naming the secret and never its value', async () => {
    const secrets = fakeSecrets(
      new SecretUnavailableError("Secrets Manager secret 'shop/prod/smoke-user' cannot be read: AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue"),
    );

    const error = await runPreflight(event(), { target: fakeTarget(), backups: fakeBackups(), alarms: healthyAlarms(), clock: fixedClock, secrets, metrics: NO_METRICS }).catch((e: unknown) => e);

    expect(error).toEqual(
      new PreflightFailedError(
        "pre-flight failed for shop-api (1 check(s)): smoke-test secret SMOKE_PASSWORD: Secrets Manager secret 'shop/prod/smoke-user' cannot be read: AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue",
      ),
    );
    expect(secrets.read).toEqual([{ secretsManager: 'shop/prod/smoke-user', jsonKey: 'password' }]);
  });

  it('reads every smoke-test secret and keeps none of their values in what it returns', async () => {
    const secrets = fakeSecrets();
    const smokeTests = { ...config().smokeTests, secrets: { SMOKE_PASSWORD: { secretsManager: 'shop/a' }, B: { secretsManager: 'shop/b', jsonKey: 'token' } } };

    const result = await runPreflight(event({ smokeTests }), { target: fakeTarget(), backups: fakeBackups(), alarms: healthyAlarms(), clock: fixedClock, secrets, metrics: NO_METRICS });

    expect(secrets.read).toEqual([{ secretsManager: 'shop/a' }, { secretsManager: 'shop/b', jsonKey: 'token' }]);
    expect(JSON.stringify(result)).not.toContain('Sm0ke-Pa55');
  });

  it('lets an unexpected error through rather than calling it a failed check', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

    await expect(
      runPreflight(event(), { target: fakeTarget(settled, throttled), backups: fakeBackups(), alarms: healthyAlarms(), clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS }),
    ).rejects.toBe(throttled);
  });

  it('skips the database checks when no database is configured', async () => {
    const result = await runPreflight(event({ database: null }), { target: fakeTarget(), backups: null, alarms: healthyAlarms(), clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS });

    expect(result.database).toBeNull();
    expect(result.checks.map((c) => c.name)).toEqual(['ecs service', 'running version', 'smoke-test secret SMOKE_PASSWORD', 'alarm baseline']);
  });

  it('fails when a database is configured but no backups adapter was given', async () => {
    await expect(runPreflight(event(), { target: fakeTarget(), backups: null, alarms: healthyAlarms(), clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS })).rejects.toThrow(
      new InvalidInputError('config.database is rds-instance but the preflight was given no database adapter'),
    );
  });

  it('does not ask for alarm states when no alarms are configured, and says the bake is blind', async () => {
    const alarms = healthyAlarms();

    const result = await runPreflight(event({ alarms: { kind: 'cloudwatch', names: [] } }), { target: fakeTarget(), backups: fakeBackups(), alarms, clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS });

    expect(alarms.asked).toEqual([]);
    expect(result.baseline.alarms).toEqual([]);
    expect(result.checks.at(-1)).toEqual({ name: 'alarm baseline', ok: true, detail: 'no alarms configured: the bake cannot detect a regression' });
  });

  it('passes the snapshot quota exactly when our snapshot and the headroom still fit', async () => {
    // max lands within a few snapshots of the limit, where an off-by-one would show.
    const around = fc.record({ used: fc.integer({ min: 0, max: 500 }), headroom: fc.integer({ min: 0, max: 20 }), offset: fc.integer({ min: -3, max: 3 }) });
    await fc.assert(
      fc.asyncProperty(around, async ({ used, headroom, offset }) => {
        const max = Math.max(1, used + 1 + headroom + offset);
        const input = event({ database: { kind: 'rds-instance', instanceIdentifier: 'shop-prod-db', snapshotQuotaHeadroom: headroom } });
        const passed = await runPreflight(input, { target: fakeTarget(), backups: fakeBackups(databaseInfo, { used, max }), alarms: healthyAlarms(), clock: fixedClock, secrets: fakeSecrets(), metrics: NO_METRICS }).then(
          () => true,
          () => false,
        );
        return passed === used + 1 + headroom <= max;
      }),
    );
  });
});

describe('runPreflight: analysis metrics', () => {
  const p95 = analysisMetric({ successCondition: 'result <= baseline * 1.2' });
  const errors = analysisMetric({ name: 'log-errors', provider: { kind: 'logs', logGroupNames: ['/ecs/shop-api'], query: 'filter @message like /ERROR/ | stats count()' }, failureCondition: 'result > 0', successCondition: undefined, noData: 'success' });
  const withMetrics = (...metrics: object[]) => event({ analysis: { metrics } });

  /** A target that remembers every call: a preflight reads, never deploys or rolls back. */
  function watchedTarget(): DeployTarget & { calls: string[] } {
    const calls: string[] = [];
    const target = fakeTarget();
    return {
      calls,
      preflight: () => (calls.push('preflight'), target.preflight()),
      current: () => (calls.push('current'), target.current()),
      deploy: (...args) => (calls.push('deploy'), target.deploy(...args)),
      status: (...args) => (calls.push('status'), target.status(...args)),
      rollback: (...args) => (calls.push('rollback'), target.rollback(...args)),
    };
  }

  it('records each metric’s baseline, measured when the preflight runs', async () => {
    const metrics = scriptedMetrics({ p95: [0.21], 'log-errors': [null] });

    const result = await runPreflight(withMetrics(p95, errors), { target: fakeTarget(), backups: fakeBackups(), alarms: healthyAlarms(), clock: fixedClock, secrets: fakeSecrets(), metrics });

    expect(result.baseline.metrics).toEqual([
      { name: 'p95', value: 0.21, at: NOW.toISOString() },
      { name: 'log-errors', value: null, at: NOW.toISOString() },
    ]);
    expect(result.checks.slice(-2)).toEqual([
      { name: 'metric p95', ok: true, detail: 'baseline 0.21 (pass: result <= baseline * 1.2)' },
      { name: 'metric log-errors', ok: true, detail: 'no data yet (fail: result > 0)' },
    ]);
    expect(metrics.asked).toEqual([
      { name: 'p95', at: NOW.toISOString() },
      { name: 'log-errors', at: NOW.toISOString() },
    ]);
  });

  it('fails before anything changes when a query fails, naming the metric and the provider’s own error', async () => {
    const why = 'Prometheus refused the query (HTTP 400): bad_data: invalid parameter "query": 1:27: parse error: unclosed left parenthesis';
    const target = watchedTarget();

    const error = await runPreflight(withMetrics(p95, errors), {
      target,
      backups: fakeBackups(),
      alarms: healthyAlarms(),
      clock: fixedClock,
      secrets: fakeSecrets(),
      metrics: scriptedMetrics({ p95: [{ error: why }], 'log-errors': [3] }),
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PreflightFailedError);
    expect((error as Error).message).toBe(`pre-flight failed for shop-api (1 check(s)): metric p95: the prometheus query failed: ${why}`);
    expect(target.calls).toEqual(['preflight', 'current']);
  });

  it('fails when a relative condition has no baseline, and says how to fix it', async () => {
    const error = await runPreflight(withMetrics(p95), {
      target: fakeTarget(),
      backups: fakeBackups(),
      alarms: healthyAlarms(),
      clock: fixedClock,
      secrets: fakeSecrets(),
      metrics: scriptedMetrics({ p95: [null] }),
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PreflightFailedError);
    expect((error as Error).message).toMatch(/^pre-flight failed for shop-api \(1 check\(s\)\): metric p95: no data before the deploy, .*give it a window with data, an absolute condition, or dryRun$/);
  });

  it('lists a failed metric together with the other failed checks', async () => {
    const error = await runPreflight(withMetrics(p95), {
      target: fakeTarget(),
      backups: fakeBackups({ ...databaseInfo, status: 'modifying' }),
      alarms: healthyAlarms(),
      clock: fixedClock,
      secrets: fakeSecrets(),
      metrics: scriptedMetrics({ p95: [{ error: 'Prometheus at https://prometheus.example.com did not answer: fetch failed' }] }),
    }).catch((e: unknown) => e);

    expect((error as Error).message).toBe(
      'pre-flight failed for shop-api (2 check(s)): database available: rds-instance shop-prod-db is modifying; metric p95: the prometheus query failed: Prometheus at https://prometheus.example.com did not answer: fetch failed',
    );
  });

  it('goes on when only a dry-run metric fails', async () => {
    const result = await runPreflight(withMetrics({ ...p95, dryRun: true }), {
      target: fakeTarget(),
      backups: fakeBackups(),
      alarms: healthyAlarms(),
      clock: fixedClock,
      secrets: fakeSecrets(),
      metrics: scriptedMetrics({ p95: [{ error: 'unknown log group' }] }),
    });
    expect(result.checks.at(-1)).toEqual({ name: 'metric p95', ok: true, detail: 'the prometheus query failed: unknown log group (dry run: reported, never deciding)' });
  });
});
