import { DataCheckReport } from './tasks/data-checks/data-checks';
import { markdownCode, terminalText } from './untrusted-text';

/**
 * One SQL check as the CLI (`--json`, progress, the step summary) and the evidence report show it: which check,
 * in which phase, what the database answered, what was expected, and the verdict.
 */
export interface SqlCheckOutcome {
  readonly phase: DataCheckReport['phase'];
  readonly name: string;
  readonly passed: boolean;
  /** The first column of the first row, as the database sent it (null without a row or when the query failed). */
  readonly value: string | number | boolean | null;
  /** Rows the query returned; null when it failed. */
  readonly rows: number | null;
  /** The comparison in words: `= 0`, `≥ 100`, `a row`. */
  readonly expected: string;
  /** Why it failed (the database's refusal, a timeout, the value against the expectation); null when it passed. */
  readonly reason: string | null;
}

/** The state slots the data-checks function writes, in the order the runbook fills them. */
export const DATA_CHECK_SLOTS = ['preflightChecks', 'dataGate', 'restoreCheck'] as const;

/** Every check of every phase that ran, in the order of the reports. */
export function sqlCheckOutcomes(reports: readonly Pick<DataCheckReport, 'phase' | 'results'>[]): SqlCheckOutcome[] {
  return reports.flatMap((report) =>
    report.results.map((result) => ({
      phase: report.phase,
      name: result.name,
      passed: result.passed,
      value: result.value,
      rows: result.rows,
      expected: result.expected,
      reason: result.reason,
    })),
  );
}

/** What the database answered, for a reader: `12`, `no row`, `query failed`. */
export function observedText(outcome: Pick<SqlCheckOutcome, 'value' | 'rows'>): string {
  if (outcome.rows === null) return 'query failed';
  if (outcome.rows === 0) return 'no row';
  return typeof outcome.value === 'string' ? outcome.value : JSON.stringify(outcome.value);
}

/**
 * Reads the data-check reports out of successive execution states (Step Functions' state outputs, the local engine's)
 * and hands each report once, when it first appears: a report is known by its phase and start time.
 */
export class DataCheckReader {
  private readonly seen = new Set<string>();
  readonly reports: DataCheckReport[] = [];

  /** The reports this state carries that were not seen before. */
  note(state: unknown): DataCheckReport[] {
    if (state === null || typeof state !== 'object') return [];
    const fresh: DataCheckReport[] = [];
    for (const slot of DATA_CHECK_SLOTS) {
      const parsed = DataCheckReport.safeParse((state as Record<string, unknown>)[slot]);
      if (!parsed.success) continue;
      const key = `${parsed.data.phase}@${parsed.data.startedAt}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      fresh.push(parsed.data);
    }
    this.reports.push(...fresh);
    return fresh;
  }
}

/** `✔ every item has a sku (after-migrations): 0, expected = 0` — one line per check, text from the database shown, never obeyed. */
export function sqlCheckLine(outcome: SqlCheckOutcome): string {
  const verdict = outcome.passed ? '✔' : '✖';
  const detail = outcome.reason && outcome.rows === null ? outcome.reason : `${observedText(outcome)}, expected ${outcome.expected}`;
  return terminalText(`${verdict} ${outcome.name} (${outcome.phase}): ${detail}`);
}

/** The Markdown table of the evidence report and the CI step summary. */
export function markdownSqlCheckTable(outcomes: readonly SqlCheckOutcome[]): string[] {
  if (outcomes.length === 0) return [];
  return [
    '| Phase | Check | Observed | Expected | Result |',
    '|---|---|---|---|---|',
    ...outcomes.map((o) => `| ${o.phase} | ${markdownCode(o.name)} | ${markdownCode(observedText(o))} | ${markdownCode(o.expected)} | ${o.passed ? 'passed' : `**FAILED**${o.reason ? `: ${markdownCode(o.reason)}` : ''}`} |`),
  ];
}
