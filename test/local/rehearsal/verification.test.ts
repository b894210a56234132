import { describe, expect, it } from 'vitest';
import type { ReportSlots } from '../../../core/tasks/ledger/evidence-report';
import { LedgerSlots } from '../../../core/tasks/ledger/slots';
import type { ExecutionOutcome } from '../../../core/execution-outcome';
import type { Outcome } from '../../../core/model';
import type { DataFingerprint } from '../../../local/rehearsal/data-fingerprint';
import { scenarioNamed, withAnswer } from '../../../local/rehearsal/scenarios';
import { judgeRehearsal, type MachineState, type VerificationCheck } from '../../../local/rehearsal/verification';
import { parseConfig } from '../../../config/load';
import type { MetricRecord } from '../../../core/model';
import rehearsalConfig from '../../../examples/rehearsal/runbook.json';
import { config, deployment, emptySlots, preflight, releasedSlots, restored, smokeReport } from '../../core/tasks/ledger/fixtures';

const HEALTH_URL = 'http://127.0.0.1:47800/health';
const DEPLOYED = deployment.version as string;
const PREVIOUS = preflight.running.version as string;
const FAILED_COPY = restored.failedCopy as string;

const BEFORE: DataFingerprint = {
  tables: {
    items: { rows: 3000, md5: '5f1c0a', columns: ['id', 'name'] },
    users: { rows: 5, md5: '9b2e44', columns: ['id', 'email'] },
  },
};
/** What the healthy release's migration leaves: a column added, every row kept. */
const MIGRATED: DataFingerprint = { tables: { ...BEFORE.tables, items: { rows: 3000, md5: '77aa01', columns: ['id', 'name', 'price_cents'] } } };
/** What the broken release's migration leaves: rows deleted. */
const ROWS_DELETED: DataFingerprint = { tables: { ...BEFORE.tables, items: { rows: 1500, md5: '0c0c0c', columns: ['id', 'name'] } } };

function ended(result: Outcome['result'], slots: Record<string, unknown>): ReportSlots {
  return { ...LedgerSlots.parse(JSON.parse(JSON.stringify(slots))), outcome: { result, cause: `${result} in the test` } };
}

const succeeded = () => ended('succeeded', releasedSlots());
const rolledBack = () =>
  ended('rolled-back', {
    ...releasedSlots(),
    error: { Error: 'SmokeTestFailed', Cause: 'health failed' },
    rollback: { ...releasedSlots().release, ref: preflight.running.ref, version: PREVIOUS },
    restore: restored,
    restoreCheck: RESTORE_CHECK,
    verify: smokeReport('rollback'),
  });

/** What VerifyRestoredData reports when the restored data matches the fingerprint taken before the backup. */
const RESTORE_CHECK = {
  phase: 'after-restore',
  passed: true,
  summary: 'the restored data matches the fingerprint recorded before the backup (2 tables)',
  results: [],
  comparison: { identical: true, differences: [], tables: 2 },
  startedAt: '2025-03-04T10:20:00.000Z',
  durationMs: 8,
};
const rollbackFailed = () => ended('rollback-failed', { ...releasedSlots(), error: { Error: 'SmokeTestFailed', Cause: 'health failed' }, rollbackError: { Error: 'RollbackVerificationFailed', Cause: 'health failed again' } });
const aborted = () => ended('aborted', { ...emptySlots(), preflight, rollbackTo: preflight.running, error: { Error: 'SnapshotFailedError', Cause: 'pg_dump failed' } });

/** What a person finds after a release that went as planned: the version deployed answers, every row is there, the lock is released. */
function machine(changes: Partial<MachineState> = {}): MachineState {
  return {
    app: { url: HEALTH_URL, status: 200, version: DEPLOYED },
    data: { before: BEFORE, after: MIGRATED },
    failedDatabases: [],
    lock: { state: 'released', note: null },
    ...changes,
  };
}

function judge(scenario: string, outcome: ExecutionOutcome, slots: ReportSlots | null, seen: MachineState) {
  return judgeRehearsal({ scenario: scenarioNamed(scenario), outcome, config, slots, traffic: null }, seen);
}

function check(checks: readonly VerificationCheck[], name: string): VerificationCheck | undefined {
  return checks.find((c) => c.name === name);
}

/** The checks that do not hold, by name. */
function failing(checks: readonly VerificationCheck[]): string[] {
  return checks.filter((c) => !c.ok).map((c) => c.name);
}

describe('judgeRehearsal', () => {
  it('holds after a release that went as planned, checking the outcome, the app, the data and the lock', () => {
    const verification = judge('healthy', 'succeeded', succeeded(), machine());

    expect(verification.ok).toBe(true);
    expect(verification.checks.map((c) => [c.name, c.ok])).toEqual([
      ['outcome', true],
      ['app', true],
      ['data', true],
      ['lock', true],
    ]);
    expect(verification.app).toEqual({ url: HEALTH_URL, status: 200, version: DEPLOYED, expectedVersion: DEPLOYED });
  });

  it('holds after a rollback with a restore: the previous version answers, the data is identical and the broken database is kept', () => {
    const verification = judge('smoke-failure', 'rolled-back', rolledBack(), machine({ app: { url: HEALTH_URL, status: 200, version: PREVIOUS }, data: { before: BEFORE, after: BEFORE }, failedDatabases: [FAILED_COPY] }));

    expect(verification.ok).toBe(true);
    expect(check(verification.checks, 'failed database kept')).toEqual({ name: 'failed database kept', ok: true, detail: `${FAILED_COPY} is still on the server` });
  });

  it('fails the outcome check when the execution ended otherwise than the scenario expects', () => {
    const verification = judge('healthy', 'rolled-back', rolledBack(), machine({ app: { url: HEALTH_URL, status: 200, version: PREVIOUS }, data: { before: BEFORE, after: BEFORE }, failedDatabases: [FAILED_COPY] }));

    expect(verification.ok).toBe(false);
    expect(failing(verification.checks)).toEqual(['outcome']);
    expect(check(verification.checks, 'outcome')?.detail).toBe('rolled-back; the healthy scenario expects succeeded');
  });

  it('fails the app check when the app reports another version than the one deployed', () => {
    const verification = judge('healthy', 'succeeded', succeeded(), machine({ app: { url: HEALTH_URL, status: 200, version: PREVIOUS } }));

    expect(failing(verification.checks)).toEqual(['app']);
    expect(check(verification.checks, 'app')?.detail).toBe(`${HEALTH_URL} answers 200 with version ${PREVIOUS}; expected ${DEPLOYED} (the version deployed)`);
  });

  it('fails the app check when the right version answers with an error status', () => {
    const verification = judge('healthy', 'succeeded', succeeded(), machine({ app: { url: HEALTH_URL, status: 500, version: DEPLOYED } }));

    expect(failing(verification.checks)).toEqual(['app']);
  });

  it('fails the app check when the app does not answer', () => {
    const verification = judge('healthy', 'succeeded', succeeded(), machine({ app: { url: HEALTH_URL, status: null, version: null } }));

    expect(failing(verification.checks)).toEqual(['app']);
    expect(check(verification.checks, 'app')?.detail).toBe(`${HEALTH_URL} does not answer; expected ${DEPLOYED} (the version deployed)`);
  });

  it('fails the app check when a rolled-back release still answers', () => {
    const verification = judge('smoke-failure', 'rolled-back', rolledBack(), machine({ data: { before: BEFORE, after: BEFORE }, failedDatabases: [FAILED_COPY] }));

    expect(failing(verification.checks)).toEqual(['app']);
    expect(check(verification.checks, 'app')?.detail).toContain(`expected ${PREVIOUS} (the version rolled back to)`);
  });

  it('fails the app check when a deployment aborted before its deploy step no longer runs the version found running', () => {
    const holds = judge('rollback-failure', 'failed', aborted(), machine({ app: { url: HEALTH_URL, status: 200, version: PREVIOUS }, data: { before: BEFORE, after: BEFORE } }));
    const broken = judge('rollback-failure', 'failed', aborted(), machine({ app: { url: HEALTH_URL, status: 200, version: DEPLOYED }, data: { before: BEFORE, after: BEFORE } }));

    expect(holds.ok).toBe(true);
    expect(holds.app.expectedVersion).toBe(PREVIOUS);
    expect(failing(broken.checks)).toEqual(['app']);
    expect(check(broken.checks, 'app')?.detail).toContain(`expected ${PREVIOUS} (nothing was deployed: the version running before)`);
  });

  it('expects no version after a failed rollback: the app may be anything, and the lock must be stuck', () => {
    const verification = judge('rollback-failure', 'failed', rollbackFailed(), machine({ app: { url: HEALTH_URL, status: 500, version: PREVIOUS }, lock: { state: 'stuck', note: 'RollbackVerificationFailed' } }));

    expect(verification.ok).toBe(true);
    expect(verification.app.expectedVersion).toBeNull();
    expect(check(verification.checks, 'app')?.detail).toBe(`${HEALTH_URL} answers 500 with version ${PREVIOUS} (no version is expected after a failed execution)`);
  });

  it('fails the data check when rows were lost and nothing was restored', () => {
    const verification = judge('healthy', 'succeeded', succeeded(), machine({ data: { before: BEFORE, after: ROWS_DELETED } }));

    expect(failing(verification.checks)).toEqual(['data']);
    expect(check(verification.checks, 'data')?.detail).toBe('ROWS LOST (3005 → 1505 rows): items: 3000 → 1500 rows');
  });

  it('fails the data check when the restored data differs from the pre-deploy fingerprint, even with no row lost', () => {
    const verification = judge('smoke-failure', 'rolled-back', rolledBack(), machine({ app: { url: HEALTH_URL, status: 200, version: PREVIOUS }, data: { before: BEFORE, after: MIGRATED }, failedDatabases: [FAILED_COPY] }));

    expect(failing(verification.checks)).toEqual(['data']);
    expect(check(verification.checks, 'data')?.detail).toBe('differs from the pre-deploy fingerprint after the restore (3005 → 3005 rows): items: column price_cents added');
  });

  it('fails the failed-database check when the copy the restore kept is not on the server', () => {
    const verification = judge('smoke-failure', 'rolled-back', rolledBack(), machine({ app: { url: HEALTH_URL, status: 200, version: PREVIOUS }, data: { before: BEFORE, after: BEFORE }, failedDatabases: ['demo_app_failed_20240101000000'] }));

    expect(failing(verification.checks)).toEqual(['failed database kept']);
    expect(check(verification.checks, 'failed database kept')?.detail).toBe(`${FAILED_COPY} is not on the server`);
  });

  it('fails the lock check when the lock is still held after the execution', () => {
    const verification = judge('healthy', 'succeeded', succeeded(), machine({ lock: { state: 'held', note: null } }));

    expect(failing(verification.checks)).toEqual(['lock']);
    expect(check(verification.checks, 'lock')?.detail).toBe('locks/shop-api.json is held; expected released (the execution is over)');
  });

  it('fails the lock check when a failed rollback released the lock instead of keeping it for a person', () => {
    const verification = judge('rollback-failure', 'failed', rollbackFailed(), machine({ app: { url: HEALTH_URL, status: 500, version: PREVIOUS } }));

    expect(failing(verification.checks)).toEqual(['lock']);
    expect(check(verification.checks, 'lock')?.detail).toBe('locks/shop-api.json is released; expected stuck (the rollback failed: a person must check the target)');
  });

  it('checks neither the data nor the lock when there is no database and the execution ended before the ledger', () => {
    const verification = judge('rollback-failure', 'failed', null, machine({ data: null, lock: { state: null, note: null } }));

    expect(verification.checks.map((c) => c.name)).toEqual(['outcome', 'app']);
    expect(verification.data).toBeNull();
  });
});

describe('judgeRehearsal: the rollback approval the rehearsal answered', () => {
  const kept = () => ended('kept', { ...releasedSlots(), error: { Error: 'SmokeTestFailed', Cause: 'health failed' }, rollbackApproval: { approved: false, by: 'deploy-runbook rehearse', comment: null } });
  const judgeKept = (slots: ReportSlots, seen: MachineState, outcome: ExecutionOutcome = 'failed') =>
    judgeRehearsal({ scenario: withAnswer(scenarioNamed('smoke-failure'), 'reject', { rollbackApproval: { required: true, timeoutMinutes: 30, onTimeout: 'rollback' } }), outcome, config, slots, traffic: null }, seen);

  it('holds when the person kept the release: the version deployed still answers, nothing restored, the lock released', () => {
    const verification = judgeKept(kept(), machine());

    expect(failing(verification.checks)).toEqual([]);
    expect(check(verification.checks, 'app')).toMatchObject({ ok: true, detail: expect.stringContaining(`expected ${DEPLOYED} (a decision kept the version deployed)`) });
    expect(check(verification.checks, 'rollback approval')).toMatchObject({ ok: true, detail: 'asked before the rollback; the release was kept; the answer played means keep' });
  });

  it('fails the rollback approval check when the execution rolled back instead of keeping, or nobody was asked', () => {
    expect(failing(judgeKept(rolledBack(), machine({ app: { url: HEALTH_URL, status: 200, version: PREVIOUS } }), 'rolled-back').checks)).toEqual(expect.arrayContaining(['outcome', 'rollback approval']));
    expect(check(judgeKept(ended('kept', { ...releasedSlots(), error: { Error: 'SmokeTestFailed', Cause: 'x' } }), machine()).checks, 'rollback approval')).toMatchObject({ ok: false, detail: expect.stringMatching(/^nobody was asked before the rollback/) });
  });
});

describe('judgeRehearsal: the analysis metrics', () => {
  /** The demo's analysis: p95-latency relative to its baseline (prometheus), error-rate absolute (prometheus), error-lines (log-file). */
  const withAnalysis = parseConfig(structuredClone(rehearsalConfig));

  function record(name: string, verdict: MetricRecord['verdict'], outcomes: MetricRecord['measurements'][number]['outcome'][], extra: Partial<MetricRecord> = {}): MetricRecord {
    return {
      name,
      condition: 'pass: result <= baseline * 2',
      baseline: 0.1,
      dryRun: false,
      measurements: outcomes.map((outcome, index) => ({ check: index + 2, at: '2025-03-04T10:12:00.000Z', value: outcome === 'success' ? 0.1 : 0.3, outcome, detail: null })),
      failures: outcomes.filter((outcome) => outcome === 'failure').length,
      consecutiveErrors: 0,
      verdict,
      ...extra,
    };
  }

  function bakeWith(analysis: MetricRecord[], newlyFiring: string[] = []) {
    return { ...releasedSlots().bake, decision: 'regressed', newlyFiring, analysis };
  }

  function judgeAnalysis(scenario: string, outcome: ExecutionOutcome, bake: ReturnType<typeof bakeWith> | null): VerificationCheck | undefined {
    const slots = ended(outcome === 'succeeded' ? 'succeeded' : 'rolled-back', { ...releasedSlots(), bake });
    return check(judgeRehearsal({ scenario: scenarioNamed(scenario), outcome, config: withAnalysis, slots, traffic: null }, machine()).checks, 'analysis');
  }

  const passing = [record('p95-latency', 'passing', ['success']), record('error-rate', 'passing', ['success']), record('error-lines', 'passing', ['success'])];

  it('holds for the healthy release when every metric passed on at least one measurement', () => {
    expect(judgeAnalysis('healthy', 'succeeded', bakeWith(passing))).toEqual({
      name: 'analysis',
      ok: true,
      detail: expect.stringMatching(/^every metric passed: p95-latency passing \(pass: result <= baseline \* 2\): baseline 0\.1, last 0\.1; error-rate passing/),
    });
  });

  it('fails for the healthy release when a metric was never measured or only inconclusively', () => {
    expect(judgeAnalysis('healthy', 'succeeded', bakeWith(passing.slice(0, 2)))?.ok).toBe(false);
    expect(judgeAnalysis('healthy', 'succeeded', bakeWith([...passing.slice(0, 2), record('error-lines', 'passing', ['inconclusive'])]))?.ok).toBe(false);
    expect(judgeAnalysis('healthy', 'succeeded', bakeWith([]))).toMatchObject({ ok: false, detail: 'no metric was measured in the bake' });
  });

  it('checks nothing of the analysis when the release never reached its bake: the outcome check says so', () => {
    expect(judgeAnalysis('healthy', 'rolled-back', null)).toBeUndefined();
  });

  it('holds for latency-regression when the metric relative to its baseline failed and no alarm fired', () => {
    const bake = bakeWith([record('p95-latency', 'failed', ['failure', 'failure']), ...passing.slice(1)]);

    expect(judgeAnalysis('latency-regression', 'rolled-back', bake)).toEqual({
      name: 'analysis',
      ok: true,
      detail: 'p95-latency failed (pass: result <= baseline * 2): baseline 0.1, last 0.3; no alarm fired',
    });
  });

  it('fails for latency-regression when an alarm fired as well: the scenario shows what no alarm catches', () => {
    const bake = bakeWith([record('p95-latency', 'failed', ['failure', 'failure'])], ['demo-app-p95-latency']);

    expect(judgeAnalysis('latency-regression', 'rolled-back', bake)).toMatchObject({ ok: false, detail: expect.stringContaining('alarms fired too: demo-app-p95-latency') });
  });

  it('fails for latency-regression when only an absolute metric failed', () => {
    const bake = bakeWith([passing[0], record('error-rate', 'failed', ['failure'])]);

    expect(judgeAnalysis('latency-regression', 'rolled-back', bake)).toMatchObject({ ok: false, detail: 'no prometheus metric relative to its baseline failed (p95-latency); no alarm fired' });
  });

  it('holds for log-errors when the log-file metric failed', () => {
    const bake = bakeWith([...passing.slice(0, 2), record('error-lines', 'failed', ['failure'], { condition: 'pass: result == 0', baseline: 0 })]);

    expect(judgeAnalysis('log-errors', 'rolled-back', bake)).toMatchObject({ ok: true, detail: 'error-lines failed (pass: result == 0): baseline 0, last 0.3; no alarm fired' });
  });

  it('fails when the configuration has no metric of the kind the scenario needs', () => {
    const verification = judgeRehearsal({ scenario: scenarioNamed('log-errors'), outcome: 'rolled-back', config, slots: rolledBack(), traffic: null }, machine());

    expect(check(verification.checks, 'analysis')).toEqual({ name: 'analysis', ok: false, detail: 'the log-errors scenario needs a log-file metric in analysis.metrics; the configuration has none' });
  });

  it('checks nothing of the analysis for the other scenarios', () => {
    expect(judgeAnalysis('smoke-failure', 'rolled-back', bakeWith(passing))).toBeUndefined();
  });

  it("fails when the runbook did not verify a restore against the fingerprint, even with the rehearsal's own comparison identical", () => {
    const unverified = ended('rolled-back', { ...JSON.parse(JSON.stringify(rolledBack())), outcome: undefined, restoreCheck: { ...RESTORE_CHECK, summary: 'no SQL checks run after-restore', comparison: null } });
    const verification = judge('smoke-failure', 'rolled-back', unverified, machine({ app: { url: HEALTH_URL, status: 200, version: PREVIOUS }, data: { before: BEFORE, after: BEFORE }, failedDatabases: [FAILED_COPY] }));

    expect(failing(verification.checks)).toEqual(['restore verified by the runbook']);
    expect(check(verification.checks, 'restore verified by the runbook')?.detail).toBe('VerifyRestoredData compared nothing: no fingerprint was recorded before the backup');
  });

  it('checks, for backfill-incomplete, that the named SQL check stopped the release before any smoke test', () => {
    const gate = {
      ...RESTORE_CHECK,
      phase: 'after-migrations',
      passed: false,
      summary: "1 of 2 SQL checks failed (after-migrations): 'every item has a sku' returned \"2\", expected 0",
      results: [{ name: 'every item has a sku', passed: false, value: '2', rows: 1, expected: '= 0', reason: 'returned "2", expected 0', durationMs: 3 }],
      comparison: null,
    };
    const seen = machine({ app: { url: HEALTH_URL, status: 200, version: PREVIOUS }, data: { before: BEFORE, after: BEFORE }, failedDatabases: [FAILED_COPY] });
    const stopped = judge('backfill-incomplete', 'rolled-back', ended('rolled-back', { ...JSON.parse(JSON.stringify(rolledBack())), outcome: undefined, smoke: null, dataGate: gate }), seen);
    expect(check(stopped.checks, 'data gate')).toEqual({ name: 'data gate', ok: true, detail: `${gate.summary}; no smoke test ran` });
    expect(stopped.ok).toBe(true);

    const smokeCaughtIt = judge('backfill-incomplete', 'rolled-back', rolledBack(), seen);
    expect(failing(smokeCaughtIt.checks)).toEqual(['data gate']);
    expect(check(smokeCaughtIt.checks, 'data gate')?.detail).toBe("expected 'every item has a sku' to fail before the smoke tests: AfterMigrationChecks did not run; the smoke tests ran");
  });
});

describe('judgeRehearsal: the hosts of a hosts target', () => {
  const host = (name: string, version: string, started: string[]) => ({ name, url: `http://127.0.0.1:4780${name.slice(-1)}/health`, status: 200, version, started });
  const rolledBackHosts = (third: string[]) =>
    machine({ app: { url: HEALTH_URL, status: 200, version: PREVIOUS }, data: { before: BEFORE, after: BEFORE }, failedDatabases: [FAILED_COPY], hosts: [host('host-1', PREVIOUS, [PREVIOUS, DEPLOYED, PREVIOUS]), host('host-2', PREVIOUS, [PREVIOUS, DEPLOYED, PREVIOUS]), host('host-3', PREVIOUS, third)] });

  it('holds when every host answers the version rolled back to and the untouched host was started once, by the setup', () => {
    const verification = judge('hosts', 'rolled-back', rolledBack(), rolledBackHosts([PREVIOUS]));
    expect(check(verification.checks, 'host host-3')).toEqual({ name: 'host host-3', ok: true, detail: `http://127.0.0.1:47803/health answers 200 with version ${PREVIOUS}, started with ${PREVIOUS}; the rollout must never touch it` });
    expect(failing(verification.checks)).toEqual([]);
  });

  it('fails when the host the rollout must never touch was restarted, even back on the previous version', () => {
    const verification = judge('hosts', 'rolled-back', rolledBack(), rolledBackHosts([PREVIOUS, PREVIOUS]));
    expect(failing(verification.checks)).toEqual(['host host-3']);
  });

  it('fails when a touched host does not answer the version rolled back to', () => {
    const seen = rolledBackHosts([PREVIOUS]);
    const verification = judge('hosts', 'rolled-back', rolledBack(), { ...seen, hosts: [host('host-1', DEPLOYED, [PREVIOUS, DEPLOYED]), ...(seen.hosts ?? []).slice(1)] });
    expect(failing(verification.checks)).toEqual(['host host-1']);
  });
});
