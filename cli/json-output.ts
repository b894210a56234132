import { metricVerdict, type MetricVerdict } from '../core/metric-evidence';
import type { SqlCheckOutcome } from '../core/sql-check-evidence';
import type { RunResult } from './run-result';
import { jsonText } from '../core/untrusted-text';

/** The one object `--json` prints: stable keys for scripts. */
export interface JsonOutput {
  readonly outcome: RunResult['outcome'];
  readonly states: { name: string; status: string; ms: number }[];
  readonly durationMs: number;
  readonly report: string | null;
  readonly error: string | null;
  readonly cause: string | null;
  readonly executionArn: string | null;
  /** Each analysis metric's verdict, baseline, checkpoints and thresholds; empty without any. */
  readonly analysis: MetricVerdict[];
  /** Each SQL check that ran: phase, name, the value the database answered, the comparison expected, the verdict; empty without any. */
  readonly dataChecks: SqlCheckOutcome[];
}

export function toJsonOutput(result: RunResult): JsonOutput {
  return {
    outcome: result.outcome,
    states: result.steps.map((step) => ({ name: step.name, status: step.status, ms: Math.max(0, (step.endedAt ?? step.startedAt) - step.startedAt) })),
    durationMs: result.durationMs,
    report: result.report,
    error: result.error,
    cause: result.cause,
    executionArn: result.executionArn,
    analysis: (result.analysis ?? []).map(metricVerdict),
    dataChecks: [...(result.dataChecks ?? [])],
  };
}

/** One line, so that `| jq` and line-based readers both work. */
export function jsonLine(result: RunResult): string {
  return `${jsonText(toJsonOutput(result))}\n`;
}
