import { trafficPlan } from './traffic';

/**
 * What the longest execution of a configuration can cost, so the schema refuses one that could not finish:
 * the waits of every loop on the longest path against `executionTimeoutMinutes`, and the history events its
 * loops write against Step Functions' limit of 25,000 per execution.
 *
 * The longest path snapshots (and drills its restore), deploys, migrates, bakes to the last evaluation, waits for a
 * rollback approval (when required), then rolls back, waits for a restore approval and restores. Every polling loop
 * checks first and waits between checks, so `maxAttempts`
 * checks wait `maxAttempts - 1` times; the bake waits before each of its evaluations.
 */

/** Step Functions fails an execution whose history reaches this many events. */
export const HISTORY_EVENT_LIMIT = 25_000;
/** What the loops may write: the rest of the path (about 200 events) and retried attempts (3 events each) need the remainder. */
export const LOOP_EVENT_BUDGET = 20_000;
/**
 * History events of one round of a polling loop: its check Task (entered, scheduled, started, succeeded,
 * exited), then the count Pass, the Choice and the Wait (entered and exited each).
 */
export const EVENTS_PER_POLL = 11;
/** One bake round: WaitDuringBake, EvaluateAlarms (five events) and BakeVerdict. */
export const EVENTS_PER_BAKE_CHECK = 9;

interface Polling {
  readonly intervalSeconds: number;
  readonly maxAttempts: number;
}

/** The parts of a configuration (defaults filled) the budgets read. */
export interface BudgetedConfig {
  readonly database: { readonly restorePolicy: string; readonly restoreApproval: { readonly required: boolean; readonly timeoutMinutes: number } } | null;
  readonly migrations: object | null;
  readonly bake: { readonly durationSeconds: number; readonly pollSeconds: number };
  readonly polling: { readonly snapshot: Polling; readonly deployment: Polling; readonly migrations: Polling; readonly restore: Polling };
  readonly executionTimeoutMinutes: number;
  /** backup.testRestore: the fresh backup is restored into a scratch database (polling.restore) before the deploy. */
  readonly backup?: { readonly testRestore: boolean };
  /** A person's decision before the automatic rollback waits up to `timeoutMinutes` when required. */
  readonly rollbackApproval?: { readonly required: boolean; readonly timeoutMinutes: number };
  /** A lambda-alias target's steps are baked one after the other before the last step's (the configured) bake. */
  readonly target?: Parameters<typeof trafficPlan>[0];
}

/** One loop (or wait) on the longest path: the fields that size it, its waiting time and the history it writes. */
export interface LoopCost {
  readonly label: string;
  readonly seconds: number;
  readonly events: number;
}

/** Evaluations in the bake: what ValidateInput writes as `deployment.bakeChecks`. */
export function bakeChecks(bake: BudgetedConfig['bake']): number {
  return Math.max(1, Math.ceil(bake.durationSeconds / bake.pollSeconds));
}

function pollingLoop(name: string, polling: Polling, during = ''): LoopCost {
  const waits = polling.maxAttempts - 1;
  return {
    label: `polling.${name} ${polling.intervalSeconds} s × ${waits} wait${waits === 1 ? '' : 's'}${during}`,
    seconds: polling.intervalSeconds * waits,
    events: polling.maxAttempts * EVENTS_PER_POLL,
  };
}

/** Every loop and wait on the longest path of `config`, in the order an execution meets them. */
export function longestPath(config: BudgetedConfig): LoopCost[] {
  const { database, polling, bake } = config;
  const checks = bakeChecks(bake);
  const restores = database !== null && database.restorePolicy !== 'never';
  return [
    ...(database ? [pollingLoop('snapshot', polling.snapshot)] : []),
    ...(database && config.backup?.testRestore ? [pollingLoop('restore', polling.restore, ' for the restore drill (backup.testRestore)')] : []),
    pollingLoop('deployment', polling.deployment),
    ...(config.migrations ? [pollingLoop('migrations', polling.migrations)] : []),
    ...trafficSteps(config),
    { label: `bake ${checks} × bake.pollSeconds ${bake.pollSeconds} s`, seconds: checks * bake.pollSeconds, events: checks * EVENTS_PER_BAKE_CHECK },
    ...(config.rollbackApproval?.required
      ? [{ label: `rollbackApproval.timeoutMinutes ${config.rollbackApproval.timeoutMinutes} min`, seconds: config.rollbackApproval.timeoutMinutes * 60, events: 0 }]
      : []),
    pollingLoop('deployment', polling.deployment, ' again for the rollback'),
    ...(restores && database.restoreApproval.required
      ? [{ label: `database.restoreApproval.timeoutMinutes ${database.restoreApproval.timeoutMinutes} min`, seconds: database.restoreApproval.timeoutMinutes * 60, events: 0 }]
      : []),
    ...(restores ? [pollingLoop('restore', polling.restore)] : []),
  ];
}

/** The steps before the last, each baked for its minutes in bake.pollSeconds evaluations. */
function trafficSteps(config: BudgetedConfig): LoopCost[] {
  const plan = config.target ? trafficPlan(config.target) : null;
  const early = (plan?.steps ?? []).flatMap((step) => (step.seconds === null ? [] : [Math.max(1, Math.ceil(step.seconds / config.bake.pollSeconds))]));
  if (early.length === 0) return [];
  const checks = early.reduce((sum, n) => sum + n, 0);
  return [{ label: `target.traffic ${early.length} step(s) before 100 %, ${checks} × bake.pollSeconds ${config.bake.pollSeconds} s`, seconds: checks * config.bake.pollSeconds, events: checks * EVENTS_PER_BAKE_CHECK }];
}

function minutes(seconds: number): string {
  return `${Math.round((seconds / 60) * 10) / 10} min`;
}

/** Why the longest path outlasts `executionTimeoutMinutes`, or null when it fits. */
export function timeoutProblem(config: BudgetedConfig): string | null {
  const path = longestPath(config);
  const total = path.reduce((sum, loop) => sum + loop.seconds, 0);
  if (total <= config.executionTimeoutMinutes * 60) return null;
  const parts = path.filter((loop) => loop.seconds > 0).map((loop) => `${loop.label} = ${minutes(loop.seconds)}`);
  return (
    `the worst-case waits of the runbook add up to ${minutes(total)} (${parts.join(', ')}), longer than the ${config.executionTimeoutMinutes} min timeout: ` +
    `the execution would be stopped mid-rollback; raise executionTimeoutMinutes to at least ${Math.ceil(total / 60)} or lower those settings`
  );
}

/**
 * Why the loops could write more history than an execution may hold, reported on the section that writes
 * most of it (`bake` or `polling`), or null when they cannot.
 */
export function historyProblem(config: BudgetedConfig): { field: 'bake' | 'polling'; message: string } | null {
  const path = longestPath(config);
  const total = path.reduce((sum, loop) => sum + loop.events, 0);
  if (total <= LOOP_EVENT_BUDGET) return null;
  const parts = path.filter((loop) => loop.events > 0).map((loop) => `${loop.label}: ${loop.events}`);
  const bake = bakeChecks(config.bake) * EVENTS_PER_BAKE_CHECK;
  return {
    field: bake * 2 >= total ? 'bake' : 'polling',
    message:
      `the loops can write ${total} history events (${parts.join(', ')}); Step Functions stops an execution at ${HISTORY_EVENT_LIMIT} events and the ` +
      `rest of the runbook needs room, so at most ${LOOP_EVENT_BUDGET} may go to loops: raise bake.pollSeconds, shorten bake.durationSeconds or lower polling maxAttempts`,
  };
}
