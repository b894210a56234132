import { RunbookError } from '../../core/errors';
import type { ExecutionOutcome } from '../../core/execution-outcome';
import type { RehearsalAnswer } from '../../core/rollback-approval';
import type { RunbookConfig } from '../../config/schema';

/**
 * One rehearsal: the release running before, the one deployed, and the demo app's fault knobs.
 * Faults are real behaviour of the app (examples/demo-app/server.mjs), never scripted task results.
 */
export interface Scenario {
  readonly name: string;
  /** One line for `--help` and the progress header. */
  readonly description: string;
  /** Migrated to and started before the execution: what the rollback goes back to. */
  readonly previousVersion: string;
  /** The execution input, as CI (or, for `action: drill`, the drill schedule) would send it. */
  readonly input: { readonly version?: string; readonly action?: 'drill'; readonly reason: string };
  /** Environment of every process the rehearsal starts, from the first one on. */
  readonly env: Readonly<Record<string, string>>;
  /** Added once the previous release runs, so that it applies to every process started later (the rollback's too). */
  readonly envAfterSetup: Readonly<Record<string, string>>;
  /** What the runbook should do about it. */
  readonly expected: ExecutionOutcome;
  /** The kind of analysis metric that must roll the release back, no alarm firing: what no alarm would catch. */
  readonly rolledBackBy?: MetricCulprit;
  /** The SQL check (checks.sql, after-migrations) that must stop the release before its smoke tests. */
  readonly failsDataGate?: string;
  /** A restore drill execution: whether its scratch copy must pass the checks (the copy is dropped either way). */
  readonly drill?: { readonly passes: boolean };
  /** Items the app is asked to create (POST /api/items) after FingerprintData, before TakeSnapshot: a live app writing during the backup. */
  readonly writesDuringBackup?: number;
  /** The app runs as this many local hosts (a `hosts` target, one host per batch), and these must never be touched. */
  readonly hosts?: LocalHosts;
  /** The release fails once it runs everywhere: with rollbackApproval.required a person is asked before the rollback. */
  readonly asksRollbackApproval?: boolean;
  /** Set by `withAnswer`: what the person the rehearsal plays decides, when the scenario asks one. */
  readonly rollbackDecision?: 'rollback' | 'keep';
}

/** A rehearsal over several local hosts: the process target spread over `count` ports, rolled one host at a time. */
export interface LocalHosts {
  readonly count: number;
  /** Hosts the rollout must never reach: they run the previous release from the setup on, and nothing else. */
  readonly untouched: readonly string[];
}

/** An analysis metric by its provider, and whether its condition compares with the baseline Preflight measured. */
export interface MetricCulprit {
  readonly provider: 'prometheus' | 'log-file';
  readonly relativeToBaseline: boolean;
}

/** Data requests the `alarm` scenario's v2 serves before answering 500: the smoke tests make one, the bake's traffic the rest. */
const ERRORS_AFTER_REQUESTS = 20;

/** How much slower the `latency-regression` scenario's v2 answers than v1. */
const SLOW_FACTOR = 3;

/** The built-in scenarios, the default first. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'healthy',
    description: 'deploy v2 and its migration; smoke tests and alarms stay green → succeeded',
    previousVersion: 'v1',
    input: { version: 'v2', reason: 'rehearsal: healthy release' },
    env: {},
    envAfterSetup: {},
    expected: 'succeeded',
  },
  {
    name: 'smoke-failure',
    description: "v2's /health answers 500 → SmokeTest fails → app back to v1, database restored (its migration ran) → rolled back",
    previousVersion: 'v1',
    input: { version: 'v2', reason: 'rehearsal: release failing its smoke tests' },
    env: { DEMO_FAULT: 'smoke', DEMO_FAULT_VERSION: 'v2' },
    envAfterSetup: {},
    expected: 'rolled-back',
    asksRollbackApproval: true,
  },
  {
    name: 'alarm',
    description: 'v2 starts answering 5xx under traffic during the bake → the error-ratio alarm fires → rolled back',
    previousVersion: 'v1',
    input: { version: 'v2', reason: 'rehearsal: release regressing during the bake' },
    env: { DEMO_FAULT: `errors-after:${ERRORS_AFTER_REQUESTS}`, DEMO_FAULT_VERSION: 'v2' },
    envAfterSetup: {},
    expected: 'rolled-back',
    asksRollbackApproval: true,
  },
  {
    name: 'migration-failure',
    description: 'deploy v3-broken: its migration destroys data, then fails → app back to v1, database restored, broken one kept → rolled back',
    previousVersion: 'v1',
    input: { version: 'v3-broken', reason: 'rehearsal: release whose migration fails half-way' },
    env: {},
    envAfterSetup: {},
    expected: 'rolled-back',
  },
  {
    name: 'backfill-incomplete',
    description: "v2-backfill-incomplete's migration exits 0 but leaves items without a SKU → the after-migrations SQL gate fails before any smoke test → app back to v1, database restored and verified against its fingerprint → rolled back",
    previousVersion: 'v1',
    input: { version: 'v2-backfill-incomplete', reason: 'rehearsal: release whose backfill stops half-way' },
    env: {},
    envAfterSetup: {},
    expected: 'rolled-back',
    asksRollbackApproval: true,
    failsDataGate: 'every item has a sku',
  },
  {
    name: 'latency-regression',
    description: 'v2 answers three times slower than v1, under every absolute limit → a metric relative to its baseline (a real Prometheus) fails in the bake → rolled back',
    previousVersion: 'v1',
    input: { version: 'v2', reason: 'rehearsal: release three times slower than the one before' },
    env: { DEMO_FAULT: `slow-factor:${SLOW_FACTOR}`, DEMO_FAULT_VERSION: 'v2' },
    envAfterSetup: {},
    expected: 'rolled-back',
    asksRollbackApproval: true,
    rolledBackBy: { provider: 'prometheus', relativeToBaseline: true },
  },
  {
    name: 'log-errors',
    description: 'v2 writes ERROR lines to its log while answering 200 → the log-file metric counting them fails in the bake → rolled back',
    previousVersion: 'v1',
    input: { version: 'v2', reason: 'rehearsal: release logging errors' },
    env: { DEMO_FAULT: 'log-errors', DEMO_FAULT_VERSION: 'v2' },
    envAfterSetup: {},
    expected: 'rolled-back',
    asksRollbackApproval: true,
    rolledBackBy: { provider: 'log-file', relativeToBaseline: false },
  },
  {
    name: 'hosts',
    description: 'the app on three local hosts, rolled one at a time; v2 does not come up on host-2 → its ready check fails → host-2 and host-1 back on v1, host-3 never touched → rolled back',
    previousVersion: 'v1',
    input: { version: 'v2', reason: 'rehearsal: rolling deploy whose second host fails its ready check' },
    env: { DEMO_FAULT: 'crash', DEMO_FAULT_VERSION: 'v2', DEMO_FAULT_HOST: 'host-2' },
    envAfterSetup: {},
    expected: 'rolled-back',
    hosts: { count: 3, untouched: ['host-3'] },
  },
  {
    name: 'drill',
    description: "a restore drill (action drill): v1's database backed up, restored into a scratch database, compared with its fingerprint, after-restore SQL checks run, scratch dropped; nothing deployed → succeeded",
    previousVersion: 'v1',
    input: { action: 'drill', reason: 'rehearsal: restore drill' },
    env: {},
    envAfterSetup: {},
    expected: 'succeeded',
    drill: { passes: true },
  },
  {
    name: 'drill-writes-during-backup',
    description: 'a restore drill while the app keeps writing: 3 items are created between the fingerprint and the backup → the scratch copy has 3 more items than the fingerprint → the drill fails naming items, copy dropped, nothing deployed → failed',
    previousVersion: 'v1',
    input: { action: 'drill', reason: 'rehearsal: restore drill during writes' },
    env: {},
    envAfterSetup: {},
    expected: 'failed',
    drill: { passes: false },
    writesDuringBackup: 3,
  },
  {
    name: 'rollback-failure',
    description: 'every version started from now on fails /health, v1 too → VerifyRollback fails → lock kept for a person → failed',
    previousVersion: 'v1',
    input: { version: 'v2', reason: 'rehearsal: rollback that cannot bring the previous version back' },
    env: {},
    envAfterSetup: { DEMO_FAULT: 'smoke' },
    expected: 'failed',
  },
];

export const DEFAULT_SCENARIO = SCENARIOS[0].name;

/** `--scenario` names no built-in scenario. */
export class UnknownScenarioError extends RunbookError {}

/** The scenario called `name`; the error lists the valid names. */
export function scenarioNamed(name: string): Scenario {
  const found = SCENARIOS.find((scenario) => scenario.name === name);
  if (!found) throw new UnknownScenarioError(`scenario: there is no scenario "${name}"; the scenarios are ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return found;
}

/**
 * The scenario as `--rollback-approval` changes it: a scenario whose release fails once it runs everywhere asks the
 * person the rehearsal plays, and a kept release (reject, or a timeout with onTimeout keep) ends failed (ReleaseKept).
 */
export function withAnswer(scenario: Scenario, answer: RehearsalAnswer | undefined, config: Pick<RunbookConfig, 'rollbackApproval'>): Scenario {
  if (answer === undefined || !scenario.asksRollbackApproval) return scenario;
  const keeps = answer === 'reject' || (answer === 'timeout' && config.rollbackApproval.onTimeout === 'keep');
  return { ...scenario, rollbackDecision: keeps ? 'keep' : 'rollback', expected: keeps ? 'failed' : scenario.expected };
}
