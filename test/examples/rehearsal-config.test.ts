import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { placeProblems } from '../../config/kinds';
import { parseConfig } from '../../config/load';
import { watchedAlarms } from '../../config/watched-alarms';
import { usesRehearsalPrometheus } from '../../local/rehearsal/rehearsal-config';
import raw from '../../examples/rehearsal/runbook.json';
import { REPO_ROOT } from './demo-app-process';

describe('examples/rehearsal/runbook.json', () => {
  const config = parseConfig(raw, 'examples/rehearsal/runbook.json');

  it('parses, and uses the local kinds only a rehearsal runs', () => {
    expect(placeProblems(config, 'local')).toEqual([]);
    expect(placeProblems(config, 'aws').map((problem) => problem.split(':')[0])).toEqual([
      'target.kind',
      'migrations.kind',
      'alarms.kind',
      'database.connection',
      'network',
      'analysis.metrics[0].provider.url',
      'analysis.metrics[1].provider.url',
      'analysis.metrics[2].provider.kind',
      'smokeTests.secrets.SMOKE_PASSWORD',
    ]);
  });

  it('judges the release by the numbers too: p95 latency against its baseline and the 5xx rate from the Prometheus the rehearsal starts, ERROR lines in the app log', () => {
    if (config.target.kind !== 'process') throw new Error('expected a process target');
    expect(config.analysis.metrics.map((metric) => [metric.name, metric.provider.kind, metric.successCondition])).toEqual([
      ['p95-latency', 'prometheus', 'result <= baseline * 2'],
      ['error-rate', 'prometheus', 'result <= 0.01'],
      ['error-lines', 'log-file', 'result == 0'],
    ]);
    expect(usesRehearsalPrometheus(config)).toBe(true);
    expect(config.analysis.metrics.filter((metric) => metric.provider.kind === 'prometheus').map((metric) => 'url' in metric.provider && metric.provider.url)).toEqual([
      'http://{{prometheus.address}}',
      'http://{{prometheus.address}}',
    ]);
    expect(config.analysis.metrics[2].provider).toMatchObject({ path: '{{workdir}}/demo-app.log' });
    expect(config.target.env).toEqual({ DEMO_LATENCY_MS: '75', DEMO_LOG_FILE: '{{workdir}}/demo-app.log' });
  });

  it('keeps v2 of the latency-regression scenario (three times v1) under the absolute limits: the p95 alarm and the smoke budgets', () => {
    if (config.target.kind !== 'process' || config.alarms.kind !== 'prometheus') throw new Error('expected a process target and prometheus alarms');
    const slowest = 3 * Number(config.target.env.DEMO_LATENCY_MS);
    const p95Alarm = config.alarms.rules.find((rule) => rule.metric === 'latency-p95')?.threshold ?? 0;
    const itemsBudget = config.smokeTests.checks.find((check) => check.path === '/api/items')?.expect.maxLatencyMs ?? 0;

    expect(slowest).toBeLessThan(p95Alarm / 2);
    expect(slowest).toBeLessThan(itemsBudget / 2);
  });

  it('runs the demo app and its migrations from files that exist', () => {
    if (config.target.kind !== 'process' || config.migrations?.kind !== 'command') throw new Error('expected a process target and command migrations');
    expect(existsSync(resolve(REPO_ROOT, config.target.command[1]))).toBe(true);
    expect(config.migrations.command).toBe('node examples/demo-app/migrate.mjs {{version}}');
    expect(config.database).toMatchObject({ kind: 'postgres', urlEnv: 'DATABASE_URL', restorePolicy: 'when-migrations-ran' });
  });

  it('points the smoke tests and the metrics at the port the target listens on', () => {
    if (config.target.kind !== 'process' || config.alarms.kind !== 'prometheus') throw new Error('expected a process target and prometheus alarms');
    expect(new URL(config.smokeTests.baseUrl)).toMatchObject({ hostname: '127.0.0.1', port: String(config.target.port) });
    expect(new URL(config.alarms.metricsUrl)).toMatchObject({ hostname: '127.0.0.1', port: String(config.target.port), pathname: '/metrics' });
  });

  it("models the seeds' smoke tests: health with the version, database, login → token → profile, 401 without a token", () => {
    const checks = config.smokeTests.checks;
    expect(checks.map((check) => check.name)).toEqual(['health', 'database health', 'items', 'login', 'profile with token', 'protected without token']);
    expect(checks[0].expect.json).toContainEqual({ path: '$.version', equals: '{{version}}' });
    expect(checks.filter((check) => check.expect.maxLatencyMs !== undefined).map((check) => [check.name, check.expect.maxLatencyMs])).toEqual([
      ['health', 500],
      ['database health', 500],
      ['items', 500],
      ['profile with token', 500],
    ]);
    expect(checks[3].capture).toEqual({ token: '$.token' });
    expect(checks[4].headers).toEqual({ Authorization: 'Bearer {{vars.token}}' });
    expect(checks[5].expect.status).toBe(401);
    expect(config.smokeTests.secrets).toEqual({ SMOKE_PASSWORD: { env: 'DEMO_SMOKE_PASSWORD' } });
    expect(JSON.stringify(raw)).not.toMatch(/password"\s*:\s*"(?!\{\{)/i);
  });

  it("alarms on the seeds' thresholds (5xx > 1 %, p95 > 500 ms) over a short bake", () => {
    if (config.alarms.kind !== 'prometheus') throw new Error('expected prometheus alarms');
    expect(config.alarms.rules.map(({ metric, threshold }) => ({ metric, threshold }))).toEqual([
      { metric: 'error-ratio', threshold: 0.01 },
      { metric: 'latency-p95', threshold: 500 },
    ]);
    expect(watchedAlarms(config.alarms)).toHaveLength(2);
    expect(config.bake.durationSeconds).toBeLessThanOrEqual(60);
  });
});
