import type { SFNClient } from '@aws-sdk/client-sfn';
import { outcomeOf } from '../core/execution-outcome';
import { sqlCheckOutcomes } from '../core/sql-check-evidence';
import type { StateEvent } from '../core/state-event';
import { stateTimings } from '../core/state-timings';
import { loadDefinition } from '../statemachines/definition';
import { exitCodeFor } from './exit-codes';
import { HistoryReader } from '../adapters/aws/sfn-history';
import type { CliIo } from './io';
import { jsonLine } from './json-output';
import { outcomeLines, Progress, stepLine } from './progress';
import type { RunResult } from './run-result';
import { verdictStates } from './steps';
import { appendStepSummary, stepSummary } from './summary';
import { analysisLines } from './verdict-table';
import { readExecution } from './watch';

export interface ReportOptions {
  /** Follow the execution until it ends, or report what happened so far. */
  readonly follow: boolean;
  readonly json: boolean;
  /** The version started, for the closing line before the history says it. */
  readonly version?: string;
  /** What the execution is, for the closing line. @default 'deployment' */
  readonly subject?: string;
}

/**
 * Renders an execution's progress from its history, then how it ended; returns the exit code.
 * With --json, progress goes to stderr and stdout gets the one JSON object.
 */
export async function reportExecution(sfn: SFNClient, executionArn: string, options: ReportOptions, io: CliIo): Promise<number> {
  const out = options.json ? io.stderr : io.stdout;
  const now = () => io.now().getTime();
  const progress = new Progress({ out, verdicts: verdictStates(loadDefinition()), now });
  const reader = new HistoryReader();
  const seen: StateEvent[] = [];
  let described;
  try {
    described = await readExecution(sfn, executionArn, {
      follow: options.follow,
      sleep: io.sleep,
      onEvents: (events) =>
        reader.read(events).forEach((event) => {
          seen.push(event);
          progress.push(event);
        }),
    });
  } finally {
    progress.stop();
  }
  const outcome = outcomeOf(described.status, described.error);
  const endedAt = described.stopDate ? new Date(described.stopDate).getTime() : now();
  const running = progress.current();
  if (outcome !== null) progress.finish(endedAt);
  else if (running) out.write(`${stepLine(running, endedAt)}\n`);

  const startedAt = described.startDate ? new Date(described.startDate).getTime() : endedAt;
  emitResult(
    {
      outcome: outcome ?? 'running',
      ...(options.subject !== undefined ? { subject: options.subject } : {}),
      executionArn,
      version: reader.facts.version ?? options.version ?? null,
      steps: progress.steps,
      durationMs: endedAt - startedAt,
      error: described.error ?? null,
      cause: described.cause ?? null,
      report: reader.facts.report,
      snapshotId: reader.facts.snapshotId,
      alarms: reader.facts.alarms,
      analysis: reader.facts.analysis ?? [],
      dataChecks: sqlCheckOutcomes(reader.facts.dataChecks),
      path: stateTimings(seen),
    },
    options.json,
    io,
  );
  return exitCodeFor(outcome);
}

/** The closing lines (or the JSON object), and the GitHub Actions step summary when there is one. */
export function emitResult(result: RunResult, json: boolean, io: CliIo): void {
  io.stdout.write(json ? jsonLine(result) : `${[...outcomeLines(result), ...analysisLines(result)].join('\n')}\n`);
  const summaryPath = io.env.GITHUB_STEP_SUMMARY;
  if (summaryPath) appendStepSummary(summaryPath, stepSummary(result));
}
