import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import rehearsalConfig from '../../examples/rehearsal/runbook.json';
import { freePort } from '../../local/free-port';
import { DEMO_SEED } from '../../local/rehearsal/demo-data';
import { refusesConnections, runCliProcess } from '../support/connections';

const BIN = resolve(import.meta.dirname, '../../bin/deploy-runbook.js');
/** Each rehearsal starts its own PostgreSQL and demo app. */
const REHEARSAL_TIMEOUT_MS = 120_000;
/** Known to the test, so that it can tell it never appears in any output. */
const SMOKE_PASSWORD = `e2e-${Date.now()}-never-printed`;

const workdirs: string[] = [];
afterAll(async () => {
  await Promise.all(workdirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: Record<string, any>;
  readonly workdir: string;
  readonly port: number;
}

/** `node bin/deploy-runbook.js rehearse --json --port <free> --workdir <tmp> …`, as a user would run it. */
async function rehearseCli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliRun> {
  const workdir = await mkdtemp(join(tmpdir(), 'e2e-rehearse-'));
  workdirs.push(workdir);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DEMO_SMOKE_PASSWORD: SMOKE_PASSWORD };
  // The rehearsal would use a database from the environment: these runs must start their own.
  delete env.DATABASE_URL;
  delete env.GITHUB_STEP_SUMMARY;
  Object.assign(env, extraEnv);
  const { code, stdout, stderr } = await runCliProcess(BIN, ['rehearse', '--json', '--port', String(port), '--workdir', workdir, ...args], env);
  const lines = stdout.trim().split('\n');
  expect(lines, `stdout must be one JSON object; stderr:\n${stderr}`).toHaveLength(1);
  return { code, stdout, stderr, json: JSON.parse(lines[0]), workdir, port };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/** What every rehearsal must leave: the evidence report with each state's duration, nothing running, no secret anywhere. */
async function expectEvidenceAndCleanup(run: CliRun): Promise<Record<string, any>> {
  expect(Object.keys(run.json)).toEqual(expect.arrayContaining(['outcome', 'states', 'durationMs', 'report', 'error', 'cause', 'scenario', 'verification']));
  const markdownPath: string = run.json.report;
  expect(markdownPath.startsWith(join(run.workdir, 'store', 'reports', 'demo-app'))).toBe(true);
  const report = JSON.parse(await readFile(markdownPath.replace(/\.md$/, '.json'), 'utf8'));
  const markdown = await readFile(markdownPath, 'utf8');
  const reportStates: { name: string; status: string; ms: number }[] = report.states;
  expect(reportStates.length).toBeGreaterThan(run.json.states.length);
  for (const state of reportStates) {
    expect(state.ms).toBeGreaterThanOrEqual(0);
    expect(markdown).toContain(`| ${state.name} | ${state.status} | ${state.ms} ms |`);
  }
  expect(reportStates.map((s) => s.name)).toEqual(expect.arrayContaining(run.json.states.map((s: { name: string }) => s.name)));
  expect(report.rehearsal.verification.checks).toEqual(run.json.verification.checks);
  expect(markdown).toContain(`## Rehearsal: ${run.json.scenario}`);

  const { database, prometheus } = run.json.workspace;
  expect(await refusesConnections(run.port)).toBe(true);
  expect(await refusesConnections(database.port)).toBe(true);
  expect(existsSync(database.dataDir)).toBe(false);
  expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(database.dataDir);
  if (prometheus) {
    expect(await refusesConnections(Number(new URL(prometheus.url).port))).toBe(true);
    expect(existsSync(prometheus.dir)).toBe(false);
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(prometheus.dir);
  }

  for (const file of await filesUnder(run.workdir)) expect((await readFile(file)).includes(SMOKE_PASSWORD), file).toBe(false);
  expect(run.stdout + run.stderr).not.toContain(SMOKE_PASSWORD);
  return report;
}

const check = (run: CliRun, name: string) => run.json.verification.checks.find((c: { name: string }) => c.name === name);

describe('deploy-runbook rehearse (the real CLI, PostgreSQL and demo app)', () => {
  it(
    'healthy: deploys v2 with its migration, exits 0, the app reports v2 and no row is lost',
    async () => {
      const summaryDir = await mkdtemp(join(tmpdir(), 'e2e-summary-'));
      workdirs.push(summaryDir);
      const summary = join(summaryDir, 'step-summary.md');
      // A developer's own database in the environment is left alone unless --use-database-url asks for it.
      const run = await rehearseCli([], { GITHUB_STEP_SUMMARY: summary, DATABASE_URL: 'postgres://dev:devpass@127.0.0.1:1/their_app' });

      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('DATABASE_URL is set but not used: pass --use-database-url to rehearse against that database');
      expect(run.stderr).toContain('starting a throwaway PostgreSQL');
      const markdown = await readFile(summary, 'utf8');
      expect(markdown).toContain('### deploy-runbook: `v2` ✅ succeeded');
      expect(markdown).toContain('| EvaluateAlarms ×6 | ✔ |');
      expect(markdown).toContain('#### Rehearsal checks (healthy)\n\n- ✔ outcome: succeeded; the healthy scenario expects succeeded');
      expect(run.json).toMatchObject({ outcome: 'succeeded', scenario: 'healthy', error: null });
      expect(run.json.verification.app).toMatchObject({ status: 200, version: 'v2', expectedVersion: 'v2' });
      expect(run.json.verification.data.comparison).toMatchObject({ noRowsLost: true, identical: false });
      expect(run.json.verification.data.after.tables.items.columns).toContain('price_cents');
      expect(run.json.verification.data.before.tables.items.rows).toBeGreaterThan(3000);
      expect(run.json.verification.ok).toBe(true);
      expect(run.stderr).toContain('✔ EvaluateAlarms ×6');
      // The example's analysis, judged against the Prometheus the rehearsal started: every metric passed.
      expect(run.stderr).toMatch(/starting Prometheus on 127\.0\.0\.1, scraping 127\.0\.0\.1:\d+\/metrics/);
      expect(run.json.workspace.prometheus.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(check(run, 'analysis')).toMatchObject({ ok: true, detail: expect.stringMatching(/^every metric passed: p95-latency passing .*; error-rate passing .*; error-lines passing/) });
      // Issue 13: people hear of the deploy when it starts (no earlier release recorded in a fresh workspace: no estimate), then of its end.
      const notifications = await readFile(join(run.workdir, 'store', 'notifications', 'demo-app.log'), 'utf8');
      expect(notifications).toMatch(/^\S+Z \[started\] demo-app: deploying v2\n {2}The deploy of v2 to demo-app has started\./);
      expect(notifications).toContain('  Expected duration: unknown (no successful deployment recorded yet)\n');
      expect(notifications).toContain('  Requested by (as the input says, not verified): deploy-runbook rehearse');
      expect(notifications.indexOf('[started]')).toBeLessThan(notifications.indexOf('[succeeded] demo-app: v2 released'));
      const report = await expectEvidenceAndCleanup(run);
      expect(report.outcome.result).toBe('succeeded');
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    'alarm: v2 answers 5xx under the bake traffic, exits 2 with the app back on v1 and the data intact',
    async () => {
      const run = await rehearseCli(['--scenario', 'alarm']);

      expect(run.code, run.stderr).toBe(2);
      expect(run.json).toMatchObject({ outcome: 'rolled-back', error: 'RolledBack' });
      expect(run.json.cause).toContain('AlarmFired');
      expect(run.json.verification.traffic.byStatus['500']).toBeGreaterThan(0);
      expect(run.json.verification.app).toMatchObject({ status: 200, version: 'v1' });
      expect(run.json.verification.data.comparison.identical).toBe(true);
      expect(run.json.verification.ok).toBe(true);
      const report = await expectEvidenceAndCleanup(run);
      expect(report.alarms.bake).toMatchObject({ decision: 'regressed', newlyFiring: ['demo-app-5xx-ratio'] });
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    'latency-regression: v2 three times slower yet under every absolute limit, exits 2 rolled back by the metric relative to its baseline, no alarm firing',
    async () => {
      const run = await rehearseCli(['--scenario', 'latency-regression']);

      expect(run.code, run.stderr).toBe(2);
      expect(run.json).toMatchObject({ outcome: 'rolled-back', error: 'RolledBack' });
      expect(run.json.cause).toContain('AlarmFired');
      expect(run.json.cause).toMatch(/Metric p95-latency: \d+ failed measurement\(s\).*"result <= baseline \* 2" \(baseline [\d.]+, so <= [\d.]+\)/);
      expect(check(run, 'analysis')).toMatchObject({ ok: true, detail: expect.stringMatching(/^p95-latency failed .*; no alarm fired$/) });
      expect(run.json.verification.app).toMatchObject({ status: 200, version: 'v1' });
      expect(run.json.verification.data.comparison.identical).toBe(true);
      expect(run.json.verification.ok).toBe(true);
      const report = await expectEvidenceAndCleanup(run);
      expect(report.alarms.bake).toMatchObject({ decision: 'regressed', newlyFiring: [] });
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    'log-errors: v2 logs ERROR lines while answering 200, exits 2 rolled back by the log-file metric',
    async () => {
      const run = await rehearseCli(['--scenario', 'log-errors']);

      expect(run.code, run.stderr).toBe(2);
      expect(run.json.cause).toMatch(/Metric error-lines: 1 failed measurement\(s\), the last at check \d+: \d+ does not meet "result == 0"/);
      expect(check(run, 'analysis')).toMatchObject({ ok: true, detail: expect.stringMatching(/^error-lines failed .*; no alarm fired$/) });
      // Answered 200 (a request in flight when the rollback restarts the app may find it unreachable): no alarm could see it.
      expect(run.json.verification.traffic.byStatus['200']).toBeGreaterThan(0);
      expect(Object.keys(run.json.verification.traffic.byStatus).filter((status) => /^[45]/.test(status))).toEqual([]);
      const log = await readFile(join(run.workdir, 'demo-app.log'), 'utf8');
      expect(log).toMatch(/^\S+Z ERROR demo-app v2: GET \/api\/items: injected fault/m);
      expect(log).not.toMatch(/ERROR demo-app v1/);
      expect(run.json.verification.app).toMatchObject({ status: 200, version: 'v1' });
      expect(run.json.verification.ok).toBe(true);
      await expectEvidenceAndCleanup(run);
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    'hosts: the app on three local hosts rolled one at a time, the second fails its ready check: exits 2, host-1 and host-2 back on v1, host-3 never touched',
    async () => {
      const run = await rehearseCli(['--scenario', 'hosts']);

      expect(run.code, run.stderr).toBe(2);
      expect(run.json).toMatchObject({ outcome: 'rolled-back', error: 'RolledBack', scenario: 'hosts' });
      expect(run.json.cause).toMatch(/deploy of v2, batch 2\/3 \(host-2\): 1 host\(s\) failed, more than target\.maxErrors \(0\): host-2 failed: ready check failed: .*DEMO_FAULT=crash.*; succeeded: host-1 .*; not touched: host-3/s);
      expect(run.json.states.map((state: { name: string }) => state.name)).not.toContain('StartMigrations');
      expect(check(run, 'host host-1')).toMatchObject({ ok: true, detail: expect.stringContaining('answers 200 with version v1, started with v1, then v2, then v1;') });
      expect(check(run, 'host host-2')).toMatchObject({ ok: true, detail: expect.stringContaining('answers 200 with version v1, started with v1, then v2, then v1;') });
      expect(check(run, 'host host-3')).toMatchObject({ ok: true, detail: expect.stringContaining('answers 200 with version v1, started with v1; the rollout must never touch it') });
      expect(run.json.verification.ok).toBe(true);
      const report = await expectEvidenceAndCleanup(run);
      expect(report.outcome.result).toBe('rolled-back');
      expect(await refusesConnections(run.port + 1)).toBe(true);
      expect(await refusesConnections(run.port + 2)).toBe(true);
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    'fails when Prometheus is not installed, with exit 1 saying what to install, and leaves nothing running',
    async () => {
      const run = await rehearseCli([], { PROMETHEUS_BIN: '/nonexistent/prometheus' });

      expect(run.code).toBe(1);
      expect(run.json).toMatchObject({ outcome: 'failed', error: 'PrometheusNotFoundError' });
      expect(run.json.cause).toContain("no Prometheus server program '/nonexistent/prometheus' found");
      expect(run.json.cause).toContain('apt-get install prometheus');
      expect(run.stderr).toContain('starting a throwaway PostgreSQL');
      expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(run.workdir);
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    'migration-failure: v3-broken destroys data then fails, exits 2 with the data restored and the broken database kept',
    async () => {
      const run = await rehearseCli(['--scenario', 'migration-failure']);

      expect(run.code, run.stderr).toBe(2);
      expect(run.json.cause).toContain('MigrationFailedError');
      const { data, failedDatabases } = run.json.verification;
      expect(data.comparison.identical).toBe(true);
      expect(data.after).toEqual(data.before);
      expect(failedDatabases).toHaveLength(1);
      expect(failedDatabases[0]).toMatch(/^demo_app_failed_\d{14}$/);
      expect(check(run, 'failed database kept')).toMatchObject({ ok: true, detail: `${failedDatabases[0]} is still on the server` });
      expect(run.json.verification.app).toMatchObject({ status: 200, version: 'v1' });
      const report = await expectEvidenceAndCleanup(run);
      expect(report.restore).toMatchObject({ restored: true, failedCopy: failedDatabases[0] });
      // The runbook's own proof: the restore compared with the fingerprint recorded before the backup.
      expect(check(run, 'restore verified by the runbook')).toMatchObject({ ok: true, detail: expect.stringContaining('the restored data matches the fingerprint recorded before the backup') });
      expect(report.data.restoreComparison).toEqual({ identical: true, differences: [] });
      expect(report.data.fingerprint.checksummed).toEqual(['items', 'users']);
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    "drill: v1's backup restored into a scratch database, checked against its fingerprint and the after-restore checks, dropped; nothing deployed, exit 0",
    async () => {
      const run = await rehearseCli(['--scenario', 'drill']);

      expect(run.code, run.stderr).toBe(0);
      expect(run.json).toMatchObject({ outcome: 'succeeded', scenario: 'drill', error: null, verification: { ok: true } });
      expect(run.json.states.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['AdvanceDrill', 'VerifyDrillCopy', 'DiscardDrillCopy', 'RecordDrill']));
      expect(run.json.states.map((s: { name: string }) => s.name)).not.toContain('Deploy');
      expect(check(run, 'restore drill')).toMatchObject({ ok: true });
      expect(check(run, 'restore drill').detail).toContain('the restored data matches the fingerprint recorded before the backup (3 tables)');
      expect(check(run, 'drill copy dropped')).toMatchObject({ ok: true });
      expect(run.json.verification.app).toMatchObject({ status: 200, version: 'v1' });
      const report = await expectEvidenceAndCleanup(run);
      expect(report.restoreDrill).toMatchObject({ passed: true, discarded: true, scratch: expect.stringMatching(/^demo_app_drill_\d{14}$/) });
      expect(report.lastProvenRestorable).toMatchObject({ action: 'drill', snapshotId: report.backup.snapshotId });
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    'drill-writes-during-backup: items the app creates between the fingerprint and the backup make the copy differ: the drill fails naming items, the copy is dropped, exit 1',
    async () => {
      const run = await rehearseCli(['--scenario', 'drill-writes-during-backup']);

      expect(run.code, run.stderr).toBe(1);
      expect(run.json).toMatchObject({ outcome: 'failed', error: 'DeploymentAborted', scenario: 'drill-writes-during-backup', verification: { ok: true } });
      expect(run.json.cause).toMatch(/the restored data differs from the fingerprint recorded before the backup: items: (\d+) → (\d+) rows/);
      const [, before, after] = /items: (\d+) → (\d+) rows/.exec(run.json.cause) ?? [];
      expect(Number(after) - Number(before)).toBe(3);
      expect(check(run, 'drill copy dropped')).toMatchObject({ ok: true });
      expect(run.json.states.map((s: { name: string }) => s.name)).not.toContain('Deploy');
      const report = await expectEvidenceAndCleanup(run);
      expect(report.restoreDrill).toMatchObject({ passed: false, discarded: true });
      expect(report.lastProvenRestorable).toBeNull();
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    'backfill-incomplete: the migration exits 0 leaving items without a SKU, the after-migrations SQL gate rolls back before any smoke test, data restored and verified',
    async () => {
      const run = await rehearseCli(['--scenario', 'backfill-incomplete']);

      expect(run.code, run.stderr).toBe(2);
      // v1's 4 items and the 3000 the rehearsal seeds (DEMO_SEED), of which the broken backfill reached the first 2.
      const withoutSku = 4 + DEMO_SEED.items - 2;
      expect(run.json.cause).toContain(`DataCheckFailed: 1 of 2 SQL checks failed (after-migrations): 'every item has a sku' returned "${withoutSku}", expected 0`);
      expect(check(run, 'data gate')).toMatchObject({ ok: true });
      expect(check(run, 'restore verified by the runbook')).toMatchObject({ ok: true });
      expect(run.json.verification.data.comparison.identical).toBe(true);
      expect(run.json.verification.app).toMatchObject({ status: 200, version: 'v1' });
      const report = await expectEvidenceAndCleanup(run);
      expect(report.smoke).toBeNull();
      expect(report.data.checks.map((c: { phase: string; passed: boolean }) => [c.phase, c.passed])).toEqual([
        ['preflight', true],
        ['after-migrations', false],
        ['after-restore', true],
      ]);
      // Each check with its phase, the value the database answered, the comparison and the verdict: in --json, the progress and the report.
      const userPresent = (phase: string) => ({ phase, name: 'smoke-test user present', passed: true, value: '1', rows: 1, expected: '= 1', reason: null });
      expect(run.json.dataChecks).toEqual([
        userPresent('preflight'),
        userPresent('after-migrations'),
        { phase: 'after-migrations', name: 'every item has a sku', passed: false, value: String(withoutSku), rows: 1, expected: '= 0', reason: `returned "${withoutSku}", expected 0` },
        userPresent('after-restore'),
      ]);
      const progress = run.stderr.split('\n');
      const gate = progress.findIndex((line) => /^✖ AfterMigrationChecks .* — DataCheckFailed$/.test(line));
      expect(progress.slice(gate + 1, gate + 3)).toEqual([
        '    ✔ smoke-test user present (after-migrations): 1, expected = 1',
        `    ✖ every item has a sku (after-migrations): ${withoutSku}, expected = 0`,
      ]);
      const restored = progress.findIndex((line) => /^ {2}✔ VerifyRestoredData /.test(line));
      expect(progress[restored + 1]).toBe('      ✔ smoke-test user present (after-restore): 1, expected = 1');
      const markdown = await readFile(run.json.report, 'utf8');
      expect(markdown).toContain(`| after-migrations | \`every item has a sku\` | \`${withoutSku}\` | \`= 0\` | **FAILED**: \`returned "${withoutSku}", expected 0\` |`);
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    "smoke-failure: v2's /health fails the smoke tests, exits 2 with v1 back and the database restored",
    async () => {
      const run = await rehearseCli(['--scenario', 'smoke-failure']);

      expect(run.code, run.stderr).toBe(2);
      expect(run.json.cause).toContain('SmokeTestFailed');
      expect(run.json.verification.app).toMatchObject({ status: 200, version: 'v1' });
      expect(run.json.verification.data.comparison.identical).toBe(true);
      await expectEvidenceAndCleanup(run);
    },
    REHEARSAL_TIMEOUT_MS,
  );

  // Issue 12, item 4: the rehearsal plays the person asked before the automatic rollback.
  it(
    'smoke-failure --rollback-approval reject: asked before the rollback, the person keeps v2: exits 1 (ReleaseKept), v2 still runs, nothing restored',
    async () => {
      const run = await rehearseCli(['--scenario', 'smoke-failure', '--rollback-approval', 'reject']);

      expect(run.code, run.stderr).toBe(1);
      expect(run.json).toMatchObject({ outcome: 'failed', error: 'ReleaseKept' });
      expect(run.json.cause).toMatch(/^Kept v2 on demo-app instead of rolling back after SmokeTestFailed: .*The rollback was rejected by deploy-runbook rehearse/);
      expect(run.json.states.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['RequestRollbackApproval', 'AwaitRollbackApproval', 'RecordKept']));
      expect(run.json.states.map((s: { name: string }) => s.name)).not.toContain('RollbackApp');
      expect(run.json.verification.app).toMatchObject({ version: 'v2', expectedVersion: 'v2' });
      expect(check(run, 'rollback approval')).toMatchObject({ ok: true });
      expect(run.json.verification.ok).toBe(true);
      const report = await expectEvidenceAndCleanup(run);
      expect(report).toMatchObject({ outcome: { result: 'kept' }, rollbackApproval: { decision: 'rejected', by: 'deploy-runbook rehearse' }, rollback: null, restore: null });
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    'rollback-failure: v1 cannot come back healthy, exits 1 and leaves the lock stuck for a person',
    async () => {
      const run = await rehearseCli(['--scenario', 'rollback-failure']);

      expect(run.code, run.stderr).toBe(1);
      expect(run.json).toMatchObject({ outcome: 'failed', error: 'RollbackFailed' });
      const lock = JSON.parse(await readFile(join(run.workdir, 'store', 'locks', 'demo-app.json'), 'utf8'));
      expect(lock).toMatchObject({ state: 'stuck', note: expect.stringContaining('RollbackVerificationFailed') });
      expect(check(run, 'lock')).toMatchObject({ ok: true });
      expect(run.json.verification.app).toMatchObject({ status: 500, version: 'v1' });
      const report = await expectEvidenceAndCleanup(run);
      expect(report.outcome.result).toBe('rollback-failed');
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it(
    "exits 4 when the rehearsal's checks do not hold, whatever the execution did: a smoke check v2 cannot pass rolls the healthy scenario back",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'e2e-config-'));
      workdirs.push(dir);
      const config = join(dir, 'runbook.json');
      // Only v1 passes it: the deploy of v2 fails its smoke tests, the rollback to v1 passes them.
      const checks = [...rehearsalConfig.smokeTests.checks, { name: 'still v1', path: '/health', expect: { json: [{ path: '$.version', equals: 'v1' }] } }];
      await writeFile(config, JSON.stringify({ ...rehearsalConfig, smokeTests: { ...rehearsalConfig.smokeTests, checks } }));

      const run = await rehearseCli(['--config', config]);

      expect(run.code, run.stderr).toBe(4);
      expect(run.json).toMatchObject({ outcome: 'rolled-back', error: 'RolledBack', scenario: 'healthy', verification: { ok: false } });
      expect(check(run, 'outcome')).toEqual({ name: 'outcome', ok: false, detail: 'rolled-back; the healthy scenario expects succeeded' });
      expect(run.json.verification.checks.filter((c: { ok: boolean }) => !c.ok)).toHaveLength(1);
      expect(run.json.verification.app).toMatchObject({ status: 200, version: 'v1', expectedVersion: 'v1' });
      await expectEvidenceAndCleanup(run);
    },
    REHEARSAL_TIMEOUT_MS,
  );

  it('fails when the configuration is invalid, with exit 64 naming the field, and starts nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'e2e-config-'));
    workdirs.push(dir);
    const config = join(dir, 'runbook.json');
    await writeFile(config, JSON.stringify({ ...rehearsalConfig, bake: { durationSeconds: 30, pollSeconds: 1 } }));

    const run = await rehearseCli(['--config', config]);

    expect(run.code).toBe(64);
    expect(run.json).toMatchObject({ outcome: 'failed', error: 'ConfigError', report: null });
    expect(run.stderr).toMatch(/bake\.pollSeconds: .*\(got 1\)/);
    expect(await readdir(run.workdir)).toEqual([]);
  });

  it('fails when the configuration needs AWS, with exit 64 naming the field', async () => {
    const run = await rehearseCli(['--config', resolve(import.meta.dirname, '../../config/example.json')]);

    expect(run.code).toBe(64);
    expect(run.stderr).toContain("target.kind: 'ecs' (an ECS service) runs only on AWS");
  });

  it("fails when the app's port is taken, with exit 1, before starting anything", async () => {
    const squatter = createServer();
    const port = await freePort();
    await new Promise<void>((done) => squatter.listen(port, '127.0.0.1', done));
    try {
      const run = await rehearseCli(['--port', String(port)]);

      expect(run.code).toBe(1);
      expect(run.json).toMatchObject({ outcome: 'failed', error: 'RehearsalSetupError' });
      expect(run.json.cause).toContain(`port ${port} on 127.0.0.1 is in use`);
      expect(run.stderr).not.toContain('starting a throwaway PostgreSQL');
    } finally {
      await new Promise((done) => squatter.close(done));
    }
  });

  it('fails when --port is not a port, with exit 64 and the JSON object', async () => {
    const run = await rehearseCli(['--port', '0']);

    expect(run.code).toBe(64);
    expect(run.json).toMatchObject({ outcome: 'failed', error: 'UsageError', cause: '--port: must be a whole number from 1 to 65535 (got "0")' });
  });

  it('fails when --use-database-url is given but the variable is not set, with exit 64 naming it', async () => {
    const run = await rehearseCli(['--use-database-url']);

    expect(run.code).toBe(64);
    expect(run.json).toMatchObject({ outcome: 'failed', error: 'UsageError', cause: '--use-database-url: DATABASE_URL is not set (got nothing)' });
    expect(await readdir(run.workdir)).toEqual([]);
  });

  it('fails when the scenario does not exist, with exit 64 listing the scenarios', async () => {
    const run = await rehearseCli(['--scenario', 'chaos']);

    expect(run.code).toBe(64);
    expect(run.json).toMatchObject({ error: 'UnknownScenarioError', scenario: null });
    expect(run.stderr).toContain('the scenarios are healthy, smoke-failure, alarm, migration-failure, backfill-incomplete, latency-regression, log-errors, hosts, drill, drill-writes-during-backup, rollback-failure');
  });
});
