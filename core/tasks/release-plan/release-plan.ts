import * as z from 'zod/mini';
import { describeValue, formatIssues } from '../../../config/issues';
import { type Gate, PlanRequest, ReleasePlan } from '../../../config/release-plan';
import { MAX_INPUT_BYTES } from '../../../config/deployment-input';
import type { ArtifactStore } from '../../ports/artifact-store';
import type { Clock } from '../../ports/clock';
import type { RunbookCatalog, RunbookEntry } from '../../ports/runbook-catalog';
import { deploymentIdFor } from '../../deployment-id';
import { InvalidInputError } from '../../errors';
import { type Deployment, Execution, judged, Lease, TaskError } from '../../model';
import { type PlanGate, PlanProgress, PlanStepResult, Release, type ReleaseStage } from '../../release-plan';
import { acquireLock, type LockTransition, markLockStuck, releaseLock } from '../deployment-lock/deployment-lock';
import { advancePlan } from './progress';
import { planReport, type PlanReportPaths } from './plan-report';
import { notifyPlanStarted, recordPlanDuration } from './plan-start';
import type { NotificationSettings } from '../../../config/notification-topics';
import type { Notifier } from '../../ports/notifier';

/** What the plan's state machine is set up with: on AWS by its stack, in a rehearsal by the CLI. */
export interface PlanSettings {
  /** A lease older than this may be taken over: longer than the plan's execution timeout. */
  readonly lock: { readonly leaseMinutes: number };
  /** The topics told of the plan's start (config/notification-topics.ts). @default - none */
  readonly notifications?: NotificationSettings;
}

const common = { release: Release, execution: Execution };

/** ValidatePlan, the plan's lock Tasks, Advance and RecordPlan send these Parameters. */
export const ReleasePlanEvent = z.discriminatedUnion('operation', [
  z.object({ operation: z.literal('validate'), input: z.unknown(), execution: Execution }),
  z.object({ operation: z.literal('acquire'), config: judged<PlanSettings>(), ...common }),
  z.object({ operation: z.literal('release'), ...common, lease: Lease }),
  z.object({ operation: z.literal('mark-stuck'), ...common, lease: Lease, failure: z._default(z.nullable(TaskError), null) }),
  z.object({ operation: z.literal('advance'), release: Release, progress: z.nullable(PlanProgress), last: PlanStepResult }),
  z.object({ operation: z.literal('record'), ...common, progress: PlanProgress }),
  z.object({ operation: z.literal('notify-started'), config: judged<PlanSettings>(), release: Release }),
]);
export type ReleasePlanEvent = z.output<typeof ReleasePlanEvent>;

export interface ReleasePlanDeps {
  readonly store: ArtifactStore;
  readonly clock: Clock;
  readonly runbooks: RunbookCatalog;
  /** Tells the plan's topics that it started (SNS on AWS, the rehearsal's log locally). */
  readonly notifier: Notifier;
}

/** Dispatches the plan's operations; the ASL's `operation` picks one. */
export async function runReleasePlan(event: ReleasePlanEvent, deps: ReleasePlanDeps): Promise<Release | Lease | LockTransition | PlanProgress | PlanReportPaths | { published: boolean }> {
  switch (event.operation) {
    case 'validate':
      return validatePlan(event.input, event.execution, deps);
    case 'acquire':
      return acquireLock({ operation: 'acquire', config: { name: event.release.name, lock: { ...event.config.lock, operatorRoleArns: [] } }, deployment: planDeployment(event.release), execution: event.execution }, deps);
    case 'release':
      return releaseLock({ operation: 'release', deployment: planDeployment(event.release), execution: event.execution, lease: event.lease }, deps);
    case 'mark-stuck':
      return markLockStuck({ operation: 'mark-stuck', deployment: planDeployment(event.release), execution: event.execution, lease: event.lease, rollbackError: event.failure }, deps);
    case 'advance':
      return advancePlan(event.release, event.progress, event.last);
    case 'record': {
      const paths = await planReport(event.release, event.progress, event.execution, deps);
      // The next start notification's expected duration: successful runs only.
      if (event.progress.next === 'succeeded') await recordPlanDuration(deps.store, event.release, deps.clock.now());
      return paths;
    }
    case 'notify-started':
      return notifyPlanStarted(event.release, event.config.notifications ?? {}, deps);
  }
}

/**
 * Judges the plan before any stage starts: the document (stages, versions, gates, no stage or runbook twice), then
 * every stage's runbook (it must exist: an ECS target needs an image, a SQL gate names its checks, an analysis gate
 * deciding metrics it has). Every problem is named, field and value.
 */
export async function validatePlan(input: unknown, execution: Execution, deps: Pick<ReleasePlanDeps, 'runbooks' | 'clock'>): Promise<Release> {
  const size = Buffer.byteLength(JSON.stringify(input ?? null));
  if (size > MAX_INPUT_BYTES * 4) throw new InvalidInputError(`input is ${size} bytes; the limit is ${MAX_INPUT_BYTES * 4}`);
  const request = PlanRequest.safeParse(input);
  if (!request.success) throw new InvalidInputError(formatIssues(request.error, input).join('; '));
  const parsed = ReleasePlan.safeParse(request.data.plan);
  if (!parsed.success) throw new InvalidInputError(formatIssues(parsed.error, request.data.plan, 'plan').join('; '));
  const plan = parsed.data;

  const problems: string[] = [];
  const stages: ReleaseStage[] = [];
  const found = await Promise.all(plan.stages.map((stage) => deps.runbooks.find(stage.runbook)));
  plan.stages.forEach((stage, index) => {
    const entry = found[index];
    const at = `plan.stages[${index}]`;
    if (typeof entry === 'string') {
      problems.push(`${at}.runbook: ${entry} (got ${describeValue(stage.runbook)})`);
      return;
    }
    if (entry.targetKind === 'ecs' && !stage.image) problems.push(`${at}.image: required for the ECS target of ${entry.target} (got nothing)`);
    const twice = stages.find((other) => other.stateMachineArn === entry.stateMachineArn);
    if (twice) problems.push(`${at}.runbook: a cycle: stage ${twice.name} already deploys ${entry.stateMachineArn} (got ${describeValue(stage.runbook)})`);
    stage.gates.forEach((gate, gateIndex) => {
      if (gate.kind === 'analysis') {
        problems.push(...analysisGateProblems(`${at}.gates[${gateIndex}]`, gate.metrics, entry));
        return;
      }
      if (gate.kind !== 'sql') return;
      gate.checks.forEach((check, checkIndex) => {
        if (entry.checks.includes(check)) return;
        const known = entry.checks.length > 0 ? `checks.sql of ${entry.target} has ${entry.checks.map((c) => `'${c}'`).join(', ')}` : `${entry.target} has no checks.sql`;
        problems.push(`${at}.gates[${gateIndex}].checks[${checkIndex}]: names no SQL check of the stage's runbook: ${known} (got '${check}')`);
      });
    });
    stages.push({
      name: stage.name,
      stateMachineArn: entry.stateMachineArn,
      target: entry.target,
      version: stage.version,
      image: stage.image ?? null,
      gates: stage.gates.map(planGate),
    });
  });
  if (problems.length > 0) throw new InvalidInputError(problems.join('; '));
  return {
    id: deploymentIdFor(execution.name, execution.id),
    name: plan.name,
    executionId: execution.id,
    requestedBy: request.data.requestedBy ?? null,
    reason: request.data.reason ?? null,
    stages,
    startedAt: deps.clock.now().toISOString(),
  };
}

/** A gate as the parent waits on it: in whole seconds, a soak at least one. */
function planGate(gate: Gate): PlanGate {
  switch (gate.kind) {
    case 'soak':
      return { kind: 'soak', seconds: Math.max(1, Math.round(gate.minutes * 60)) };
    case 'approval':
      return { kind: 'approval', timeoutSeconds: gate.timeoutMinutes * 60 };
    case 'sql':
      return { kind: 'sql', checks: gate.checks };
    case 'analysis':
      return { kind: 'analysis', metrics: gate.metrics ?? null };
  }
}

/** An analysis gate needs a deciding metric in the stage's runbook, and names only those (a dry-run metric decides nothing). */
function analysisGateProblems(at: string, metrics: readonly string[] | undefined, entry: RunbookEntry): string[] {
  if (entry.metrics.length === 0) {
    return [`${at}: the stage's runbook ${entry.target} has no analysis metric that decides (analysis.metrics empty or every one dryRun): nothing to measure (got {"kind":"analysis"})`];
  }
  const known = entry.metrics.map((name) => `'${name}'`).join(', ');
  return (metrics ?? []).flatMap((name, index) =>
    entry.metrics.includes(name) ? [] : [`${at}.metrics[${index}]: names no deciding analysis metric of the stage's runbook: analysis.metrics of ${entry.target} has ${known} (got '${name}')`],
  );
}

/** The plan's lease is a runbook lease on the plan's name: the same lock code, the same records. */
function planDeployment(release: Release): Deployment {
  return {
    id: release.id,
    action: 'deploy',
    target: release.name,
    version: null,
    image: null,
    requestedBy: release.requestedBy,
    reason: release.reason,
    alarm: null,
    bakeChecks: 1,
    approvalTimeoutSeconds: 1,
    executionId: release.executionId,
    startedAt: release.startedAt,
  };
}
