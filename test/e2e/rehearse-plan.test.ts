import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import planExample from '../../examples/rehearsal/plan/plan.json';
import production from '../../examples/rehearsal/plan/production.json';
import staging from '../../examples/rehearsal/plan/staging.json';
import { freePort } from '../../local/free-port';
import { refusesConnections, runCliProcess } from '../support/connections';

const BIN = resolve(import.meta.dirname, '../../bin/deploy-runbook.js');
/** Two PostgreSQL servers, two apps, two or three child executions. */
const PLAN_TIMEOUT_MS = 180_000;

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The example plan with its two stages on free ports, written to a temporary directory. */
async function planOnFreePorts(changes: (plan: typeof planExample) => unknown = (plan) => plan): Promise<{ dir: string; ports: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'e2e-plan-'));
  dirs.push(dir);
  const ports = [await freePort(), await freePort()];
  for (const [index, [name, config]] of ([['staging', staging], ['production', production]] as const).entries()) {
    const port = ports[index];
    const moved = {
      ...config,
      target: { ...config.target, port },
      smokeTests: { ...config.smokeTests, baseUrl: `http://127.0.0.1:${port}` },
      alarms: { ...config.alarms, metricsUrl: `http://127.0.0.1:${port}/metrics` },
    };
    await writeFile(join(dir, `${name}.json`), JSON.stringify(moved));
  }
  await writeFile(join(dir, 'plan.json'), JSON.stringify(changes(structuredClone(planExample))));
  return { dir, ports };
}

async function rehearsePlan(scenario: string, dir: string): Promise<{ code: number | null; json: Record<string, any>; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  delete env.GITHUB_STEP_SUMMARY;
  // Commands in the stage configurations are relative to the repository root, where the CLI runs.
  const { code, stdout, stderr } = await runCliProcess(BIN, ['rehearse', '--scenario', scenario, '--plan', join(dir, 'plan.json'), '--workdir', join(dir, 'work'), '--json'], env, resolve(import.meta.dirname, '../..'));
  const lines = stdout.trim().split('\n');
  expect(lines, `stdout must be one JSON object; stderr:\n${stderr}`).toHaveLength(1);
  return { code, json: JSON.parse(lines[0]) as Record<string, any>, stderr };
}

describe('deploy-runbook rehearse --scenario plan | plan-failure (the real CLI, two runbooks, two PostgreSQL, two apps)', () => {
  it(
    'takes staging, then production, to v2 through their runbooks with a soak between, and exits 0',
    async () => {
      const { dir, ports } = await planOnFreePorts();
      const { code, json, stderr } = await rehearsePlan('plan', dir);
      expect(code, stderr).toBe(0);
      expect(json.outcome).toBe('succeeded');
      expect(json.stages.map((s: any) => [s.name, s.status, s.deployment.ended, s.rollback])).toEqual([
        ['staging', 'succeeded', 'SUCCEEDED', null],
        ['production', 'succeeded', 'SUCCEEDED', null],
      ]);
      expect(json.stages[0].gates).toEqual([{ kind: 'soak', passed: true, detail: 'soaked 300 s' }]);
      expect(json.verification.checks.filter((c: any) => !c.ok)).toEqual([]);
      expect(json.verification.checks.find((c: any) => c.name === 'production app').detail).toContain('version v2');
      // Nested progress: the stage header, then the child's own steps indented under it.
      expect(stderr).toMatch(/▶ stage staging: deploy v2 \(.+-s1-staging\)\n {4}✔ ValidateInput/);
      expect(stderr).toMatch(/⏸ soak /);
      const report = await readFile(json.report, 'utf8');
      expect(report).toContain('# Release plan demo-app: succeeded');
      expect(report).toMatch(/\| 2 \| `production` \| `demo-app-production` \| `v2` \| succeeded \| .+SUCCEEDED \(\[report\]\(.+\.md\)\)/);
      for (const port of ports) expect(await refusesConnections(port)).toBe(true);
    },
    PLAN_TIMEOUT_MS,
  );

  it(
    'rolls production back itself and staging back through the plan when production fails, and exits 2',
    async () => {
      const { dir } = await planOnFreePorts();
      const { code, json, stderr } = await rehearsePlan('plan-failure', dir);
      expect(code, stderr).toBe(2);
      expect(json.outcome).toBe('rolled-back');
      expect(json.error).toBe('RolledBack');
      expect(json.stages.map((s: any) => [s.name, s.status, s.deployment.ended, s.rollback?.ended ?? null])).toEqual([
        ['staging', 'rolled-back', 'SUCCEEDED', 'RolledBack'],
        ['production', 'rolled-back', 'RolledBack', null],
      ]);
      const checks = Object.fromEntries(json.verification.checks.map((c: any) => [c.name, c]));
      expect(checks['staging app'].detail).toContain('with version v1');
      expect(checks['production app'].detail).toContain('with version v1');
      expect(checks['production data'].detail).toContain('identical to before the plan');
      expect(json.verification.ok).toBe(true);
      expect(stderr).toMatch(/↩ stage staging: rollback \(.+-r1-staging\)\n {4}✔ ValidateInput \S+\n {4}✔ AcquireLock \S+\n {4}✔ CheckRollbackWindow/);
      // The staging rollback's own evidence report names the plan as its trigger.
      const rollbackReport = JSON.parse(await readFile(json.stages[0].rollback && (await planReportLink(json.report, 'staging')), 'utf8')) as Record<string, any>;
      expect(rollbackReport.outcome.cause).toContain('ReleasePlanRolledBack');
    },
    PLAN_TIMEOUT_MS,
  );

  it('refuses a plan whose stage has no version before starting anything, naming the field (exit 64)', async () => {
    const { dir } = await planOnFreePorts((plan) => ({ ...plan, stages: [{ ...plan.stages[0], version: undefined }, plan.stages[1]] }));
    const { code, json, stderr } = await rehearsePlan('plan', dir);
    expect(code).toBe(64);
    expect(json.outcome).toBe('failed');
    expect(stderr).toContain('stages[0].version: required');
    expect(stderr).not.toContain('starting a throwaway PostgreSQL');
  });
});

/** The JSON report of a stage's rollback, from the link the plan's Markdown report gives. */
async function planReportLink(planReport: string, stage: string): Promise<string> {
  const markdown = await readFile(planReport, 'utf8');
  const row = markdown.split('\n').find((line) => line.includes(`| \`${stage}\` |`)) ?? '';
  const links = [...row.matchAll(/\(\[report\]\(([^)]+)\.md\)\)/g)].map((m) => m[1]);
  return `${links.at(-1)}.json`;
}
