import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildEvidenceReport, reportKeys, type ReportSlots } from '../../../../core/tasks/ledger/evidence-report';
import { LedgerSlots } from '../../../../core/tasks/ledger/slots';
import { loadDefinition } from '../../../../statemachines/definition';
import { runbookFlowchart } from '../../../../core/runbook-flowchart';
import { metricRecordOf } from '../../../support/metric-records';
import { bake, deployment, execution, logicalCopy, preflight, releasedSlots, restored, smokeReport, snapshot } from './fixtures';

const NOW = new Date('2025-03-04T10:45:00.000Z');

function slotsOf(raw: object, outcome: ReportSlots['outcome'] = null): ReportSlots {
  return { ...LedgerSlots.parse(JSON.parse(JSON.stringify(raw))), outcome };
}

const released = () =>
  slotsOf(releasedSlots(), {
    result: 'succeeded',
    cause: 'Released v1.4.2 (replacing v1.4.1); 5/5 smoke checks passed; no new alarms in 30 min',
    reportKey: null,
    ledgerKey: null,
  });

const rolledBack = (extra: object = {}) =>
  slotsOf(
    {
      ...releasedSlots(),
      smoke: smokeReport('deploy', ['health']),
      bake: null,
      error: { Error: 'SmokeTestFailed', Cause: '1 of 5 checks failed: health' },
      rollback: { kind: 'ecs', ref: preflight.running.ref, version: 'v1.4.1', image: null, deploymentId: 'ecs-svc/2', startedAt: '2025-03-04T10:13:00.000Z' },
      restore: restored,
      approval: { approved: true, by: 'alice', comment: null },
      verify: smokeReport('rollback'),
      ...extra,
    },
    { result: 'rolled-back', cause: 'Rolled back shop-api from v1.4.2 to v1.4.1 after SmokeTestFailed.', reportKey: null, ledgerKey: null },
  );

describe('buildEvidenceReport', () => {
  it('names the failed watch checkpoint that started a rollback', () => {
    const watch = { releaseId: deployment.id, checkpoint: 3, at: '2025-03-04T13:45:00.000Z', metrics: ['p95'], reason: 'Metric p95: 0.9 does not meet "result <= baseline * 2"' };
    const { json, markdown } = buildEvidenceReport(rolledBack({ deployment: { ...deployment, action: 'rollback', watch } }), NOW);
    expect(json.watch).toEqual({ checkpoint: 3, at: '2025-03-04T13:45:00.000Z', metrics: ['p95'], reason: watch.reason });
    expect(markdown).toContain('| Watch checkpoint | 3 (2025-03-04T13:45:00.000Z): Metric p95: 0.9 does not meet "result <= baseline * 2" |');
    expect(buildEvidenceReport(rolledBack(), NOW).json.watch).toBeNull();
  });

  it('says who deployed what over what, with the backup, migrations, checks and alarms', () => {
    const { json } = buildEvidenceReport(released(), NOW);
    expect(json).toMatchObject({
      schemaVersion: 1,
      target: 'shop-api',
      deploymentId: deployment.id,
      execution: { id: execution.id, name: 'deploy-v1-4-2' },
      action: 'deploy',
      requestedBy: 'ci@github-actions',
      reason: 'Release 1.4.2: checkout retries',
      outcome: { result: 'succeeded' },
      versions: {
        before: { version: 'v1.4.1', ref: preflight.running.ref },
        after: { version: 'v1.4.2', ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:42' },
      },
      backup: { snapshotId: snapshot.id, status: 'available', encrypted: true, manifestKey: `backups/shop-api/${deployment.id}.json` },
      migrations: { configured: true, started: true, status: 'succeeded' },
      alarms: {
        baseline: { takenAt: '2025-03-04T10:00:05.000Z', firing: ['shop-api-p95-latency'], watched: ['shop-api-5xx-rate', 'shop-api-p95-latency'] },
        bake: { checks: 30, decision: 'healthy', firingAtBaseline: ['shop-api-p95-latency'], newlyFiring: [] },
      },
      rollback: null,
      restore: null,
      errors: [],
      durationMs: 45 * 60_000,
      generatedAt: NOW.toISOString(),
    });
    expect(json.smoke?.results[0]).toEqual({ name: 'health', passed: true, status: 200, latencyMs: 40, attempts: 1 });
    expect(json.decisions).toContain('Already in ALARM before the deploy, reported and not blocking: shop-api-p95-latency');
    expect(json.decisions).toContain('Bake healthy after 30 of 30 check(s) over 30 min');
  });

  it('orders the timeline by time and ends it with the report', () => {
    const { json } = buildEvidenceReport(released(), NOW);
    const times = json.timeline.map((t) => Date.parse(t.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(json.timeline[0]).toEqual({ at: execution.startedAt, event: 'execution started' });
    expect(json.timeline.map((t) => t.event)).toContain(`snapshot ${snapshot.id} available`);
    expect(json.timeline.at(-1)).toEqual({ at: NOW.toISOString(), event: 'report written' });
  });

  it('reports the rollback, the restore decision and steps, the verification and the error', () => {
    const { json, markdown } = buildEvidenceReport(rolledBack(), NOW);
    expect(json.rollback).toEqual({ to: { version: 'v1.4.1', image: preflight.running.image, ref: preflight.running.ref }, ref: preflight.running.ref, startedAt: '2025-03-04T10:13:00.000Z' });
    expect(json.restore).toMatchObject({
      summary: `Database restored from snapshot ${snapshot.id}; the failed database is kept as shop-prod-db-failed-20250304101800.`,
      decision: 'restored',
      approval: { approved: true, by: 'alice' },
    });
    expect(json.restore?.steps).toHaveLength(3);
    expect(json.verification?.passed).toBe(true);
    expect(json.errors).toEqual([{ during: 'deployment', name: 'SmokeTestFailed', message: '1 of 5 checks failed: health' }]);
    expect(markdown).toContain('## Database restore');
    expect(markdown).toContain('- Approval: approved by alice');
    expect(markdown).toContain('| health | FAILED | 503 | 40 ms | 4 |');
    expect(markdown).toContain('## Rollback verification');
  });

  it('never carries smoke response bodies or an error trace into the report', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9]{16,40}$/), (token) => {
        const secret = `sk_live_${token}`;
        const leaky = smokeReport('deploy', ['login']);
        leaky.results[2].failures = [`expected $.token to exist; body was {"token":"${secret}"}`];
        const slots = rolledBack({
          smoke: leaky,
          error: { Error: 'DeploymentFailedError', Cause: JSON.stringify({ errorType: 'DeploymentFailedError', errorMessage: 'rollout failed', trace: [`at login (${secret})`] }) },
        });
        const { json, markdown } = buildEvidenceReport(slots, NOW);
        expect(JSON.stringify(json)).not.toContain(secret);
        expect(markdown).not.toContain(secret);
        expect(json.errors[0].message).toBe('rollout failed');
      }),
      { numRuns: 25 },
    );
  });

  it('adds the per-state durations the rehearsal measured', () => {
    const states = [
      { name: 'AcquireLock', status: 'succeeded', ms: 12 },
      { name: 'SmokeTest', status: 'succeeded', ms: 1830 },
    ];
    const { json, markdown } = buildEvidenceReport(released(), NOW, { states });
    expect(json.states).toEqual(states);
    expect(markdown).toContain('| SmokeTest | succeeded | 1830 ms |');
  });

  describe('analysis metrics', () => {
    const latency = metricRecordOf('latency_p95', [0.21, 0.61], { outcomes: ['success', 'failure'], checks: [2, 5] });
    const errors = metricRecordOf('log<errors>', [0, 1], { condition: 'fail: result > 5', baseline: 0, dryRun: true });
    const regressed = () =>
      rolledBack({
        bake: { ...bake, decision: 'regressed', analysis: [latency, errors], reason: 'Metric latency_p95: 1 failed measurement(s), the last at check 5' },
        error: { Error: 'AlarmFired', Cause: 'Metric latency_p95 failed' },
      });

    it('reports each metric with its checkpoints, thresholds, verdict and the key of its chart', () => {
      const { json, charts } = buildEvidenceReport(regressed(), NOW);
      const keys = reportKeys('shop-api', deployment.id);
      expect(json.analysis?.reason).toBe('Metric latency_p95: 1 failed measurement(s), the last at check 5');
      expect(json.analysis?.metrics).toMatchObject([
        { name: 'latency_p95', baseline: 0.2, checkpoints: [{ check: 2, value: 0.21 }, { check: 5, value: 0.61, outcome: 'failure' }], verdict: 'failed', chart: keys.chart('latency_p95') },
        { name: 'log<errors>', dryRun: true, thresholds: [{ kind: 'fail', bound: 5 }], chart: `reports/shop-api/${deployment.id}.log_errors_.svg` },
      ]);
      expect(charts.map((chart) => chart.key)).toEqual(json.analysis?.metrics.map((metric) => metric.chart));
      expect(charts[0].svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(json.decisions).toContain('Bake regressed after 30 check(s): Metric latency_p95: 1 failed measurement(s), the last at check 5');
    });

    it('puts the verdict table and the charts (linked beside the report) in the Markdown', () => {
      const { markdown } = buildEvidenceReport(regressed(), NOW);
      expect(markdown).toContain(
        [
          '## Analysis',
          '',
          'Metric latency_p95: 1 failed measurement(s), the last at check 5',
          '',
          '| Metric | Baseline | check 1 | check 2 | check 5 | Threshold | Verdict |',
          '|---|---:|---:|---:|---:|---|---|',
          '| `latency_p95` | 0.2 | - | 0.21 | 0.61 ✖ | `pass <= 0.24 (baseline * 1.2)` | **FAILED** |',
          '| `log<errors>` | 0 | 0 | 1 | - | `fail > 5` | passing (dry run) |',
        ].join('\n'),
      );
      expect(markdown).toContain(`![latency_p95 over the bake](${deployment.id}.latency_p95.svg)`);
      expect(markdown).toContain(`![log_errors_ over the bake](${deployment.id}.log_errors_.svg)`);
    });

    it('gives two metrics whose names differ only by unsafe characters two charts', () => {
      const slots = rolledBack({ bake: { ...bake, analysis: [metricRecordOf('a<b', [1]), metricRecordOf('a>b', [2])] } });
      const { charts } = buildEvidenceReport(slots, NOW);
      expect(new Set(charts.map((chart) => chart.key)).size).toBe(2);
    });

    it('has no analysis section without metrics', () => {
      const { json, markdown, charts } = buildEvidenceReport(released(), NOW);
      expect(json.analysis).toBeNull();
      expect(charts).toEqual([]);
      expect(markdown).not.toContain('## Analysis');
    });
  });

  it('draws the runbook with the path taken when it knows the states and the definition', () => {
    const states = [
      { name: 'ValidateInput', status: 'succeeded', ms: 5 },
      { name: 'SmokeTest', status: 'succeeded', ms: 1830 },
      { name: 'SmokeTestsFailed', status: 'succeeded', ms: 0 },
      { name: 'RollbackApp', status: 'succeeded', ms: 300 },
    ];
    const { markdown } = buildEvidenceReport(rolledBack(), NOW, { states, definition: loadDefinition() });
    const block = /## Path through the runbook\n\n.*\n\n```mermaid\n(flowchart TD\n[\s\S]*?)```/.exec(markdown);
    expect(block?.[1]).toBe(runbookFlowchart(loadDefinition(), states));
    expect(block?.[1]).toMatch(/^ {2}class n_SmokeTestsFailed failed$/m);
    // Without the states it draws no path it does not know.
    expect(buildEvidenceReport(rolledBack(), NOW, { definition: loadDefinition() }).markdown).not.toContain('```mermaid');
  });

  it('renders a Markdown report a person can read top to bottom', () => {
    const { markdown } = buildEvidenceReport(released(), NOW);
    expect(markdown.startsWith('# shop-api: deploy v1.4.2 — succeeded\n\nReleased v1.4.2 (replacing v1.4.1)')).toBe(true);
    const sections = [...markdown.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(sections).toEqual(['Preflight', 'Backup', 'Migrations', 'Smoke tests', 'Alarms', 'Decisions', 'Timeline']);
    expect(markdown).toContain(`- Snapshot \`${snapshot.id}\` of shop-prod-db: available, encrypted, 50.0 GiB`);
    // requestedBy is the caller's own word; the identity is where CloudTrail records it.
    expect(markdown).toContain('| Requested by (as the input says, not verified) | ci@github-actions |');
    expect(markdown).toMatch(/\| Started by \| the principal CloudTrail records for StartExecution of arn:aws:states:\S+ \|/);
  });

  it('shows the logical copy beside the snapshot, and that a rollback restores the snapshot', () => {
    const { json, markdown } = buildEvidenceReport(slotsOf({ ...releasedSlots(), snapshot: { ...snapshot, logicalCopy } }, { result: 'succeeded', cause: 'released', reportKey: null, ledgerKey: null }), NOW);
    expect(json.backup?.logicalCopy).toEqual(logicalCopy);
    expect(markdown).toContain(
      `- Logical copy beside it (pg_dump -Fc of shop): available, 70.0 MiB, stored at backups/shop-api/${snapshot.id}.dump (sha256 ${'c'.repeat(64)}); a rollback restores the snapshot, the dump is a portable copy`,
    );
    expect(buildEvidenceReport(released(), NOW).json.backup?.logicalCopy).toBeNull();
    expect(buildEvidenceReport(released(), NOW).markdown).not.toContain('Logical copy');
  });

  it('keeps a multi-line error message on one line', () => {
    const { markdown } = buildEvidenceReport(rolledBack({ error: { Error: 'MigrationFailedError', Cause: 'exit code 1\nrelation "orders" | already exists' } }), NOW);
    expect(markdown).toContain('- During the deployment: MigrationFailedError: exit code 1 relation "orders" | already exists');
  });
});

describe('buildEvidenceReport: data checks', () => {
  const gate = {
    phase: 'after-migrations',
    passed: false,
    summary: "1 of 1 SQL checks failed (after-migrations): 'backfill complete' returned \"12\", expected 0",
    results: [{ name: 'backfill complete', passed: false, value: '12', rows: 1, expected: '= 0', reason: 'returned "12", expected 0', durationMs: 4 }],
    comparison: null,
    startedAt: '2025-03-04T10:12:00.000Z',
    durationMs: 6,
  };
  const restoreCheck = {
    ...gate,
    phase: 'after-restore',
    passed: true,
    summary: '1 SQL check passed (after-restore); the restored data matches the fingerprint recorded before the backup (2 tables)',
    results: [{ name: 'orders | kept', passed: true, value: '1042', rows: 1, expected: '≥ 1000', reason: null, durationMs: 3 }],
    comparison: { identical: true, differences: [], tables: 2 },
  };
  const fingerprint = { tables: { messages: { rows: 40, md5: null }, settings: { rows: 2, md5: '0cc175b9c0f1b6a831c399e269772661' } } };

  it('shows each phase that ran with its checks, the fingerprint before the backup and the restore comparison', () => {
    const { json, markdown } = buildEvidenceReport(rolledBack({ dataGate: gate, restoreCheck, fingerprint }), NOW);

    expect(json.data).toEqual({
      checks: [
        { phase: 'after-migrations', passed: false, summary: gate.summary, results: gate.results },
        { phase: 'after-restore', passed: true, summary: restoreCheck.summary, results: restoreCheck.results },
      ],
      fingerprint: { tables: 2, rows: 42, checksummed: ['settings'] },
      restoreComparison: { identical: true, differences: [] },
    });
    expect(markdown).toContain(
      [
        '## Data checks',
        '',
        "- after-migrations: FAILED: 1 of 1 SQL checks failed (after-migrations): 'backfill complete' returned \"12\", expected 0",
        `- after-restore: passed: ${restoreCheck.summary}`,
        '',
        '| Phase | Check | Observed | Expected | Result |',
        '|---|---|---|---|---|',
        '| after-migrations | `backfill complete` | `12` | `= 0` | **FAILED**: `returned "12", expected 0` |',
        // A `|` in a check's name stays inside its cell.
        '| after-restore | `orders \\| kept` | `1042` | `≥ 1000` | passed |',
        '',
      ].join('\n'),
    );
    expect(markdown).toContain('- Fingerprint before the backup: 2 tables, 42 rows, checksums of settings\n- Restored data matches the fingerprint');
  });

  it('leaves the section out when no check ran and no fingerprint was taken', () => {
    const { json, markdown } = buildEvidenceReport(released(), NOW);
    expect(json.data).toEqual({ checks: [], fingerprint: null, restoreComparison: null });
    expect(markdown).not.toContain('## Data checks');
  });
});

// Issue 12: a hosts target's per-host results are in the report for a successful rollout too, not only in a failure's cause.
describe('buildEvidenceReport: hosts', () => {
  const hosts = [
    { host: 'i-0a', state: 'succeeded', detail: 'Container shop-api Started' },
    { host: 'i-0b', state: 'failed', detail: 'exit 1: docker: pull access denied | retry later' },
  ];

  it('lists each host the rollout reached, with how it ended and the end of its output', () => {
    const slots = slotsOf({ ...releasedSlots(), deployStatus: { status: 'completed', detail: 'deploy of v1.4.2 done in 2 batch(es)', checkedAt: NOW.toISOString(), hosts } }, { result: 'succeeded', cause: 'Released v1.4.2' });
    const { json, markdown } = buildEvidenceReport(slots, NOW);

    expect(json.hosts).toEqual({ deploy: hosts, rollback: null });
    expect(markdown).toContain(
      ['## Hosts', '', '| Host | Deploy | Rollback | Output (end) |', '|---|---|---|---|', '| i-0a | succeeded | - | Container shop-api Started |', '| i-0b | failed | - | exit 1: docker: pull access denied \\| retry later |'].join('\n'),
    );
  });

  it('shows the rollback of each host beside its deploy, and no Hosts section for other targets', () => {
    const rollbackHosts = [{ host: 'i-0a', state: 'succeeded', detail: 'v1.4.1 started' }];
    const slots = slotsOf({ ...releasedSlots(), deployStatus: { status: 'completed', detail: 'done', checkedAt: NOW.toISOString(), hosts: [hosts[0]] }, rollbackStatus: { status: 'completed', detail: 'done', checkedAt: NOW.toISOString(), hosts: rollbackHosts } });

    expect(buildEvidenceReport(slots, NOW).markdown).toContain('| i-0a | succeeded | succeeded | v1.4.1 started |');
    expect(buildEvidenceReport(slotsOf(releasedSlots()), NOW).json.hosts).toBeNull();
    expect(buildEvidenceReport(slotsOf(releasedSlots()), NOW).markdown).not.toContain('## Hosts');
  });
});
