import { metricVerdict, verdictTable } from '../core/metric-evidence';
import type { MetricRecord } from '../core/model';
import { terminalText } from '../core/untrusted-text';
import type { RunResult } from './run-result';

/** A terminal is narrower than a report: a long bake shows its first and last checkpoints around `…`. */
const TERMINAL_CHECKPOINTS = 6;

/**
 * The analysis verdict table the CLI prints at the end of a deploy, a status --wait and a rehearsal: one row
 * per metric (baseline, each checkpoint, the threshold, the verdict), columns padded to line up. Names and
 * conditions were read back from execution state: their control characters are shown, never sent.
 */
export function verdictTableLines(records: readonly MetricRecord[]): string[] {
  if (records.length === 0) return [];
  const table = verdictTable(records.map(metricVerdict), { maxCheckpoints: TERMINAL_CHECKPOINTS });
  const rows = [table.headers, ...table.rows].map((row) => row.map(terminalText));
  const widths = table.headers.map((_, column) => Math.max(...rows.map((row) => [...row[column]].length)));
  const line = (row: readonly string[]) => `  ${row.map((cell, column) => cell + ' '.repeat(widths[column] - [...cell].length)).join('  ')}`.trimEnd();
  const failed = table.failed.filter(Boolean).length;
  return [`analysis: ${failed === 0 ? `all ${records.length} metric(s) passing` : `${failed} of ${records.length} metric(s) FAILED`}`, ...rows.map(line)];
}

/** The table as the last block of a command's output, after a blank line; nothing without analysis metrics. */
export function analysisLines(result: Pick<RunResult, 'analysis'>): string[] {
  const lines = verdictTableLines(result.analysis ?? []);
  return lines.length > 0 ? ['', ...lines] : [];
}
