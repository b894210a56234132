import { isAbsolute, relative, resolve } from 'node:path';
import { ConfigError } from '../../config/load';
import { RehearsalInterruptedError } from '../../local/rehearsal/dispatch';
import { loadRehearsalConfig } from '../../local/rehearsal/rehearsal-config';
import { DEFAULT_WAIT_MS, type RehearsalResult, rehearse } from '../../local/rehearsal/rehearse';
import { DEFAULT_SCENARIO, type Scenario, scenarioNamed, UnknownScenarioError } from '../../local/rehearsal/scenarios';
import { verificationLines } from '../../local/rehearsal/verification';
import { DEFAULT_CONFIG_PATH, defaultWorkdir, PACKAGE_ROOT } from '../../local/rehearsal/workspace';
import { loadDefinition } from '../../statemachines/definition';
import { ExitCode, rehearsalExitCode } from '../exit-codes';
import type { CliIo, OutputStream } from '../io';
import { toJsonOutput } from '../json-output';
import { outcomeLines, Progress } from '../progress';
import type { RunResult } from '../run-result';
import { verdictStates } from '../steps';
import { appendStepSummary, stepSummary } from '../summary';
import { analysisLines } from '../verdict-table';
import { jsonText, terminalLines, terminalText } from '../../core/untrusted-text';
import { UsageError } from '../usage-error';
import { isPlanScenario, rehearsePlanCommand } from './rehearse-plan';
import { REHEARSAL_ANSWERS, type RehearsalAnswer } from '../../core/rollback-approval';

/** The flags as commander hands them over. */
export interface RehearseOptions {
  readonly config?: string;
  readonly scenario?: string;
  readonly json?: boolean;
  readonly port?: string;
  readonly workdir?: string;
  readonly keep?: boolean;
  readonly waitMs?: string;
  readonly useDatabaseUrl?: boolean;
  /** The release plan the `plan` and `plan-failure` scenarios rehearse. */
  readonly plan?: string;
  /** How the rehearsal answers the rollback approval: approve, reject or timeout. */
  readonly rollbackApproval?: string;
}

/** Shells report a process ended by a signal as 128 + its number. */
const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/** `--port` and `--wait-ms`: a whole number in a range, or a UsageError naming the flag (exit 64, with --json too). */
export function integerFlag(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) throw new UsageError(`${flag}: must be a whole number from ${min} to ${max} (got "${value}")`);
  return number;
}

/** `--rollback-approval`: one of the answers a rehearsal can play, or a UsageError naming the flag. */
function answerFlag(value: string | undefined): RehearsalAnswer | undefined {
  if (value === undefined) return undefined;
  if (!(REHEARSAL_ANSWERS as readonly string[]).includes(value)) throw new UsageError(`--rollback-approval: must be ${REHEARSAL_ANSWERS.join(', ')} (got "${value}")`);
  return value as RehearsalAnswer;
}

/**
 * `deploy-runbook rehearse`: runs the runbook's state machine on this machine against a throwaway
 * PostgreSQL and the demo app, in one scenario, and exits as a real deployment would (0, 2 or 1), or 4
 * when its checks of the machine afterwards do not all hold.
 */
export async function rehearseCommand(options: RehearseOptions, io: CliIo): Promise<number> {
  if (isPlanScenario(options.scenario)) return rehearsePlanCommand(options, io);
  const json = options.json === true;
  const out = json ? io.stderr : io.stdout;
  let scenario: Scenario | null = null;
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = new Progress({ out, verdicts: verdictStates(loadDefinition()) });
  try {
    const port = integerFlag('--port', options.port, 1, 65535);
    const waitMs = integerFlag('--wait-ms', options.waitMs, 0, 600_000) ?? DEFAULT_WAIT_MS;
    scenario = scenarioNamed(options.scenario ?? DEFAULT_SCENARIO);
    const configPath = options.config === undefined ? DEFAULT_CONFIG_PATH : resolve(io.cwd, options.config);
    const rollbackApproval = answerFlag(options.rollbackApproval);
    // The built-in example names its files from the package root; a user's configuration, from where they run the CLI.
    const config = loadRehearsalConfig(configPath, { baseDir: options.config === undefined ? PACKAGE_ROOT : io.cwd, port, rollbackApproval });
    if (options.useDatabaseUrl && config.database?.kind === 'postgres' && !io.env[config.database.urlEnv]) {
      throw new UsageError(`--use-database-url: ${config.database.urlEnv} is not set (got nothing)`);
    }
    const workdir = options.workdir === undefined ? defaultWorkdir(io.cwd, scenario.name, io.now()) : resolve(io.cwd, options.workdir);

    out.write(`▶ rehearsal ${scenario.name}: ${scenario.description}\n`);
    const result = await rehearse({
      config,
      scenario,
      workdir,
      waitMs,
      keep: options.keep,
      useDatabaseUrl: options.useDatabaseUrl === true,
      rollbackApproval,
      env: { ...io.env },
      signal: controller.signal,
      onEvent: (event) => progress.push(event),
      announce: (line) => out.write(`· ${line}\n`),
    });
    progress.finish(result.execution.finishedAt);
    emit(result, runResultOf(result, scenario, progress), json, io);
    return rehearsalExitCode(result.outcome, result.verification.ok);
  } catch (error) {
    progress.stop();
    const failure = error instanceof Error ? error : new Error(String(error));
    const usage = failure instanceof UsageError || failure instanceof ConfigError || failure instanceof UnknownScenarioError;
    io.stderr.write(`deploy-runbook: ${usage ? '' : `${terminalText(failure.name)}: `}${terminalLines(failure.message)}\n`);
    if (json) io.stdout.write(jsonLine({ outcome: 'failed', states: [], durationMs: 0, report: null, error: failure.name, cause: failure.message, analysis: [], dataChecks: [], scenario: scenario?.name ?? null, verification: null }));
    if (usage) return ExitCode.Usage;
    const signal = controller.signal.reason as NodeJS.Signals | undefined;
    return failure instanceof RehearsalInterruptedError && signal ? (SIGNAL_EXIT[signal] ?? ExitCode.Failed) : ExitCode.Failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function runResultOf(result: RehearsalResult, scenario: Scenario, progress: Progress): RunResult {
  const { execution } = result;
  return {
    outcome: result.outcome,
    // The local engine's execution ARN names no real execution: nothing to link to.
    executionArn: null,
    version: scenario.input.version ?? null,
    steps: progress.steps,
    durationMs: execution.finishedAt - execution.startedAt,
    error: execution.error,
    cause: execution.cause,
    report: result.report?.markdown ?? null,
    snapshotId: result.snapshotId,
    alarms: result.alarms,
    analysis: result.analysis,
    dataChecks: result.dataChecks,
    path: result.states,
  };
}

/** The closing lines, or the one JSON object; and the GitHub Actions step summary when there is one. */
function emit(result: RehearsalResult, run: RunResult, json: boolean, io: CliIo): void {
  if (json) {
    const { outcome, states, durationMs, report, error, cause, analysis, dataChecks } = toJsonOutput(run);
    io.stdout.write(jsonLine({ outcome, states, durationMs, report, error, cause, analysis, dataChecks, scenario: result.scenario, verification: result.verification, workspace: result.workspace }));
  } else {
    writeSummary(io.stdout, result, { ...run, report: run.report && shown(run.report, io.cwd) }, io.cwd);
  }
  const summaryPath = io.env.GITHUB_STEP_SUMMARY;
  if (summaryPath) {
    const checks = verificationLines(result.verification).map((line) => `- ${line.replace(/\r?\n/g, ' ')}`);
    appendStepSummary(summaryPath, `${stepSummary(run)}#### Rehearsal checks (${result.scenario})\n\n${checks.join('\n')}\n\n`);
  }
}

function writeSummary(out: OutputStream, result: RehearsalResult, run: RunResult, cwd: string): void {
  const { workspace, verification } = result;
  const lines = [
    ...outcomeLines(run),
    `  store:     ${shown(workspace.store, cwd)}`,
    `  log:       ${shown(workspace.log, cwd)}`,
    ...analysisLines(run),
    '',
    `rehearsal checks (${result.scenario}): ${verification.ok ? 'all hold' : 'SOME DO NOT HOLD'}`,
    ...verificationLines(verification).map((line) => `  ${line}`),
  ];
  if (result.cleanupProblems.length > 0) lines.push('', ...result.cleanupProblems.map((problem) => `⚠ cleanup: ${problem}`));
  const kept = workspace.kept;
  if (kept) {
    lines.push('', 'left running (--keep):');
    if (kept.app) lines.push(`  app:       ${workspace.app.url} (${kept.app.version}, pid ${kept.app.pid}); stop: kill ${kept.app.pid}`);
    if (kept.database && workspace.database) {
      lines.push(`  database:  ${workspace.database.url}`, `             connect: ${kept.database.psql}`, `             stop:    ${kept.database.stop}`);
    }
    if (kept.prometheus) lines.push(`  prometheus: ${kept.prometheus.url} (query it at /graph); stop: ${kept.prometheus.stop}`);
  }
  out.write(`${lines.join('\n')}\n`);
}

/** A path under the current directory as a relative one: shorter to read and to copy. */
function shown(path: string, cwd: string): string {
  const from = relative(cwd, path);
  return from.startsWith('..') || isAbsolute(from) ? path : from;
}

function jsonLine(value: unknown): string {
  return `${jsonText(value)}\n`;
}
