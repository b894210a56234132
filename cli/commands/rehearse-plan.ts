import { relative, resolve } from 'node:path';
import { ConfigError } from '../../config/load';
import { loadReleasePlanFile, ReleasePlanError } from '../../config/release-plan';
import { type PlanRehearsalResult, PLAN_SCENARIOS, rehearsePlan } from '../../local/rehearsal/plan';
import { RehearsalSetupError } from '../../local/rehearsal/setup';
import { defaultWorkdir, PACKAGE_ROOT } from '../../local/rehearsal/workspace';
import { DEFAULT_WAIT_MS } from '../../local/rehearsal/rehearse';
import { loadDefinition } from '../../statemachines/definition';
import { jsonText, terminalLines, terminalText } from '../../core/untrusted-text';
import { formatDuration } from '../duration';
import { ExitCode, rehearsalExitCode } from '../exit-codes';
import type { CliIo } from '../io';
import { PlanProgressView } from '../plan-progress';
import { verdictStates } from '../steps';
import { UsageError } from '../usage-error';
import { integerFlag, type RehearseOptions } from './rehearse';

/** The release plan the plan scenarios rehearse unless `--plan` names another. */
export const DEFAULT_PLAN_PATH = resolve(PACKAGE_ROOT, 'examples/rehearsal/plan/plan.json');

/** Whether `--scenario` names a release-plan scenario (`plan`, `plan-failure`). */
export function isPlanScenario(name: string | undefined): boolean {
  return PLAN_SCENARIOS.some((scenario) => scenario.name === name);
}

/**
 * `deploy-runbook rehearse --scenario plan|plan-failure [--plan <file>]`: a release plan's stages, each its own
 * runbook, app and database on this machine, run by the plan's state machine; exits as `release` would (0, 2, 1),
 * or 4 when the checks of the machine afterwards do not all hold.
 */
export async function rehearsePlanCommand(options: RehearseOptions & { readonly plan?: string }, io: CliIo): Promise<number> {
  const json = options.json === true;
  const out = json ? io.stderr : io.stdout;
  const scenario = PLAN_SCENARIOS.find((s) => s.name === options.scenario)!;
  const view = new PlanProgressView(out, verdictStates(loadDefinition()));
  try {
    if (options.config !== undefined || options.port !== undefined || options.useDatabaseUrl || options.keep) {
      throw new UsageError(`--scenario ${scenario.name}: the plan file names each stage's configuration and port; --config, --port, --use-database-url and --keep apply to one runbook (got ${[options.config !== undefined && '--config', options.port !== undefined && '--port', options.useDatabaseUrl && '--use-database-url', options.keep && '--keep'].filter(Boolean).join(', ')})`);
    }
    const waitMs = integerFlag('--wait-ms', options.waitMs, 0, 600_000) ?? DEFAULT_WAIT_MS;
    const planPath = options.plan === undefined ? DEFAULT_PLAN_PATH : resolve(io.cwd, options.plan);
    const plan = loadReleasePlanFile(planPath);
    const workdir = options.workdir === undefined ? defaultWorkdir(io.cwd, scenario.name, io.now()) : resolve(io.cwd, options.workdir);
    out.write(`▶ rehearsal ${scenario.name}: ${scenario.description}\n`);
    const result = await rehearsePlan({
      plan,
      planPath,
      baseDir: options.plan === undefined ? PACKAGE_ROOT : io.cwd,
      scenario,
      workdir,
      waitMs,
      env: { ...io.env },
      onEvent: (event, child) => (child ? view.childEvent(event) : view.plan(event)),
      onChild: ({ stage, start, result: ended }) => view.childChanged(stage, start, ended),
      announce: (line) => out.write(`· ${line}\n`),
    });
    if (json) io.stdout.write(`${jsonText(planJson(result))}\n`);
    else out.write(`${planSummary(result, io.cwd).join('\n')}\n`);
    return rehearsalExitCode(result.outcome, result.verification.ok);
  } catch (error) {
    view.stop();
    const failure = error instanceof Error ? error : new Error(String(error));
    const usage = failure instanceof UsageError || failure instanceof ReleasePlanError || failure instanceof ConfigError || failure instanceof RehearsalSetupError;
    io.stderr.write(`deploy-runbook: ${usage ? '' : `${terminalText(failure.name)}: `}${terminalLines(failure.message)}\n`);
    if (json) io.stdout.write(`${jsonText({ outcome: 'failed', error: failure.name, cause: failure.message, scenario: scenario.name, stages: [], verification: null })}\n`);
    return usage && !(failure instanceof RehearsalSetupError) ? ExitCode.Usage : ExitCode.Failed;
  }
}

/** The plan's `--json` object: its outcome, each stage and the children it ran, the report, the checks. */
export function planJson(result: PlanRehearsalResult) {
  return {
    outcome: result.outcome,
    error: result.execution.error,
    cause: result.execution.cause,
    durationMs: result.execution.finishedAt - result.execution.startedAt,
    report: result.report?.markdown ?? null,
    scenario: result.scenario,
    stages: (result.progress?.stages ?? []).map((stage) => ({
      name: stage.name,
      target: stage.target,
      version: stage.version,
      status: stage.status,
      deployment: stage.deployment,
      gates: stage.gates,
      rollback: stage.rollback,
    })),
    verification: result.verification,
    workdir: result.workdir,
  };
}

function planSummary(result: PlanRehearsalResult, cwd: string): string[] {
  const took = formatDuration(result.execution.finishedAt - result.execution.startedAt);
  const cause = terminalText(result.execution.cause ?? '');
  const head = {
    succeeded: `✔ release plan succeeded in ${took}`,
    'rolled-back': `↩ release plan rolled back after ${took}: ${cause}`,
    failed: `✖ release plan failed after ${took}: ${terminalText(result.execution.error ?? '')}: ${cause}`,
  }[result.outcome];
  const stages = (result.progress?.stages ?? []).map((stage) => `  ${terminalText(stage.name).padEnd(12)} ${terminalText(stage.version)}  ${stage.status}`);
  const shown = (path: string) => (relative(cwd, path).startsWith('..') ? path : relative(cwd, path));
  return [
    head,
    ...stages,
    ...(result.report ? [`  report:    ${terminalText(shown(result.report.markdown))}`] : []),
    '',
    `rehearsal checks (${result.scenario}): ${result.verification.ok ? 'all hold' : 'SOME DO NOT HOLD'}`,
    ...result.verification.checks.map((check) => `  ${check.ok ? '✔' : '✖'} ${check.name}: ${terminalText(check.detail)}`),
  ];
}
