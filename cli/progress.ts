import type { StateEvent } from '../core/state-event';
import { formatDuration } from './duration';
import type { OutputStream } from './io';
import type { RunResult } from './run-result';
import { type Step, StepTracker } from './steps';
import { terminalText } from '../core/untrusted-text';
import { type SqlCheckOutcome, sqlCheckLine } from '../core/sql-check-evidence';

export interface ProgressOptions {
  readonly out: OutputStream;
  /** A live spinner on the current step (terminal) or plain lines (CI logs). @default out.isTTY */
  readonly tty?: boolean;
  /** Failure-verdict Pass states of the definition (see verdictStates). */
  readonly verdicts?: ReadonlyMap<string, string>;
  /** @default 'RollbackApp' */
  readonly rollbackState?: string;
  readonly now?: () => number;
  /** Plain mode: a polling loop prints a "still here" line at most this often, within CI idle timeouts (often 10 min). @default 300000 */
  readonly heartbeatMs?: number;
  /** Spinner redraw interval; 0 leaves redrawing to tick(). @default 100 */
  readonly frameMs?: number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[2K';

/**
 * Live progress for an execution, on AWS (history events converted by HistoryReader) or in the rehearsal
 * (the engine's onEvent): one line per step when it ends, with its duration; polling loops folded
 * (`✔ EvaluateAlarms ×30 30m04s`); the rollback path announced once and indented.
 */
export class Progress {
  private readonly tracker: StepTracker;
  private readonly tty: boolean;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private frame = 0;
  private drawn = false;
  private lastLineAt = 0;

  constructor(private readonly options: ProgressOptions) {
    this.tty = options.tty ?? options.out.isTTY === true;
    this.now = options.now ?? Date.now;
    this.tracker = new StepTracker(
      {
        opened: (step) => this.opened(step),
        revisited: (step, at) => this.revisited(step, at),
        closed: (step) => this.line([stepLine(step, this.now()), ...step.dataChecks.map((check) => `${indent(step)}    ${sqlCheckLine(check)}`)].join('\n')),
        rollbackStarted: (cause) => this.line(`↩ rolling back${cause ? `: ${terminalText(cause)}` : ''}`),
      },
      { verdicts: options.verdicts, rollbackState: options.rollbackState },
    );
  }

  push(event: StateEvent): void {
    this.tracker.push(event);
  }

  get steps(): readonly Step[] {
    return this.tracker.steps;
  }

  /** The step still running, if any. */
  current(): Step | null {
    return this.tracker.current();
  }

  /** The execution ended at `at`: closes the last step and stops the spinner. */
  finish(at: number): void {
    this.tracker.finish(at);
    this.stop();
  }

  /** Stops the spinner and clears its line, leaving an open step open. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }

  /** Redraws the spinner line (the timer calls it; tests call it directly). */
  tick(): void {
    const step = this.tracker.current();
    if (!this.tty || !step) return;
    this.frame = (this.frame + 1) % FRAMES.length;
    this.options.out.write(`${CLEAR_LINE}${indent(step)}${FRAMES[this.frame]} ${label(step)} ${formatDuration(this.now() - step.startedAt)}`);
    this.drawn = true;
  }

  private opened(step: Step): void {
    this.lastLineAt = step.startedAt;
    if (!this.tty) return;
    this.tick();
    const frameMs = this.options.frameMs ?? 100;
    if (!this.timer && frameMs > 0) {
      this.timer = setInterval(() => this.tick(), frameMs);
      this.timer.unref();
    }
  }

  private revisited(step: Step, at: number): void {
    if (this.tty || at - this.lastLineAt < (this.options.heartbeatMs ?? 300_000)) return;
    this.lastLineAt = at;
    this.line(`${indent(step)}… ${label(step)} ${formatDuration(at - step.startedAt)}`);
  }

  private line(text: string): void {
    this.clear();
    this.options.out.write(`${text}\n`);
  }

  private clear(): void {
    if (!this.drawn) return;
    this.options.out.write(CLEAR_LINE);
    this.drawn = false;
  }
}

/** `✔ CheckSnapshot ×12 6m02s`, `  ✖ VerifyRollback 2.1s — RollbackVerificationFailed`. */
export function stepLine(step: Step, now: number): string {
  const icon = { running: '…', succeeded: '✔', failed: '✖' }[step.status];
  const retries = step.retries > 0 ? ` (${step.retries} ${step.retries === 1 ? 'retry' : 'retries'})` : '';
  const error = step.status === 'failed' && step.error ? ` — ${terminalText(step.error)}` : '';
  // A step still open may sit between two polls (exited, about to re-enter): it runs until now.
  const end = step.status === 'running' ? now : (step.endedAt ?? now);
  return `${indent(step)}${icon} ${label(step)} ${formatDuration(end - step.startedAt)}${retries}${error}`;
}

/** The closing lines of a command: how it ended, why, and where the evidence is. */
export function outcomeLines(result: RunResult): string[] {
  const took = formatDuration(result.durationMs);
  const what = `${result.subject ?? 'deployment'}${result.version ? ` ${terminalText(result.version)}` : ''}`;
  const cause = result.cause && terminalText(result.cause);
  const error = result.error && terminalText(result.error);
  const head = {
    succeeded: `✔ ${what} succeeded in ${took}`,
    'rolled-back': `↩ ${what} rolled back after ${took}${cause ? `: ${cause}` : ''}`,
    failed: `✖ ${what} failed after ${took}: ${[error, cause].filter(Boolean).join(': ') || 'no cause reported'}`,
    running: `… ${what} still running after ${took}`,
    started: `▶ ${what} started`,
  }[result.outcome];
  return [
    head,
    ...(result.snapshotId ? [`  snapshot:  ${terminalText(result.snapshotId)}`] : []),
    ...sqlChecksLine(result.dataChecks ?? []),
    ...(result.report ? [`  report:    ${terminalText(result.report)}`] : []),
    ...(result.executionArn ? [`  execution: ${terminalText(result.executionArn)}`] : []),
  ];
}

/** `  sql checks: 3 run, 1 FAILED: 'every item has a sku' (after-migrations)`; nothing when none ran. */
function sqlChecksLine(checks: readonly SqlCheckOutcome[]): string[] {
  if (checks.length === 0) return [];
  const failed = checks.filter((check) => !check.passed);
  const verdict = failed.length === 0 ? 'all passed' : `${failed.length} FAILED: ${failed.map((check) => `'${check.name}' (${check.phase})`).join(', ')}`;
  return [terminalText(`  sql checks: ${checks.length} run, ${verdict}`)];
}

function label(step: Step): string {
  const name = terminalText(step.name);
  return step.visits > 1 ? `${name} ×${step.visits}` : name;
}

function indent(step: Step): string {
  return step.rollback ? '  ' : '';
}
