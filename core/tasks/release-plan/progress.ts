import type {
  ChildExecution,
  ChildStart,
  PlanProgress,
  PlanStep,
  Release,
  ReleaseStage,
  StageRecord,
} from '../../release-plan';

/**
 * The plan's progress, one step at a time: given where the plan was (`progress.next`) and what that step
 * produced (`last`), where it goes now. Pure, so that every path of the parent is a table test.
 */
export function advancePlan(release: Release, progress: PlanProgress | null, last: Record<string, unknown> | null): PlanProgress {
  if (progress === null) return runStage(release, initialProgress(release), 0);
  switch (progress.next) {
    case 'run-stage':
      return afterStage(release, progress, childOutcome(last, progress.run));
    case 'soak':
      return gatePassed(release, progress, `soaked ${progress.gate?.seconds ?? 0} s`);
    case 'approval':
      return afterApproval(release, progress, last);
    case 'check':
      return afterGateChecks(release, progress, childOutcome(last, progress.run));
    case 'analyze':
      return afterGateAnalysis(release, progress, childOutcome(last, progress.run));
    case 'undo':
      return afterUndo(release, progress, childOutcome(last, progress.run));
    default:
      return progress;
  }
}

function initialProgress(release: Release): PlanProgress {
  return {
    next: 'run-stage',
    index: 0,
    gateIndex: 0,
    run: null,
    gate: null,
    stages: release.stages.map((stage) => ({
      name: stage.name,
      target: stage.target,
      version: stage.version,
      status: 'pending',
      deployment: null,
      deploymentId: null,
      gates: [],
      rollback: null,
    })),
    failure: null,
    cause: null,
  };
}

/**
 * A child's execution name: unique per plan execution, stage and gate, within Step Functions' 80 characters —
 * `s<n>` deploys stage n, `r<n>` rolls it back, `c<n>g<m>` runs the SQL checks of its gate m, `a<n>g<m>` measures the
 * analysis of its gate m.
 */
export function childExecutionName(release: Release, index: number, kind: 'deploy' | 'rollback' | 'check' | 'analyze', gateIndex = 0): string {
  const stage = release.stages[index].name.replace(/[^A-Za-z0-9_-]/g, '-');
  const step = { deploy: `s${index + 1}`, rollback: `r${index + 1}`, check: `c${index + 1}g${gateIndex + 1}`, analyze: `a${index + 1}g${gateIndex + 1}` }[kind];
  return `${release.id}-${step}-${stage}`.slice(0, 80);
}

function requestedBy(release: Release): string {
  return `release-plan ${release.name}${release.requestedBy ? ` for ${release.requestedBy}` : ''}`.slice(0, 128);
}

function runStage(release: Release, progress: PlanProgress, index: number): PlanProgress {
  const stage = release.stages[index];
  const input: Record<string, unknown> = {
    version: stage.version,
    ...(stage.image ? { image: stage.image } : {}),
    requestedBy: requestedBy(release),
    reason: `release plan ${release.name}, stage ${index + 1} of ${release.stages.length} (${stage.name})${release.reason ? `: ${release.reason}` : ''}`.slice(0, 1024),
  };
  return { ...progress, next: 'run-stage', index, gateIndex: 0, gate: null, run: { stateMachineArn: stage.stateMachineArn, name: childExecutionName(release, index, 'deploy'), input } };
}

/**
 * How a child execution ended, from what `startExecution.sync:2` left in `$.last`: its DescribeExecution output when
 * it succeeded, or the caught error (`States.TaskFailed` with that output as JSON in Cause) when it did not.
 */
export function childOutcome(last: Record<string, unknown> | null, run: ChildStart | null): ChildExecution & { output: Record<string, unknown> | null } {
  const name = run?.name ?? '(unknown)';
  if (last && typeof last.Error !== 'string' && last.Status === 'SUCCEEDED') {
    const output = last.Output !== null && typeof last.Output === 'object' ? (last.Output as Record<string, unknown>) : null;
    return { executionArn: stringOr(last.ExecutionArn), name, ended: 'SUCCEEDED', cause: null, output };
  }
  const error = last && typeof last.Error === 'string' ? last.Error : 'StageFailed';
  const cause = last && typeof last.Cause === 'string' ? last.Cause : null;
  const described = parseJson(cause);
  if (described && typeof described.Status === 'string') {
    // The child ran and ended otherwise: its own Fail state's Error, or its status (TIMED_OUT, ABORTED) when it had none.
    const ended = typeof described.Error === 'string' && described.Error ? described.Error : described.Status;
    return { executionArn: stringOr(described.ExecutionArn), name, ended, cause: stringOr(described.Cause), output: null };
  }
  return { executionArn: null, name, ended: error, cause, output: null };
}

function afterStage(release: Release, progress: PlanProgress, child: ReturnType<typeof childOutcome>): PlanProgress {
  const index = progress.index;
  const { output, ...deployment } = child;
  if (child.ended === 'SUCCEEDED') {
    const record = progress.stages[index];
    const deploymentId = deploymentIdOf(output);
    const stages = replaced(progress.stages, index, { ...record, status: 'succeeded', deployment, deploymentId });
    return nextAfterGates(release, { ...progress, stages }, index, 0);
  }
  const status = child.ended === 'RolledBack' ? 'rolled-back' : child.ended === 'RollbackFailed' ? 'rollback-failed' : 'failed';
  const stages = replaced(progress.stages, index, { ...progress.stages[index], status, deployment });
  const failure = { stage: release.stages[index].name, Error: child.ended ?? 'StageFailed', Cause: child.cause ?? `stage ${release.stages[index].name} failed` };
  return undoFrom(release, { ...progress, stages, failure }, index - 1);
}

function deploymentIdOf(output: Record<string, unknown> | null): string | null {
  const deployment = output?.deployment;
  if (deployment && typeof deployment === 'object' && typeof (deployment as { id?: unknown }).id === 'string') return (deployment as { id: string }).id;
  return null;
}

/** After stage `index` and its gates before `gateIndex` passed: the next gate, the next stage, or the end. */
function nextAfterGates(release: Release, progress: PlanProgress, index: number, gateIndex: number): PlanProgress {
  const stage = release.stages[index];
  const gate = stage.gates[gateIndex];
  if (gate) {
    return {
      ...progress,
      next: gate.kind === 'sql' ? 'check' : gate.kind === 'analysis' ? 'analyze' : gate.kind,
      index,
      gateIndex,
      run: gate.kind === 'sql' ? gateChecksRun(release, index, gateIndex, gate.checks) : gate.kind === 'analysis' ? gateAnalysisRun(release, index, gateIndex, gate.metrics) : null,
      gate: {
        stage: stage.name,
        kind: gate.kind,
        seconds: gate.kind === 'soak' ? gate.seconds : null,
        timeoutSeconds: gate.kind === 'approval' ? gate.timeoutSeconds : null,
        checks: gate.kind === 'sql' ? gate.checks : null,
        ...(gate.kind === 'analysis' ? { metrics: gate.metrics } : {}),
      },
    };
  }
  if (index + 1 < release.stages.length) return runStage(release, progress, index + 1);
  const done = release.stages.map((s) => `${s.name} ${s.version}`).join(', ');
  return ended(progress, 'succeeded', `Release plan ${release.name}: every stage deployed (${done}).`);
}

/** A SQL gate's child: the stage's runbook runs the named checks read-only (`{action: "check"}`), taking no lock. */
function gateChecksRun(release: Release, index: number, gateIndex: number, checks: readonly string[]): ChildStart {
  const stage = release.stages[index];
  const input = {
    action: 'check',
    checks: [...checks],
    plan: { name: release.name, execution: release.executionId, stage: stage.name, version: stage.version },
    requestedBy: requestedBy(release),
    reason: `release plan ${release.name}: the SQL gate ${gateIndex + 1} after stage ${stage.name}`.slice(0, 1024),
  };
  return { stateMachineArn: stage.stateMachineArn, name: childExecutionName(release, index, 'check', gateIndex), input };
}

/**
 * An analysis gate's child: the stage's runbook measures its release's metrics once against the baselines it kept
 * (`{action: "analyze"}`), taking no lock and rolling nothing back; the plan's version tells it which release.
 */
function gateAnalysisRun(release: Release, index: number, gateIndex: number, metrics: readonly string[] | null): ChildStart {
  const stage = release.stages[index];
  const input = {
    action: 'analyze',
    ...(metrics ? { metrics: [...metrics] } : {}),
    plan: { name: release.name, execution: release.executionId, stage: stage.name, version: stage.version },
    requestedBy: requestedBy(release),
    reason: `release plan ${release.name}: the analysis gate ${gateIndex + 1} after stage ${stage.name}`.slice(0, 1024),
  };
  return { stateMachineArn: stage.stateMachineArn, name: childExecutionName(release, index, 'analyze', gateIndex), input };
}

/** An analysis gate passes when its child succeeded (every metric measured passed); otherwise the gated stage is rolled back with the ones before it. */
function afterGateAnalysis(release: Release, progress: PlanProgress, child: ReturnType<typeof childOutcome>): PlanProgress {
  const named = progress.gate?.metrics;
  const metrics = named ? `metrics ${named.map((name) => `'${name}'`).join(', ')}` : 'every deciding metric';
  if (child.ended === 'SUCCEEDED') return gatePassed(release, progress, `analysis of ${metrics} passed against the release's baseline (${child.name})`);
  const stage = release.stages[progress.index].name;
  const detail = `${child.ended ?? 'failed'}: ${child.cause ?? `the analysis of ${metrics} did not pass`}`;
  const record = progress.stages[progress.index];
  const stages = replaced(progress.stages, progress.index, { ...record, gates: [...record.gates, { kind: 'analysis', passed: false, detail }] });
  const failure = { stage, Error: 'GateAnalysisFailed', Cause: `The analysis gate after stage ${stage} (${child.name}): ${detail}` };
  return undoFrom(release, { ...progress, stages, failure }, progress.index);
}

/** A SQL gate passes when its child succeeded (every named check passed); otherwise the gated stage is rolled back with the ones before it. */
function afterGateChecks(release: Release, progress: PlanProgress, child: ReturnType<typeof childOutcome>): PlanProgress {
  const checks = (progress.gate?.checks ?? []).map((name) => `'${name}'`).join(', ');
  if (child.ended === 'SUCCEEDED') return gatePassed(release, progress, `SQL checks ${checks} passed (${child.name})`);
  const stage = release.stages[progress.index].name;
  const detail = `${child.ended ?? 'failed'}: ${child.cause ?? `SQL checks ${checks} did not pass`}`;
  const record = progress.stages[progress.index];
  const stages = replaced(progress.stages, progress.index, { ...record, gates: [...record.gates, { kind: 'sql', passed: false, detail }] });
  const failure = { stage, Error: 'GateChecksFailed', Cause: `The SQL gate after stage ${stage} (${child.name}): ${detail}` };
  return undoFrom(release, { ...progress, stages, failure }, progress.index);
}

function gatePassed(release: Release, progress: PlanProgress, detail: string): PlanProgress {
  const record = progress.stages[progress.index];
  const stages = replaced(progress.stages, progress.index, { ...record, gates: [...record.gates, { kind: progress.gate?.kind ?? 'gate', passed: true, detail }] });
  return nextAfterGates(release, { ...progress, stages }, progress.index, progress.gateIndex + 1);
}

function afterApproval(release: Release, progress: PlanProgress, last: Record<string, unknown> | null): PlanProgress {
  const by = typeof last?.by === 'string' ? last.by : 'someone';
  const comment = typeof last?.comment === 'string' && last.comment ? `: ${last.comment}` : '';
  if (last && typeof last.Error !== 'string' && last.approved === true) return gatePassed(release, progress, `approved by ${by}${comment}`);
  const stage = release.stages[progress.index].name;
  const timedOut = last?.Error === 'States.Timeout';
  const error = timedOut ? 'ApprovalTimedOut' : 'ApprovalRejected';
  const detail = timedOut
    ? `nobody answered within ${progress.gate?.timeoutSeconds ?? 0} s`
    : typeof last?.Error === 'string'
      ? `${last.Error}${typeof last.Cause === 'string' && last.Cause ? `: ${last.Cause}` : ''}`
      : `rejected by ${by}${comment}`;
  const record = progress.stages[progress.index];
  const stages = replaced(progress.stages, progress.index, { ...record, gates: [...record.gates, { kind: 'approval', passed: false, detail }] });
  const failure = { stage, Error: error, Cause: `The approval after stage ${stage}: ${detail}` };
  // The gated stage is deployed: it is rolled back with the ones before it.
  return undoFrom(release, { ...progress, stages, failure }, progress.index);
}

function afterUndo(release: Release, progress: PlanProgress, child: ReturnType<typeof childOutcome>): PlanProgress {
  const { output: _output, ...rollback } = child;
  const status = child.ended === 'RolledBack' ? 'rolled-back' : 'rollback-failed';
  const stages = replaced(progress.stages, progress.index, { ...progress.stages[progress.index], status, rollback });
  return undoFrom(release, { ...progress, stages }, progress.index - 1);
}

/** Rolls back the newest stage at or before `from` that is still deployed; once none is left, ends the plan. */
function undoFrom(release: Release, progress: PlanProgress, from: number): PlanProgress {
  for (let index = from; index >= 0; index -= 1) {
    if (progress.stages[index].status !== 'succeeded') continue;
    const stage: ReleaseStage = release.stages[index];
    const failure = progress.failure;
    const input = {
      action: 'rollback',
      plan: { name: release.name, execution: release.executionId, stage: stage.name, version: stage.version },
      requestedBy: requestedBy(release),
      reason: `${failure ? `${failure.Error} at ${failure.stage}` : 'a later stage failed'}: the plan rolls back every stage it deployed`.slice(0, 1024),
    };
    return { ...progress, next: 'undo', index, gate: null, run: { stateMachineArn: stage.stateMachineArn, name: childExecutionName(release, index, 'rollback'), input } };
  }
  const failure = progress.failure;
  const why = failure ? `${failure.stage} failed (${failure.Error}: ${failure.Cause})` : 'a stage failed';
  const by = (status: StageRecord['status']) => progress.stages.filter((s) => s.status === status).map((s) => s.name);
  const stuck = by('rollback-failed');
  if (stuck.length > 0) return ended(progress, 'rollback-failed', `Release plan ${release.name}: ${why}; could not roll back ${stuck.join(', ')}: a person must check them.`);
  const undone = by('rolled-back');
  if (undone.length > 0) return ended(progress, 'rolled-back', `Release plan ${release.name}: ${why}; rolled back ${undone.join(', ')}.`);
  return ended(progress, 'aborted', `Release plan ${release.name}: ${why}; nothing had changed.`);
}

function ended(progress: PlanProgress, next: PlanStep, cause: string): PlanProgress {
  return { ...progress, next, run: null, gate: null, cause };
}

function replaced<T>(items: readonly T[], index: number, item: T): T[] {
  return items.map((existing, i) => (i === index ? item : existing));
}

function stringOr(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function parseJson(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
