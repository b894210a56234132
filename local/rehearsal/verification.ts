import type { RunbookConfig } from '../../config/schema';
import type { ArtifactStore } from '../../core/ports/artifact-store';
import { formatNumber, needsBaseline } from '../../core/analysis';
import { lockKey } from '../../core/tasks/deployment-lock/deployment-lock';
import type { ReportSlots } from '../../core/tasks/ledger/evidence-report';
import type { ExecutionOutcome } from '../../core/execution-outcome';
import type { MetricRecord } from '../../core/model';
import { withClient, withDatabase } from '../../adapters/local/pg-connection';
import { compareFingerprints, type DataComparison, type DataFingerprint, dataFingerprint } from './data-fingerprint';
import type { MetricCulprit, Scenario } from './scenarios';
import type { TrafficSummary } from './traffic';

/** The demo app's health endpoint: it reports the running version (the smoke tests read it too). */
export const HEALTH_PATH = '/health';

/** One thing a person would check after the rehearsal, and whether it holds. */
export interface VerificationCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** What the rehearsal found on the machine after the execution, beside what the runbook reported. */
export interface RehearsalVerification {
  /** Every check holds. */
  readonly ok: boolean;
  readonly checks: readonly VerificationCheck[];
  readonly app: { readonly url: string; readonly status: number | null; readonly version: string | null; readonly expectedVersion: string | null };
  readonly data: { readonly before: DataFingerprint; readonly after: DataFingerprint; readonly comparison: DataComparison } | null;
  /** `<db>_failed_*` databases on the server: broken databases a restore kept. */
  readonly failedDatabases: readonly string[];
  readonly lock: { readonly state: string | null; readonly note: string | null };
  readonly traffic: TrafficSummary | null;
}

/** What the verification reads. */
export interface VerificationInput {
  readonly scenario: Scenario;
  readonly outcome: ExecutionOutcome;
  readonly config: RunbookConfig;
  /** The slots the ledger recorded the outcome from; null when the execution ended before (bad input, lock held). */
  readonly slots: ReportSlots | null;
  readonly store: ArtifactStore;
  /** The database, when the configuration has one. */
  readonly database: { readonly url: string; readonly before: DataFingerprint } | null;
  readonly traffic: TrafficSummary | null;
  /** For a `hosts` target: the versions each host's process was started with, in order (the setup's first). */
  readonly hostStarts?: Readonly<Record<string, readonly string[]>>;
}

/** One local host after the execution: what it answers, and every version it was started with. */
export interface HostState {
  readonly name: string;
  readonly url: string;
  readonly status: number | null;
  readonly version: string | null;
  readonly started: readonly string[];
}

/** What the rehearsal finds on the machine after the execution, before judging it. */
export interface MachineState {
  readonly app: { readonly url: string; readonly status: number | null; readonly version: string | null };
  /** The data before the deploy and now; null when the configuration has no database. */
  readonly data: { readonly before: DataFingerprint; readonly after: DataFingerprint } | null;
  /** `<db>_failed_*` databases on the server. */
  readonly failedDatabases: readonly string[];
  /** `<db>_drill_*` databases on the server: a restore drill's copies left behind. */
  readonly drillCopies?: readonly string[];
  readonly lock: { readonly state: string | null; readonly note: string | null };
  /** Each host of a `hosts` target; absent for the other targets. */
  readonly hosts?: readonly HostState[];
}

/**
 * Checks what a person would after a deployment: the version the app reports, the data against the
 * pre-deploy fingerprint (identical after a restore, no rows lost otherwise), the broken database kept
 * when a restore happened, and the lock released (or kept, marked stuck, after a failed rollback).
 */
export async function verifyRehearsal(input: VerificationInput): Promise<RehearsalVerification> {
  return judgeRehearsal(input, await observeMachine(input));
}

/** Reads the app's health, the data, the kept databases and the lock. */
export async function observeMachine(input: Pick<VerificationInput, 'config' | 'store' | 'database' | 'hostStarts'>): Promise<MachineState> {
  const app = await readHealth(`${input.config.smokeTests.baseUrl.replace(/\/$/, '')}${HEALTH_PATH}`);
  const lock = await readLock(input.store, input.config.name);
  const { target } = input.config;
  const hosts =
    target.kind === 'hosts'
      ? await Promise.all(target.hosts.map(async (host) => ({ name: host.name, ...(await readHealth(`http://127.0.0.1:${host.port}${HEALTH_PATH}`)), started: input.hostStarts?.[host.name] ?? [] })))
      : undefined;
  if (!input.database) return { app, data: null, failedDatabases: [], lock, hosts };
  const after = await dataFingerprint(input.database.url);
  const data = { before: input.database.before, after };
  return { app, data, failedDatabases: await copiesNamed(input.database.url, '_failed_'), drillCopies: await copiesNamed(input.database.url, '_drill_'), lock, hosts };
}

/** Judges what was found against what the scenario and the execution's own record say should be there. */
export function judgeRehearsal(input: Pick<VerificationInput, 'scenario' | 'outcome' | 'config' | 'slots' | 'traffic'>, machine: MachineState): RehearsalVerification {
  const { scenario, outcome, slots } = input;
  const checks: VerificationCheck[] = [
    { name: 'outcome', ok: outcome === scenario.expected, detail: `${outcome}; the ${scenario.name} scenario expects ${scenario.expected}` },
  ];

  const expected = slots?.deployment.action === 'drill' ? { version: scenario.previousVersion, why: 'a restore drill deploys nothing' } : expectedVersion(outcome, slots);
  const app = { ...machine.app, expectedVersion: expected?.version ?? null };
  const answered = app.status === null ? 'does not answer' : `answers ${app.status} with version ${app.version ?? '(none)'}`;
  if (expected === null) {
    checks.push({ name: 'app', ok: true, detail: `${app.url} ${answered} (no version is expected after a ${outcome} execution)` });
  } else {
    // A kept release failed its checks: it must still run, healthy or not, as the person decided.
    const healthy = (app.status !== null && app.status >= 200 && app.status < 300) || slots?.outcome?.result === 'kept';
    checks.push({ name: 'app', ok: healthy && app.version === expected.version, detail: `${app.url} ${answered}; expected ${expected.version} (${expected.why})` });
  }

  checks.push(...hostChecks(scenario, expected, machine.hosts ?? []));

  const restore = slots?.restore ?? null;
  let data: RehearsalVerification['data'] = null;
  if (machine.data) {
    const comparison = compareFingerprints(machine.data.before, machine.data.after);
    data = { ...machine.data, comparison };
    checks.push(dataCheck(comparison, restore?.restored === true));
    if (restore?.restored) {
      const kept = restore.failedCopy !== null && machine.failedDatabases.includes(restore.failedCopy);
      checks.push({ name: 'failed database kept', ok: kept, detail: kept ? `${restore.failedCopy} is still on the server` : `${restore.failedCopy ?? 'no copy'} is not on the server` });
    }
  }

  const restoreCheck = slots?.restoreCheck ?? null;
  if (restore?.restored) {
    // The runbook's own proof, beside the rehearsal's: VerifyRestoredData compared the restore with the fingerprint taken before the backup.
    const comparison = restoreCheck?.comparison ?? null;
    checks.push({
      name: 'restore verified by the runbook',
      ok: comparison?.identical === true,
      detail: comparison ? restoreCheck?.summary ?? '' : 'VerifyRestoredData compared nothing: no fingerprint was recorded before the backup',
    });
  }
  if (scenario.failsDataGate) checks.push(dataGateCheck(scenario.failsDataGate, slots));
  if (scenario.drill) checks.push(...drillChecks(scenario.drill.passes, slots, machine.drillCopies ?? []));
  if (scenario.rollbackDecision) checks.push(rollbackDecisionCheck(scenario.rollbackDecision, slots));

  const analysis = analysisCheck(input);
  if (analysis) checks.push(analysis);

  const { lock } = machine;
  if (slots) {
    const expectedLock = slots.rollbackError !== null ? 'stuck' : 'released';
    const why = expectedLock === 'stuck' ? 'the rollback failed: a person must check the target' : 'the execution is over';
    checks.push({ name: 'lock', ok: lock.state === expectedLock, detail: `${lockKey(input.config.name)} is ${lock.state ?? 'missing'}; expected ${expectedLock} (${why})` });
  }

  return { ok: checks.every((check) => check.ok), checks, app, data, failedDatabases: machine.failedDatabases, lock, traffic: input.traffic };
}

/**
 * What the analysis metrics decided, when a scenario says what it must be: for a regression only a metric can see,
 * a failed metric of the expected kind and no alarm; for a release expected to succeed that reached its bake, every
 * deciding metric passing on evidence (at least one passing measurement). Null when the scenario expects neither.
 */
function analysisCheck(input: Pick<VerificationInput, 'scenario' | 'config' | 'slots'>): VerificationCheck | null {
  const { scenario, config } = input;
  const bake = input.slots?.bake ?? null;
  const records = bake?.analysis ?? [];
  const culprit = scenario.rolledBackBy;
  if (culprit) {
    const wanted = describeCulprit(culprit);
    const candidates = config.analysis.metrics.filter((metric) => metric.provider.kind === culprit.provider && needsBaseline(metric) === culprit.relativeToBaseline && !metric.dryRun);
    if (candidates.length === 0) return { name: 'analysis', ok: false, detail: `the ${scenario.name} scenario needs a ${wanted} in analysis.metrics; the configuration has none` };
    const failed = records.filter((record) => record.verdict === 'failed' && candidates.some((metric) => metric.name === record.name));
    const alarms = bake?.newlyFiring ?? [];
    const ok = failed.length > 0 && alarms.length === 0;
    const which = failed.length > 0 ? failed.map(describeRecord).join('; ') : `no ${wanted} failed (${candidates.map((metric) => metric.name).join(', ')})`;
    return { name: 'analysis', ok, detail: `${which}; ${alarms.length === 0 ? 'no alarm fired' : `alarms fired too: ${alarms.join(', ')}`}` };
  }
  // A release stopped before its bake fails the outcome check already: there is nothing to judge here.
  if (scenario.expected !== 'succeeded' || config.analysis.metrics.length === 0 || !bake) return null;
  const deciding = records.filter((record) => !record.dryRun);
  const passed = deciding.filter((record) => record.verdict === 'passing' && record.measurements.some((measurement) => measurement.outcome === 'success'));
  const ok = deciding.length === config.analysis.metrics.filter((metric) => !metric.dryRun).length && passed.length === deciding.length;
  const detail = deciding.length === 0 ? 'no metric was measured in the bake' : deciding.map(describeRecord).join('; ');
  return { name: 'analysis', ok, detail: ok ? `every metric passed: ${detail}` : detail };
}

/** The named after-migrations check failed in AfterMigrationChecks, and no smoke test ran after it. */
function dataGateCheck(name: string, slots: ReportSlots | null): VerificationCheck {
  const gate = slots?.dataGate ?? null;
  const failed = gate?.results.find((result) => result.name === name && !result.passed);
  const ok = failed !== undefined && slots?.smoke === null;
  const detail = gate ? gate.summary : 'AfterMigrationChecks did not run';
  return { name: 'data gate', ok, detail: ok ? `${detail}; no smoke test ran` : `expected '${name}' to fail before the smoke tests: ${detail}${slots?.smoke ? '; the smoke tests ran' : ''}` };
}

/** The drill's copy was checked by the runbook (passing or failing as the scenario says), then dropped: no `_drill_` database is left. */
function drillChecks(passes: boolean, slots: ReportSlots | null, left: readonly string[]): VerificationCheck[] {
  const check = slots?.drillCheck ?? null;
  const scratch = slots?.drill?.scratch ?? null;
  return [
    {
      name: 'restore drill',
      ok: check?.passed === passes && check.comparison !== null,
      detail: check ? `${check.passed ? 'passed' : 'failed'}: ${check.summary}; the scenario expects it to ${passes ? 'pass' : 'fail'}` : 'VerifyDrillCopy did not run',
    },
    {
      name: 'drill copy dropped',
      ok: scratch !== null && slots?.drill?.phase === 'discarded' && left.length === 0,
      detail: left.length === 0 ? `${scratch ?? 'no scratch database'} is no longer on the server` : `left on the server: ${left.join(', ')}`,
    },
  ];
}

/** `prometheus metric relative to its baseline`, `log-file metric`. */
function describeCulprit(culprit: MetricCulprit): string {
  return `${culprit.provider} metric${culprit.relativeToBaseline ? ' relative to its baseline' : ''}`;
}

/** `p95-latency passing (pass: result <= baseline * 2): baseline 0.07375, last 0.07375`. */
function describeRecord(record: MetricRecord): string {
  const last = record.measurements.findLast((measurement) => measurement.value !== null);
  const values = [record.baseline === null ? null : `baseline ${formatNumber(record.baseline)}`, last?.value == null ? null : `last ${formatNumber(last.value)}`].filter(Boolean);
  return `${record.name} ${record.verdict} (${record.condition})${values.length > 0 ? `: ${values.join(', ')}` : ''}`;
}

/**
 * Each local host of a `hosts` target answers the expected version, and the hosts the scenario says the rollout never
 * reaches were started once only (by the setup) and still run what they were started with.
 */
function hostChecks(scenario: Scenario, expected: { version: string; why: string } | null, hosts: readonly HostState[]): VerificationCheck[] {
  return hosts.map((host) => {
    const answered = host.status === null ? 'does not answer' : `answers ${host.status} with version ${host.version ?? '(none)'}`;
    const history = `started with ${host.started.join(', then ') || 'nothing'}`;
    if (scenario.hosts?.untouched.includes(host.name)) {
      const ok = host.started.length === 1 && host.version === host.started[0] && (expected === null || host.version === expected.version);
      return { name: `host ${host.name}`, ok, detail: `${host.url} ${answered}, ${history}; the rollout must never touch it` };
    }
    const ok = expected === null || (host.status === 200 && host.version === expected.version);
    return { name: `host ${host.name}`, ok, detail: `${host.url} ${answered}, ${history}${expected ? `; expected ${expected.version} (${expected.why})` : ''}` };
  });
}

/** The person the rehearsal played was asked before the rollback, and the execution did what they decided. */
function rollbackDecisionCheck(decision: 'rollback' | 'keep', slots: ReportSlots | null): VerificationCheck {
  const asked = slots?.rollbackApproval ?? slots?.rollbackApprovalError ?? null;
  const kept = slots?.outcome?.result === 'kept';
  const ok = asked !== null && kept === (decision === 'keep');
  const what = kept ? 'the release was kept' : slots?.rollback ? 'the release was rolled back' : 'the release was neither kept nor rolled back';
  return { name: 'rollback approval', ok, detail: `${asked === null ? 'nobody was asked before the rollback' : 'asked before the rollback'}; ${what}; the answer played means ${decision}` };
}

/** The version the app must report after the execution, and why; null when nothing can be expected (a failed rollback, bad input). */
function expectedVersion(outcome: ExecutionOutcome, slots: ReportSlots | null): { version: string; why: string } | null {
  if (outcome === 'succeeded') return known(slots?.deployment.version, 'the version deployed');
  if (slots?.outcome?.result === 'kept') return known(slots.deployment.version, 'a decision kept the version deployed');
  if (outcome === 'rolled-back') return known(slots?.rollbackTo?.version, 'the version rolled back to');
  // An abort happens before the deploy step: the release found running must still run.
  if (slots?.outcome?.result === 'aborted') return known(slots.preflight?.running.version, 'nothing was deployed: the version running before');
  return null;
}

function known(version: string | null | undefined, why: string): { version: string; why: string } | null {
  return version ? { version, why } : null;
}

function dataCheck(comparison: DataComparison, restored: boolean): VerificationCheck {
  const changes = comparison.differences.length > 0 ? `: ${comparison.differences.join('; ')}` : '';
  const rows = `${comparison.rowsBefore} → ${comparison.rowsAfter} rows`;
  if (restored) {
    return {
      name: 'data',
      ok: comparison.identical,
      detail: comparison.identical ? `identical to the pre-deploy fingerprint (${comparison.rowsAfter} rows)` : `differs from the pre-deploy fingerprint after the restore (${rows})${changes}`,
    };
  }
  return { name: 'data', ok: comparison.noRowsLost, detail: `${comparison.noRowsLost ? 'no rows lost' : 'ROWS LOST'} (${rows})${changes}` };
}

async function readHealth(url: string): Promise<{ url: string; status: number | null; version: string | null }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json().catch(() => null)) as { version?: unknown } | null;
    return { url, status: response.status, version: typeof body?.version === 'string' ? body.version : null };
  } catch {
    return { url, status: null, version: null };
  }
}

/** Databases named `<db><infix><yyyymmddhhmmss>` (a restore's kept copy, a drill's scratch), read from the server's maintenance database. */
async function copiesNamed(url: string, infix: '_failed_' | '_drill_'): Promise<string[]> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  return withClient(withDatabase(url, 'postgres'), async (client) => {
    const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", [`${database}${infix}`]);
    return rows.map((row) => row.datname);
  });
}

async function readLock(store: ArtifactStore, target: string): Promise<{ state: string | null; note: string | null }> {
  const stored = await store.get(lockKey(target));
  if (!stored) return { state: null, note: null };
  const record = JSON.parse(stored.body.toString('utf8')) as { state?: unknown; note?: unknown };
  return { state: typeof record.state === 'string' ? record.state : null, note: typeof record.note === 'string' ? record.note : null };
}

/** The checks as lines for a terminal or Markdown: `✔ data: identical to the pre-deploy fingerprint (3505 rows)`. */
export function verificationLines(verification: RehearsalVerification): string[] {
  return verification.checks.map((check) => `${check.ok ? '✔' : '✖'} ${check.name}: ${check.detail}`);
}
