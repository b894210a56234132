import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunbookReference } from '../../config/release-plan';
import type { RunbookCatalog } from '../../core/ports/runbook-catalog';
import type { ChildStart, PlanProgress } from '../../core/release-plan';
import { runReleasePlan, type ReleasePlanEvent } from '../../core/tasks/release-plan/release-plan';
import { deploymentIdFor } from '../../core/deployment-id';
import type { PlanReport } from '../../core/tasks/release-plan/plan-report';
import type { FileArtifactStore } from '../../adapters/local/file-artifact-store';
import { LocalNotifier } from '../../adapters/local/local-notifier';
import type { Notifier } from '../../core/ports/notifier';
import type { ExecutionResult, TaskCall } from '../../local/engine/engine';
import { PLAN_APPROVAL_ACTIVITY, PLAN_FUNCTION, runReleasePlanDefinition } from '../../local/engine/plan-engine';
import { renderPlanDefinition } from '../../statemachines/build';
import { PLAN_DEFINITION_PATH, placeholdersOf, type Json } from '../../statemachines/definition';
import { fixedClock, tempFileStore } from '../core/tasks/ledger/fixtures';

const ARN = (name: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:DeployRunbook-${name}`;

/**
 * Two runbooks, as a catalog finds them by stack name, each with one SQL check and two deciding analysis metrics, and a
 * third (worker) without analysis; anything else does not exist.
 */
const catalog: RunbookCatalog = {
  find: async (reference: RunbookReference) => {
    if ('stack' in reference && ['DeployRunbook-staging', 'DeployRunbook-production', 'DeployRunbook-worker'].includes(reference.stack)) {
      const target = reference.stack.replace('DeployRunbook-', '');
      return { stateMachineArn: ARN(target), target, targetKind: 'process', checks: ['backfill complete'], metrics: target === 'worker' ? [] : ['p95', 'errors'] };
    }
    return 'no deploy-runbook stack of that name';
  },
  reportLocation: async (target, id) => `s3://runbook-${target}/reports/${target}/${id}.md`,
};

function plan(overrides: Record<string, unknown> = {}) {
  return {
    name: 'shop',
    stages: [
      { name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'soak', minutes: 10 }] },
      { name: 'production', runbook: { stack: 'DeployRunbook-production' }, version: 'v2' },
    ],
    ...overrides,
  };
}

/** A child ending as scripted: succeeded (its state carries deployment.id, as the runbook's does) or failed with an Error. */
function childResult(start: ChildStart, ended: 'SUCCEEDED' | string): ExecutionResult {
  const succeeded = ended === 'SUCCEEDED';
  return {
    status: succeeded ? 'SUCCEEDED' : 'FAILED',
    error: succeeded ? null : ended,
    cause: succeeded ? null : `${ended} in ${start.name}`,
    output: succeeded ? ({ deployment: { id: `${start.name}-0a1b2c3d` } } as Json) : null,
    executionId: `arn:aws:states:eu-west-1:123456789012:execution:${start.stateMachineArn.split(':').pop()}:${start.name}`,
    executionName: start.name,
    events: [],
    payloads: [],
    startedAt: 1_000,
    finishedAt: 2_000,
  };
}

const SUPPORT_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:shop-support';

let files: { store: FileArtifactStore; remove: () => Promise<void> };
beforeEach(async () => {
  files = await tempFileStore('plan-');
});
afterEach(() => files.remove());

/** Runs the generated definition in the local engine: the real plan function, children scripted by `script(start)`. */
async function runPlan(input: unknown, script: (start: ChildStart) => string, approval?: (call: TaskCall) => unknown, notifier: Notifier = new LocalNotifier(files.store)) {
  const started: ChildStart[] = [];
  const calls: TaskCall[] = [];
  const deps = { store: files.store, clock: fixedClock('2026-12-06T10:00:00.000Z'), runbooks: catalog, notifier };
  const result = await runReleasePlanDefinition({
    settings: { lock: { leaseMinutes: 600 }, notifications: { topics: [{ topicArn: SUPPORT_TOPIC, audience: 'support', events: ['started'] }] } },
    timeoutSeconds: 3600,
    input: input as Json,
    executionName: 'plan-shop-1',
    handler: async (call) => {
      calls.push(call);
      if (call.folder === PLAN_FUNCTION) return runReleasePlan(call.event as ReleasePlanEvent, deps);
      if (call.folder === PLAN_APPROVAL_ACTIVITY && approval) return approval(call);
      throw new Error(`unexpected task ${call.state} (${call.folder})`);
    },
    runChild: async (start) => {
      started.push(start);
      return childResult(start, script(start));
    },
  });
  const progress = [...calls].reverse().find((call) => call.state === 'RecordPlan')?.event as { progress?: PlanProgress } | undefined;
  return { result, started, calls, progress: progress?.progress ?? null };
}

describe('the release plan definition', () => {
  it('is what statemachines/release-plan.ts generates (npm run build:asl)', () => {
    expect(renderPlanDefinition()).toBe(readFileSync(PLAN_DEFINITION_PATH, 'utf8'));
  });

  it('reads no task token and runs children with the sync:2 integration only', () => {
    const text = readFileSync(PLAN_DEFINITION_PATH, 'utf8');
    expect(text).not.toContain('$$.Task.Token');
    expect(text).not.toContain('JSONata');
    const definition = JSON.parse(text) as { States: Record<string, { Resource?: string }> };
    const resources = new Set(Object.values(definition.States).flatMap((state) => (state.Resource ? [state.Resource] : [])));
    expect([...resources].sort()).toEqual(['${PlanApprovalActivityArn}', '${ReleasePlanFunctionArn}', 'arn:aws:states:::states:startExecution.sync:2']);
    const children = Object.entries(definition.States).filter(([, state]) => state.Resource === 'arn:aws:states:::states:startExecution.sync:2');
    expect(children.map(([name]) => name).sort()).toEqual(['RollBackStage', 'RunGateAnalysis', 'RunGateChecks', 'RunStage']);
    expect(placeholdersOf(definition as unknown as Json).sort()).toEqual(
      ['PlanApprovalActivityArn', 'PlanSettings', 'PlanTimeoutSeconds', 'ReleasePlanFunctionArn', 'StageTimeoutSeconds'].sort(),
    );
  });
});

describe('a release plan run by the local engine', () => {
  it('deploys the stages in order, soaking between them, and succeeds', async () => {
    const { result, started, calls } = await runPlan({ plan: plan(), requestedBy: 'ci' }, () => 'SUCCEEDED');
    expect(result.status).toBe('SUCCEEDED');
    expect(started.map((s) => [s.stateMachineArn, s.input])).toEqual([
      [ARN('staging'), { version: 'v2', requestedBy: 'release-plan shop for ci', reason: 'release plan shop, stage 1 of 2 (staging)' }],
      [ARN('production'), { version: 'v2', requestedBy: 'release-plan shop for ci', reason: 'release plan shop, stage 2 of 2 (production)' }],
    ]);
    const entered = result.events.filter((e) => e.type === 'entered').map((e) => e.state);
    expect(entered.indexOf('Soak')).toBeGreaterThan(entered.indexOf('RunStage'));
    expect(entered.indexOf('Soak')).toBeLessThan(entered.lastIndexOf('RunStage'));
    expect(calls.some((call) => call.state === 'ReleasePlanLock')).toBe(true);
    const lock = JSON.parse((await files.store.get('locks/shop.json'))!.body.toString()) as { state: string };
    expect(lock.state).toBe('released');
  });

  it('tells the audiences of started, right after the lock and before any stage, the stages in order with their versions', async () => {
    const { result } = await runPlan({ plan: plan(), requestedBy: 'ci', reason: 'release 2' }, () => 'SUCCEEDED');
    const entered = result.events.filter((e) => e.type === 'entered').map((e) => e.state);
    expect(entered.slice(0, 5)).toEqual(['LoadPlan', 'ValidatePlan', 'AcquirePlanLock', 'NotifyPlanStarted', 'Advance']);
    const log = (await files.store.get('notifications/shop.log'))!.body.toString();
    expect(log).toContain('[started → support] shop: release plan starting (staging v2 → production v2)');
    expect(log).toContain('  1. staging: staging → v2; then a soak of 10 min\n  2. production: production → v2\n');
    expect(log).toContain('  Expected duration: unknown (no successful plan run recorded yet)');
    expect(log).toContain('  Requested by (as the input says, not verified): ci (release 2)');
    // The run's duration is kept for the next start notification.
    const durations = JSON.parse((await files.store.get('reports/plans/shop/durations.json'))!.body.toString());
    expect(durations.runs).toEqual([{ releaseId: deploymentIdFor('plan-shop-1', result.executionId), seconds: expect.any(Number), finishedAt: '2026-12-06T10:00:00.000Z' }]);
  });

  it('goes on with the plan when the start notification cannot be sent, keeping the error', async () => {
    const refusing: Notifier = { needsRecipients: true, publish: async () => Promise.reject(Object.assign(new Error('Topic does not exist'), { name: 'NotificationFailedError' })) };
    const { result, started } = await runPlan({ plan: plan() }, () => 'SUCCEEDED', undefined, refusing);
    expect(result.status).toBe('SUCCEEDED');
    expect(started).toHaveLength(2);
    expect(result.output).toMatchObject({ notifyError: { Error: 'NotificationFailedError' } });
  });

  it('rolls the first stage back when the second fails, and ends RolledBack', async () => {
    const { result, started, progress } = await runPlan({ plan: plan() }, (start) => (start.stateMachineArn === ARN('production') || start.input.action === 'rollback' ? 'RolledBack' : 'SUCCEEDED'));
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RolledBack');
    expect(started).toHaveLength(3);
    expect(started[2].stateMachineArn).toBe(ARN('staging'));
    expect(started[2].input).toMatchObject({ action: 'rollback', plan: { name: 'shop', stage: 'staging', version: 'v2', execution: result.executionId } });
    expect(progress?.stages.map((s) => s.status)).toEqual(['rolled-back', 'rolled-back']);
    expect(result.cause).toContain('production failed (RolledBack');
    const report = JSON.parse((await files.store.get(`reports/plans/shop/${deploymentIdFor('plan-shop-1', result.executionId)}.json`))!.body.toString()) as PlanReport;
    expect(report.outcome).toBe('rolled-back');
    expect(report.stages[0].deployment?.report).toBe(`s3://runbook-staging/reports/staging/${started[0].name}-0a1b2c3d.md`);
    expect(report.stages[0].rollback?.ended).toBe('RolledBack');
  });

  it('ends RollbackFailed, keeping the plan lock stuck, when a stage cannot be rolled back', async () => {
    const { result, progress } = await runPlan({ plan: plan() }, (start) => (start.stateMachineArn === ARN('production') ? 'RolledBack' : start.input.action === 'rollback' ? 'DeploymentInProgress' : 'SUCCEEDED'));
    expect(result.error).toBe('RollbackFailed');
    expect(progress?.stages.map((s) => s.status)).toEqual(['rollback-failed', 'rolled-back']);
    const lock = JSON.parse((await files.store.get('locks/shop.json'))!.body.toString()) as { state: string };
    expect(lock.state).toBe('stuck');
  });

  it('ends PlanAborted when the first stage fails before changing anything', async () => {
    const { result, started } = await runPlan({ plan: plan() }, () => 'DeploymentAborted');
    expect(result.error).toBe('PlanAborted');
    expect(started).toHaveLength(1);
  });

  it('rolls back the gated stage too when its approval is rejected', async () => {
    const gated = plan({
      stages: [
        { name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'approval', timeoutMinutes: 30 }] },
        { name: 'production', runbook: { stack: 'DeployRunbook-production' }, version: 'v2' },
      ],
    });
    const asked: Json[] = [];
    const { result, started } = await runPlan({ plan: gated }, (start) => (start.input.action === 'rollback' ? 'RolledBack' : 'SUCCEEDED'), (call) => {
      asked.push(call.event);
      const rejected = new Error('not today');
      rejected.name = 'PlanRejected';
      throw rejected;
    });
    expect(asked).toEqual([{ kind: 'plan-approval', execution: result.executionId, plan: 'shop', stage: 'staging', gate: expect.objectContaining({ timeoutSeconds: 1800 }) }]);
    expect(started.map((s) => [s.stateMachineArn, s.input.action ?? 'deploy'])).toEqual([
      [ARN('staging'), 'deploy'],
      [ARN('staging'), 'rollback'],
    ]);
    expect(result.error).toBe('RolledBack');
  });

  it('goes on past an approval answered yes', async () => {
    const gated = plan({
      stages: [
        { name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'approval', timeoutMinutes: 30 }] },
        { name: 'production', runbook: { stack: 'DeployRunbook-production' }, version: 'v2' },
      ],
    });
    const { result, started } = await runPlan({ plan: gated }, () => 'SUCCEEDED', () => ({ approved: true, by: 'ana', comment: 'staging looks fine' }));
    expect(result.status).toBe('SUCCEEDED');
    expect(started).toHaveLength(2);
  });

  it.each([
    ['a stage whose stack does not exist', { stages: [{ name: 'staging', runbook: { stack: 'DeployRunbook-nope' }, version: 'v2' }] }, 'plan.stages[0].runbook: no deploy-runbook stack of that name (got {"stack":"DeployRunbook-nope"})'],
    [
      'a duplicate stage',
      {
        stages: [
          { name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2' },
          { name: 'staging', runbook: { stack: 'DeployRunbook-production' }, version: 'v2' },
        ],
      },
      "plan.stages[1].name: duplicate stage: stages[0] is already called 'staging'",
    ],
    [
      'a cycle (the same runbook twice)',
      {
        stages: [
          { name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2' },
          { name: 'again', runbook: { stack: 'DeployRunbook-staging' }, version: 'v3' },
        ],
      },
      'plan.stages[1].runbook: a cycle: stages[0] (staging) already deploys this runbook',
    ],
    ['a stage without a version', { stages: [{ name: 'staging', runbook: { stack: 'DeployRunbook-staging' } }] }, 'plan.stages[0].version: required'],
    ['a gate of an unknown kind', { stages: [{ name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'metric', name: 'p95' }] }] }, 'plan.stages[0].gates[0].kind'],
    [
      'a SQL gate naming a check its stage does not have',
      {
        stages: [
          { name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'soak', minutes: 1 }, { kind: 'sql', checks: ['backfill complete', 'backfil'] }] },
          { name: 'production', runbook: { stack: 'DeployRunbook-production' }, version: 'v2' },
        ],
      },
      "plan.stages[0].gates[1].checks[1]: names no SQL check of the stage's runbook: checks.sql of staging has 'backfill complete' (got 'backfil')",
    ],
    ['a SQL gate naming no check', { stages: [{ name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'sql', checks: [] }] }] }, 'plan.stages[0].gates[0].checks'],
    [
      'an analysis gate naming a metric its stage does not have',
      {
        stages: [
          { name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'analysis', metrics: ['p95', 'p59'] }] },
          { name: 'production', runbook: { stack: 'DeployRunbook-production' }, version: 'v2' },
        ],
      },
      "plan.stages[0].gates[0].metrics[1]: names no deciding analysis metric of the stage's runbook: analysis.metrics of staging has 'p95', 'errors' (got 'p59')",
    ],
    [
      'an analysis gate on a runbook without analysis',
      {
        stages: [
          { name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2' },
          { name: 'worker', runbook: { stack: 'DeployRunbook-worker' }, version: 'v2', gates: [{ kind: 'analysis' }] },
        ],
      },
      'plan.stages[1].gates[0]: the stage\'s runbook worker has no analysis metric that decides (analysis.metrics empty or every one dryRun): nothing to measure (got {"kind":"analysis"})',
    ],
    ['an analysis gate naming no metric', { stages: [{ name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'analysis', metrics: [] }] }] }, 'plan.stages[0].gates[0].metrics'],
    [
      'an analysis gate with a field it does not have',
      { stages: [{ name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'analysis', threshold: 0.5 }] }] },
      'plan.stages[0].gates[0].threshold: unknown field (got 0.5)',
    ],
  ])('fails InvalidInput, naming the field, for %s, before any stage starts', async (_, overrides, message) => {
    const { result, started, calls } = await runPlan({ plan: plan(overrides) }, () => 'SUCCEEDED');
    expect(result.error).toBe('InvalidInput');
    expect((JSON.parse(result.cause ?? '{}') as { errorMessage: string }).errorMessage).toContain(message);
    expect(started).toEqual([]);
    expect(calls.map((call) => call.state)).toEqual(['ValidatePlan']);
    expect(await files.store.get('locks/shop.json')).toBeUndefined();
  });

  it("runs a SQL gate as a check execution of the gated stage's runbook, and goes on when it succeeds", async () => {
    const gated = plan({
      stages: [
        { name: 'backend', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'sql', checks: ['backfill complete'] }] },
        { name: 'frontend', runbook: { stack: 'DeployRunbook-production' }, version: 'v2' },
      ],
    });
    const { result, started, progress } = await runPlan({ plan: gated, requestedBy: 'ci' }, () => 'SUCCEEDED');
    expect(result.status).toBe('SUCCEEDED');
    expect(started.map((s) => [s.stateMachineArn, s.input.action ?? 'deploy'])).toEqual([
      [ARN('staging'), 'deploy'],
      [ARN('staging'), 'check'],
      [ARN('production'), 'deploy'],
    ]);
    expect(started[1]).toEqual({
      stateMachineArn: ARN('staging'),
      name: `${deploymentIdFor('plan-shop-1', result.executionId)}-c1g1-backend`,
      input: {
        action: 'check',
        checks: ['backfill complete'],
        plan: { name: 'shop', execution: result.executionId, stage: 'backend', version: 'v2' },
        requestedBy: 'release-plan shop for ci',
        reason: 'release plan shop: the SQL gate 1 after stage backend',
      },
    });
    const entered = result.events.filter((e) => e.type === 'entered').map((e) => e.state);
    expect(entered.filter((state) => ['RunStage', 'RunGateChecks'].includes(state))).toEqual(['RunStage', 'RunGateChecks', 'RunStage']);
    expect(progress?.stages[0].gates).toEqual([{ kind: 'sql', passed: true, detail: `SQL checks 'backfill complete' passed (${started[1].name})` }]);
  });

  it('rolls back every completed stage, newest first, when a SQL gate after the second fails: RolledBack', async () => {
    const gated = plan({
      stages: [
        { name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'sql', checks: ['backfill complete'] }] },
        { name: 'production', runbook: { stack: 'DeployRunbook-production' }, version: 'v2', gates: [{ kind: 'sql', checks: ['backfill complete'] }] },
      ],
    });
    // staging's checks pass; production's fail (its runbook ends ChecksFailed); both rollbacks succeed.
    const script = (start: ChildStart) =>
      start.input.action === 'rollback' ? 'RolledBack' : start.input.action === 'check' && start.stateMachineArn === ARN('production') ? 'ChecksFailed' : 'SUCCEEDED';
    const { result, started, progress } = await runPlan({ plan: gated }, script);

    expect(result.error).toBe('RolledBack');
    expect(started.map((s) => [s.stateMachineArn.split('-').pop(), s.input.action ?? 'deploy'])).toEqual([
      ['staging', 'deploy'],
      ['staging', 'check'],
      ['production', 'deploy'],
      ['production', 'check'],
      ['production', 'rollback'],
      ['staging', 'rollback'],
    ]);
    expect(started[4].input).toMatchObject({ action: 'rollback', plan: { stage: 'production', version: 'v2' }, reason: 'GateChecksFailed at production: the plan rolls back every stage it deployed' });
    expect(progress?.stages.map((s) => s.status)).toEqual(['rolled-back', 'rolled-back']);
    expect(progress?.stages[1].gates).toEqual([{ kind: 'sql', passed: false, detail: `ChecksFailed: ChecksFailed in ${started[3].name}` }]);
    expect(progress?.failure).toMatchObject({ stage: 'production', Error: 'GateChecksFailed' });
    expect(result.cause).toContain('production failed (GateChecksFailed: The SQL gate after stage production');
    expect(result.cause).toContain('rolled back staging, production');
  });

  it('rolls back the gated first stage and never starts the second when its SQL gate fails', async () => {
    const gated = plan({
      stages: [
        { name: 'backend', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'sql', checks: ['backfill complete'] }] },
        { name: 'frontend', runbook: { stack: 'DeployRunbook-production' }, version: 'v2' },
      ],
    });
    const { result, started } = await runPlan({ plan: gated }, (start) => (start.input.action === 'check' ? 'ChecksUnavailable' : start.input.action === 'rollback' ? 'RolledBack' : 'SUCCEEDED'));
    expect(result.error).toBe('RolledBack');
    expect(started.map((s) => [s.stateMachineArn, s.input.action ?? 'deploy'])).toEqual([
      [ARN('staging'), 'deploy'],
      [ARN('staging'), 'check'],
      [ARN('staging'), 'rollback'],
    ]);
  });

  it("runs an analysis gate as an analyze execution of the gated stage's runbook, and goes on when it succeeds", async () => {
    const gated = plan({
      stages: [
        { name: 'backend', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'analysis', metrics: ['p95'] }] },
        { name: 'frontend', runbook: { stack: 'DeployRunbook-production' }, version: 'v2', gates: [{ kind: 'analysis' }] },
      ],
    });
    const { result, started, progress } = await runPlan({ plan: gated, requestedBy: 'ci' }, () => 'SUCCEEDED');
    expect(result.status).toBe('SUCCEEDED');
    expect(started.map((s) => [s.stateMachineArn, s.input.action ?? 'deploy'])).toEqual([
      [ARN('staging'), 'deploy'],
      [ARN('staging'), 'analyze'],
      [ARN('production'), 'deploy'],
      [ARN('production'), 'analyze'],
    ]);
    expect(started[1]).toEqual({
      stateMachineArn: ARN('staging'),
      name: `${deploymentIdFor('plan-shop-1', result.executionId)}-a1g1-backend`,
      input: {
        action: 'analyze',
        metrics: ['p95'],
        plan: { name: 'shop', execution: result.executionId, stage: 'backend', version: 'v2' },
        requestedBy: 'release-plan shop for ci',
        reason: 'release plan shop: the analysis gate 1 after stage backend',
      },
    });
    // Without metrics the child measures every deciding one: the input names none.
    expect(started[3].input).not.toHaveProperty('metrics');
    const entered = result.events.filter((e) => e.type === 'entered').map((e) => e.state);
    expect(entered.filter((state) => ['RunStage', 'RunGateAnalysis'].includes(state))).toEqual(['RunStage', 'RunGateAnalysis', 'RunStage', 'RunGateAnalysis']);
    expect(progress?.stages[0].gates).toEqual([{ kind: 'analysis', passed: true, detail: `analysis of metrics 'p95' passed against the release's baseline (${started[1].name})` }]);
    expect(progress?.stages[1].gates).toEqual([{ kind: 'analysis', passed: true, detail: `analysis of every deciding metric passed against the release's baseline (${started[3].name})` }]);
  });

  it('rolls back every completed stage, newest first, when an analysis gate after the second fails: RolledBack', async () => {
    const gated = plan({
      stages: [
        { name: 'staging', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'analysis' }] },
        { name: 'production', runbook: { stack: 'DeployRunbook-production' }, version: 'v2', gates: [{ kind: 'analysis' }] },
      ],
    });
    // staging's analysis passes; production's fails (its runbook ends AnalysisFailed); both rollbacks succeed.
    const script = (start: ChildStart) =>
      start.input.action === 'rollback' ? 'RolledBack' : start.input.action === 'analyze' && start.stateMachineArn === ARN('production') ? 'AnalysisFailed' : 'SUCCEEDED';
    const { result, started, progress } = await runPlan({ plan: gated }, script);

    expect(result.error).toBe('RolledBack');
    expect(started.map((s) => [s.stateMachineArn.split('-').pop(), s.input.action ?? 'deploy'])).toEqual([
      ['staging', 'deploy'],
      ['staging', 'analyze'],
      ['production', 'deploy'],
      ['production', 'analyze'],
      ['production', 'rollback'],
      ['staging', 'rollback'],
    ]);
    expect(started[4].input).toMatchObject({ action: 'rollback', plan: { stage: 'production', version: 'v2' }, reason: 'GateAnalysisFailed at production: the plan rolls back every stage it deployed' });
    expect(progress?.stages.map((s) => s.status)).toEqual(['rolled-back', 'rolled-back']);
    expect(progress?.stages[1].gates).toEqual([{ kind: 'analysis', passed: false, detail: `AnalysisFailed: AnalysisFailed in ${started[3].name}` }]);
    expect(progress?.failure).toMatchObject({ stage: 'production', Error: 'GateAnalysisFailed' });
    expect(result.cause).toContain('production failed (GateAnalysisFailed: The analysis gate after stage production');
    expect(result.cause).toContain('rolled back staging, production');
  });

  it('rolls back the gated first stage and never starts the second when its analysis cannot be judged', async () => {
    const gated = plan({
      stages: [
        { name: 'backend', runbook: { stack: 'DeployRunbook-staging' }, version: 'v2', gates: [{ kind: 'analysis' }] },
        { name: 'frontend', runbook: { stack: 'DeployRunbook-production' }, version: 'v2' },
      ],
    });
    const { result, started } = await runPlan({ plan: gated }, (start) => (start.input.action === 'analyze' ? 'AnalysisUnavailable' : start.input.action === 'rollback' ? 'RolledBack' : 'SUCCEEDED'));
    expect(result.error).toBe('RolledBack');
    expect(started.map((s) => [s.stateMachineArn, s.input.action ?? 'deploy'])).toEqual([
      [ARN('staging'), 'deploy'],
      [ARN('staging'), 'analyze'],
      [ARN('staging'), 'rollback'],
    ]);
  });

  it('fails DeploymentInProgress while another execution of the plan holds its lock', async () => {
    await files.store.put(
      'locks/shop.json',
      JSON.stringify({ owner: 'other', executionId: 'arn:other', deploymentId: 'other-1', version: null, action: 'deploy', state: 'held', acquiredAt: '2026-12-06T09:00:00.000Z', expiresAt: '2026-12-07T09:00:00.000Z', note: null, previousOwner: null }),
    );
    const { result, started } = await runPlan({ plan: plan() }, () => 'SUCCEEDED');
    expect(result.error).toBe('DeploymentInProgress');
    expect(started).toEqual([]);
  });
});
