import { dirname, join, resolve } from 'node:path';
import { parse } from '@aws-lambda-powertools/parser';
import { ReleasePlanError, type ReleasePlan } from '../../config/release-plan';
import type { RunbookConfig } from '../../config/schema';
import { type ExecutionOutcome, outcomeOf } from '../../core/execution-outcome';
import { RunbookError } from '../../core/errors';
import { systemClock } from '../../core/ports/clock';
import type { RunbookCatalog } from '../../core/ports/runbook-catalog';
import type { ChildStart, PlanProgress } from '../../core/release-plan';
import type { StateEvent } from '../../core/state-event';
import { lockKey } from '../../core/tasks/deployment-lock/deployment-lock';
import type { PlanReportPaths } from '../../core/tasks/release-plan/plan-report';
import { ReleasePlanEvent, runReleasePlan } from '../../core/tasks/release-plan/release-plan';
import { FileArtifactStore } from '../../adapters/local/file-artifact-store';
import { LocalNotifier } from '../../adapters/local/local-notifier';
import { type ExecutionResult, runRunbook } from '../engine/engine';
import { PLAN_FUNCTION, runReleasePlanDefinition } from '../engine/plan-engine';
import { compactTimestamp } from '../postgres/identifiers';
import { compareFingerprints, type DataFingerprint, dataFingerprint } from './data-fingerprint';
import { createDispatcher } from './dispatch';
import { buildLocalPorts } from './local-ports';
import { loadRehearsalConfig } from './rehearsal-config';
import type { Scenario } from './scenarios';
import { assertPortFree, bringUpPreviousRelease, interrupted, provideDatabase, rehearsalEnv, startAll } from './setup';
import { observeMachine, type VerificationCheck } from './verification';
import { openWorkspace, Teardown } from './workspace';

/** A plan rehearsal: every stage starts on `previousVersion`; the plan deploys its stages' versions over it. */
export interface PlanScenario {
  readonly name: string;
  readonly description: string;
  readonly previousVersion: string;
  /** The stage whose new version fails its smoke tests (the demo app's own fault), if any. */
  readonly failingStage: number | null;
  readonly expected: ExecutionOutcome;
}

export const PLAN_SCENARIOS: readonly PlanScenario[] = [
  {
    name: 'plan',
    description: 'a release plan: staging, a soak, then production, each its own runbook, app and database → both on v2, succeeded',
    previousVersion: 'v1',
    failingStage: null,
    expected: 'succeeded',
  },
  {
    name: 'plan-failure',
    description: "a release plan whose production stage fails its smoke tests: production rolls itself back, then the plan rolls staging back → both on v1, rolled back",
    previousVersion: 'v1',
    failingStage: 1,
    expected: 'rolled-back',
  },
];

/** A plan rehearsal's stage: its runbook configuration, ready to run as a child of the plan. */
interface RehearsedStage {
  readonly name: string;
  readonly config: RunbookConfig;
  readonly stateMachineArn: string;
  readonly storeDir: string;
  readonly store: FileArtifactStore;
  readonly handle: Parameters<typeof runRunbook>[0]['handler'];
  readonly database: { readonly url: string; readonly before: DataFingerprint } | null;
  readonly children: ExecutionResult[];
}

export interface PlanRehearsalOptions {
  readonly plan: ReleasePlan;
  /** The plan file: its stages' `runbook.config` paths are read from its directory. */
  readonly planPath: string;
  /** Where the stages' configurations run their commands from (the package root for the built-in example). */
  readonly baseDir: string;
  readonly scenario: PlanScenario;
  readonly workdir: string;
  readonly waitMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** The plan's own states (`stage` null) and each child's, by stage name. */
  readonly onEvent?: (event: StateEvent, child: { readonly stage: string; readonly start: ChildStart } | null) => void;
  /** A child starts or ends. */
  readonly onChild?: (change: { readonly stage: string; readonly start: ChildStart; readonly result: ExecutionResult | null }) => void;
  readonly announce?: (line: string) => void;
}

export interface PlanStageResult {
  readonly name: string;
  readonly target: string;
  readonly store: string;
  readonly children: readonly ExecutionResult[];
}

export interface PlanRehearsalResult {
  readonly scenario: string;
  readonly outcome: ExecutionOutcome;
  readonly execution: ExecutionResult;
  readonly progress: PlanProgress | null;
  readonly report: PlanReportPaths | null;
  readonly stages: readonly PlanStageResult[];
  readonly verification: { readonly ok: boolean; readonly checks: readonly VerificationCheck[] };
  readonly workdir: string;
}

/** A plan stage does not name a configuration file the rehearsal can run. */
export class PlanRehearsalError extends RunbookError {}

/** The rehearsal's stand-in for a runbook's state machine ARN: the plan's children are started by it. */
function localRunbookArn(config: RunbookConfig): string {
  return `arn:aws:states:us-east-1:000000000000:stateMachine:rehearsal-${config.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/**
 * Rehearses a release plan: brings up every stage's previous release (its own app, its own PostgreSQL), runs the
 * plan's own definition in-process, each stage as a child execution of the real runbook definition with that
 * stage's local ports, then checks every stage on the machine: the version its app reports, its data, its lock.
 */
export async function rehearsePlan(options: PlanRehearsalOptions): Promise<PlanRehearsalResult> {
  const { scenario, signal, plan } = options;
  const announce = options.announce ?? (() => undefined);
  const teardown = new Teardown();
  const workspace = await openWorkspace(options.workdir);
  teardown.add('close the log', () => workspace.close());
  try {
    const configs = plan.stages.map((stage, index) => {
      if (!('config' in stage.runbook)) {
        throw new ReleasePlanError(options.planPath, [`stages[${index}].runbook: a rehearsal runs runbook configurations, {"config": "<file>"} (got ${JSON.stringify(stage.runbook)})`]);
      }
      return loadRehearsalConfig(resolve(dirname(options.planPath), stage.runbook.config), { baseDir: options.baseDir });
    });
    for (const config of configs) await assertPortFree(config);

    const stages = await startAll(
      configs.map(async (config, index): Promise<RehearsedStage> => {
        const name = plan.stages[index].name;
        const say = (line: string) => announce(`${name}: ${line}`);
        const database = await provideDatabase(config, options.env ?? process.env, false, teardown, () => false, say);
        const stageScenario: Scenario = {
          name: scenario.name,
          description: scenario.description,
          previousVersion: scenario.previousVersion,
          input: { version: plan.stages[index].version, reason: scenario.description },
          env: scenario.failingStage === index ? { DEMO_FAULT: 'smoke', DEMO_FAULT_VERSION: plan.stages[index].version } : {},
          envAfterSetup: {},
          expected: scenario.expected,
        };
        const env = rehearsalEnv(config, stageScenario, options.env ?? process.env, database?.url ?? null, say);
        const storeDir = join(workspace.dir, 'stages', name, 'store');
        const { ports, processes } = buildLocalPorts(config, { storeDir, env, log: (line) => workspace.log(`${name}: ${line}`), binDir: database?.server?.binDir });
        const dispatcher = createDispatcher(ports, { signal });
        if (processes) teardown.add(`stop the ${name} app`, () => processes.stopAll());
        teardown.add(`wait for the ${name} task in flight`, () => dispatcher.settled());
        await bringUpPreviousRelease(scenario.previousVersion, ports.target, ports.migrator, database?.url ?? null, say, signal);
        const before = database ? await dataFingerprint(database.url) : null;
        return {
          name,
          config,
          stateMachineArn: localRunbookArn(config),
          storeDir,
          store: new FileArtifactStore(storeDir),
          handle: dispatcher.handle,
          database: database && before ? { url: database.url, before } : null,
          children: [],
        };
      }),
    );
    interrupted(signal);

    const planStore = new FileArtifactStore(workspace.storeDir);
    // The plan's notifications: notifications/<plan>.log in the plan's store, and the workspace log.
    const notifier = new LocalNotifier(planStore, (line) => workspace.log(`plan: ${line}`));
    const runbooks: RunbookCatalog = {
      find: async (reference) => {
        const index = plan.stages.findIndex((stage) => 'config' in stage.runbook && 'config' in reference && stage.runbook.config === reference.config);
        const stage = index >= 0 ? stages[index] : undefined;
        return stage
          ? { stateMachineArn: stage.stateMachineArn, target: stage.config.name, targetKind: stage.config.target.kind, checks: stage.config.checks.sql.map((check) => check.name), metrics: stage.config.analysis.metrics.filter((metric) => !metric.dryRun).map((metric) => metric.name) }
          : 'the rehearsal runs only the configurations the plan file names';
      },
      reportLocation: async (target, id) => {
        const stage = stages.find((s) => s.config.name === target);
        return stage ? stage.store.locate(`reports/${target}/${id}.md`) : `reports/${target}/${id}.md`;
      },
    };
    let progress: PlanProgress | null = null;
    let report: PlanReportPaths | null = null;
    announce(`running the release plan ${plan.name}: ${plan.stages.map((s) => `${s.name} ${s.version}`).join(' → ')} (Wait states last ${options.waitMs} ms)`);
    const execution = await runReleasePlanDefinition({
      settings: { lock: { leaseMinutes: 60 } },
      timeoutSeconds: 3600,
      input: { plan: plan as never, requestedBy: 'deploy-runbook rehearse', reason: `rehearsal: ${scenario.name}` },
      executionName: `rehearse-${scenario.name}-${compactTimestamp(new Date().toISOString())}`,
      waitMs: options.waitMs,
      retryMs: options.waitMs,
      onEvent: (event) => options.onEvent?.(event, null),
      handler: async (call) => {
        if (call.folder !== PLAN_FUNCTION) throw new PlanRehearsalError(`${call.state}: nobody answers a plan approval in a rehearsal`);
        const event = parse(call.event, undefined, ReleasePlanEvent);
        const result = await runReleasePlan(event, { store: planStore, clock: systemClock, runbooks, notifier });
        if (event.operation === 'advance') progress = result as PlanProgress;
        if (event.operation === 'record') report = result as PlanReportPaths;
        return result;
      },
      runChild: async (start) => {
        const stage = stages.find((s) => s.stateMachineArn === start.stateMachineArn);
        if (!stage) throw new PlanRehearsalError(`no stage runs ${start.stateMachineArn}`);
        options.onChild?.({ stage: stage.name, start, result: null });
        const result = await runRunbook({
          config: stage.config,
          input: start.input as never,
          handler: stage.handle,
          executionName: start.name,
          waitMs: options.waitMs,
          retryMs: options.waitMs,
          onEvent: (event) => options.onEvent?.(event, { stage: stage.name, start }),
        });
        stage.children.push(result);
        options.onChild?.({ stage: stage.name, start, result });
        return result;
      },
    });
    const outcome = outcomeOf(execution.status, execution.error);
    const checks = await verifyPlan(scenario, outcome, stages, plan, planStore, progress);
    return {
      scenario: scenario.name,
      outcome,
      execution,
      progress,
      report,
      stages: stages.map((stage) => ({ name: stage.name, target: stage.config.name, store: stage.storeDir, children: stage.children })),
      verification: { ok: checks.every((check) => check.ok), checks },
      workdir: workspace.dir,
    };
  } finally {
    const problems = await teardown.run();
    if (problems.length > 0) announce(`cleanup: ${problems.join('; ')}`);
  }
}

/**
 * What a person would check after the plan: every stage's app on the version the outcome promises (all new after a
 * success, all previous after a rollback), its data unharmed (identical where the stage's own rollback restored it,
 * no rows lost elsewhere), its lock and the plan's released.
 */
async function verifyPlan(
  scenario: PlanScenario,
  outcome: ExecutionOutcome,
  stages: readonly RehearsedStage[],
  plan: ReleasePlan,
  planStore: FileArtifactStore,
  progress: PlanProgress | null,
): Promise<VerificationCheck[]> {
  const checks: VerificationCheck[] = [{ name: 'outcome', ok: outcome === scenario.expected, detail: `${outcome}; the ${scenario.name} scenario expects ${scenario.expected}` }];
  for (const [index, stage] of stages.entries()) {
    const machine = await observeMachine({ config: stage.config, store: stage.store, database: stage.database });
    const expected = outcome === 'succeeded' ? plan.stages[index].version : scenario.previousVersion;
    const answered = machine.app.status === null ? 'does not answer' : `answers ${machine.app.status} with version ${machine.app.version ?? '(none)'}`;
    checks.push({ name: `${stage.name} app`, ok: machine.app.version === expected, detail: `${machine.app.url} ${answered}; expected ${expected}` });
    if (machine.data) {
      const comparison = compareFingerprints(machine.data.before, machine.data.after);
      // A stage that failed restores its own database (its restore policy); one the plan rolls back later restores it
      // only with a person's approval, as an alarm rollback does: its writes since the release are kept.
      const restored = progress?.stages[index]?.deployment?.ended === 'RolledBack';
      const ok = restored ? comparison.identical : comparison.noRowsLost;
      const detail = comparison.differences.length === 0 ? 'identical to before the plan' : comparison.differences.join('; ');
      checks.push({ name: `${stage.name} data`, ok, detail: `${detail}; expected ${restored ? 'identical (restored by its own rollback)' : 'no rows lost'}` });
    }
    checks.push({ name: `${stage.name} lock`, ok: machine.lock.state === 'released', detail: `${lockKey(stage.config.name)} is ${machine.lock.state ?? 'missing'}; expected released` });
  }
  const planLock = await planStore.get(lockKey(plan.name));
  const state = planLock ? (JSON.parse(planLock.body.toString()) as { state?: string }).state : undefined;
  checks.push({ name: 'plan lock', ok: state === 'released', detail: `${lockKey(plan.name)} of the plan is ${state ?? 'missing'}; expected released` });
  return checks;
}

