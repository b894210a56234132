import { resolve } from 'node:path';
import { DescribeExecutionCommand, type HistoryEvent, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { HistoryReader, isExecutionEnd } from '../../adapters/aws/sfn-history';
import { SfnRunbookCatalog } from '../../adapters/aws/sfn-runbook-catalog';
import { loadReleasePlanFile, type ReleasePlan, ReleasePlanError } from '../../config/release-plan';
import { InvalidInputError } from '../../core/errors';
import { outcomeOf } from '../../core/execution-outcome';
import { systemClock } from '../../core/ports/clock';
import { type ChildStart, PLAN_STACK_OUTPUTS, type PlanProgress } from '../../core/release-plan';
import { validatePlan } from '../../core/tasks/release-plan/release-plan';
import { jsonText, terminalText } from '../../core/untrusted-text';
import { loadDefinition } from '../../statemachines/definition';
import { formatDuration } from '../duration';
import { executionName } from '../execution-name';
import { exitCodeFor, ExitCode } from '../exit-codes';
import { type CliIo, regionFrom } from '../io';
import { PlanProgressView } from '../plan-progress';
import { arnRegion, stackStateMachineArn } from '../state-machine-arn';
import { verdictStates } from '../steps';
import { UsageError } from '../usage-error';
import { FollowError } from './start';
import { HistoryFeed, POLL_MS } from '../watch';

export interface ReleaseOptions {
  readonly plan: string;
  readonly wait?: boolean;
  readonly json?: boolean;
  /** The plan state machine. */
  readonly stateMachineArn?: string;
  /** The stack whose PlanStateMachineArn output names it. */
  readonly stack?: string;
  readonly reason?: string;
  readonly requestedBy?: string;
  readonly region?: string;
}

/** The stack `release` reads the plan state machine from unless told otherwise. */
export const DEFAULT_PLAN_STACK = 'DeployRunbook-ReleasePlans';

/** The states that start a child execution of a runbook: a stage, a SQL gate's checks, an analysis gate's measurement, a stage's rollback. */
const CHILD_STATES = new Set(['RunStage', 'RunGateChecks', 'RunGateAnalysis', 'RollBackStage']);

/**
 * `deploy-runbook release --plan plan.json`: resolves every stage's runbook (stack → StateMachineArn), checks the plan
 * as the plan's state machine will (each runbook exists: DescribeStateMachine) before anything starts, starts the plan
 * and, with --wait, follows it and each child execution, exiting as `start` does.
 */
export async function release(options: ReleaseOptions, io: CliIo): Promise<number> {
  const out = options.json ? io.stderr : io.stdout;
  const planPath = resolve(io.cwd, options.plan);
  let plan: ReleasePlan;
  try {
    plan = loadReleasePlanFile(planPath);
  } catch (error) {
    if (error instanceof ReleasePlanError) throw new UsageError(`--plan: ${error.message}`);
    throw error;
  }
  const region = regionFrom(options.region ?? (options.stateMachineArn && arnRegion(options.stateMachineArn)), io.env);
  const { sfn, cloudFormation } = io.aws(region);
  const resolved = await resolveRunbooks(plan, (stack) => stackStateMachineArn(cloudFormation, stack));
  const requestedBy = options.requestedBy ?? io.env.GITHUB_ACTOR ?? io.env.USER;
  const input = { plan: resolved, ...(requestedBy ? { requestedBy } : {}), ...(options.reason ? { reason: options.reason } : {}) };
  const catalog = new SfnRunbookCatalog(sfn, resolved.stages.map((stage) => ({ stateMachineArn: (stage.runbook as { stateMachineArn: string }).stateMachineArn, target: null, bucketName: null })));
  try {
    await validatePlan(input, { id: 'not-started', name: 'not-started', startedAt: io.now().toISOString() }, { runbooks: catalog, clock: systemClock });
  } catch (error) {
    if (error instanceof InvalidInputError) throw new UsageError(`--plan: ${planPath} cannot run, nothing was started: ${error.message}`);
    throw error;
  }

  const planArn = options.stateMachineArn ?? (await stackStateMachineArn(cloudFormation, options.stack ?? DEFAULT_PLAN_STACK, PLAN_STACK_OUTPUTS.stateMachineArn));
  const name = executionName(plan.name, io.now());
  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: planArn, name, input: JSON.stringify(input) }));
  const executionArn = started.executionArn;
  if (!executionArn) throw new FollowError(`StartExecution of ${name} on ${planArn} returned no executionArn`);
  out.write(`▶ release plan ${terminalText(plan.name)}: ${plan.stages.map((s) => `${terminalText(s.name)} ${terminalText(s.version)}`).join(' → ')} (execution ${name})\n`);
  if (!options.wait) {
    if (options.json) io.stdout.write(`${jsonText({ outcome: 'started', executionArn, stages: [] })}\n`);
    return ExitCode.Succeeded;
  }

  const followed = await followPlan(sfn, executionArn, plan, resolved, new PlanProgressView(out, verdictStates(loadDefinition())), io.sleep);
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const outcome = outcomeOf(described.status, described.error);
  const durationMs = (described.stopDate ?? new Date()).getTime() - (described.startDate ?? new Date()).getTime();
  const summary = {
    outcome,
    executionArn,
    error: described.error ?? null,
    cause: described.cause ?? null,
    durationMs,
    stages: followed?.stages ?? [],
  };
  if (options.json) io.stdout.write(`${jsonText(summary)}\n`);
  else {
    const head = { succeeded: '✔ release plan succeeded', 'rolled-back': '↩ release plan rolled back', failed: '✖ release plan failed' }[outcome ?? 'failed'];
    out.write(`${head} after ${formatDuration(durationMs)}${summary.cause ? `: ${terminalText(summary.cause)}` : ''}\n`);
    for (const stage of summary.stages) out.write(`  ${terminalText(stage.name).padEnd(12)} ${terminalText(stage.version)}  ${stage.status}\n`);
    out.write(`  execution: ${executionArn}\n`);
  }
  return exitCodeFor(outcome);
}

/** The plan with every stage's runbook as a state machine ARN: a stack name is resolved from its StateMachineArn output. */
export async function resolveRunbooks(plan: ReleasePlan, arnOfStack: (stack: string) => Promise<string>): Promise<ReleasePlan> {
  const stages = await Promise.all(
    plan.stages.map(async (stage, index) => {
      const runbook = stage.runbook;
      if ('config' in runbook) {
        throw new UsageError(`--plan: stages[${index}].runbook: a configuration file is a rehearsal's runbook (deploy-runbook rehearse --scenario plan --plan <file>); on AWS name its stack or stateMachineArn (got ${JSON.stringify(runbook)})`);
      }
      if ('stateMachineArn' in runbook) return stage;
      try {
        return { ...stage, runbook: { stateMachineArn: await arnOfStack(runbook.stack) } };
      } catch (error) {
        throw new UsageError(`--plan: stages[${index}].runbook.stack: ${(error as Error).message}; nothing was started (got "${runbook.stack}")`);
      }
    }),
  );
  return { ...plan, stages };
}

/**
 * Follows the plan execution: its gates, and each child it starts (read from the history of RunStage and
 * RollBackStage: the Task's Parameters name the child, its submission the child's ARN), whose own history is
 * followed to its end. Returns the plan's last progress (Advance's output), from which the stages are reported.
 */
async function followPlan(
  sfn: SFNClient,
  executionArn: string,
  plan: ReleasePlan,
  resolved: ReleasePlan,
  view: PlanProgressView,
  wait: (ms: number) => Promise<void>,
): Promise<PlanProgress | null> {
  const feed = new HistoryFeed(sfn, executionArn);
  const reader = new HistoryReader();
  let progress: PlanProgress | null = null;
  let scheduled: ChildStart | null = null;
  let inState: string | null = null;
  for (;;) {
    const events = await feed.next();
    for (const event of events) {
      for (const stateEvent of reader.read([event])) view.plan(stateEvent);
      if (event.type === 'TaskStateEntered') inState = event.stateEnteredEventDetails?.name ?? null;
      if (event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === 'Advance') progress = progressOf(event) ?? progress;
      if (event.type === 'TaskScheduled' && inState && CHILD_STATES.has(inState)) scheduled = childStartOf(event);
      if (event.type === 'TaskSubmitted' && scheduled) {
        const childArn = (JSON.parse(event.taskSubmittedEventDetails?.output ?? '{}') as { ExecutionArn?: string }).ExecutionArn;
        const index = resolved.stages.findIndex((stage) => (stage.runbook as { stateMachineArn?: string }).stateMachineArn === scheduled?.stateMachineArn);
        const stage = plan.stages[index]?.name ?? scheduled.name;
        if (childArn) await followChild(sfn, childArn, stage, scheduled, view, wait);
        scheduled = null;
      }
    }
    if (events.some(isExecutionEnd)) return progress;
    await wait(POLL_MS);
  }
}

async function followChild(sfn: SFNClient, executionArn: string, stage: string, start: ChildStart, view: PlanProgressView, wait: (ms: number) => Promise<void>): Promise<void> {
  view.childChanged(stage, start, null);
  const feed = new HistoryFeed(sfn, executionArn);
  const reader = new HistoryReader();
  for (;;) {
    const events = await feed.next();
    for (const stateEvent of reader.read(events)) view.childEvent(stateEvent);
    if (events.some(isExecutionEnd)) break;
    await wait(POLL_MS);
  }
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  view.childChanged(stage, start, { finishedAt: (described.stopDate ?? new Date()).getTime(), status: described.status ?? 'FAILED', error: described.error ?? null });
}

function childStartOf(event: HistoryEvent): ChildStart | null {
  const parameters = JSON.parse(event.taskScheduledEventDetails?.parameters ?? '{}') as { StateMachineArn?: string; Name?: string; Input?: Record<string, unknown> };
  if (!parameters.StateMachineArn || !parameters.Name) return null;
  return { stateMachineArn: parameters.StateMachineArn, name: parameters.Name, input: parameters.Input ?? {} };
}

function progressOf(event: HistoryEvent): PlanProgress | null {
  try {
    return (JSON.parse(event.stateExitedEventDetails?.output ?? 'null') as { progress?: PlanProgress } | null)?.progress ?? null;
  } catch {
    return null;
  }
}
