import type { ChildStart } from '../core/release-plan';
import type { StateEvent } from '../core/state-event';
import { terminalText } from '../core/untrusted-text';
import { formatDuration } from './duration';
import type { OutputStream } from './io';
import { Progress } from './progress';

/** The plan's own states a reader follows; Advance and RouteStep are its bookkeeping. */
const GATE_STATES: Readonly<Record<string, string>> = { Soak: 'soak', AwaitApproval: 'waiting for approval' };

/** Writes each line indented, so a child's steps sit under its stage. */
function indented(out: OutputStream, by: string): OutputStream {
  let atLineStart = true;
  return {
    isTTY: out.isTTY,
    write: (text: string) => {
      let shown = '';
      for (const char of text) {
        if (atLineStart && char !== '\r' && char !== '\n') shown += by;
        shown += char;
        atLineStart = char === '\n';
      }
      return out.write(shown);
    },
  } as OutputStream;
}

/**
 * Nested progress of a release plan: one header per child execution (`▶ stage staging: deploy v2`, `⧗ stage staging:
 * SQL checks 'backfill'`, `⧗ stage staging: analysis of 'p95'`, `↩ stage staging: rollback`), its own steps under it
 * as `start --wait` shows them, and the plan's gates between them.
 */
export class PlanProgressView {
  private child: Progress | null = null;
  private gateStartedAt = new Map<string, number>();

  constructor(
    private readonly out: OutputStream,
    private readonly verdicts: ReadonlyMap<string, string>,
  ) {}

  /** A state of the plan itself. */
  plan(event: StateEvent): void {
    const gate = GATE_STATES[event.state];
    if (!gate) return;
    if (event.type === 'entered') this.gateStartedAt.set(event.state, event.at);
    if (event.type === 'exited') this.out.write(`⏸ ${gate} ${formatDuration(event.at - (this.gateStartedAt.get(event.state) ?? event.at))}\n`);
  }

  /** A child execution starts (`result` null) or ends. */
  childChanged(stage: string, start: ChildStart, result: { finishedAt: number; status: string; error: string | null } | null): void {
    if (result === null) {
      const { action } = start.input;
      const checks = Array.isArray(start.input.checks) ? start.input.checks.map((name) => `'${terminalText(String(name))}'`).join(', ') : '';
      const metrics = Array.isArray(start.input.metrics) ? start.input.metrics.map((name) => `'${terminalText(String(name))}'`).join(', ') : 'every deciding metric';
      const [mark, what] =
        action === 'rollback'
          ? ['↩', 'rollback']
          : action === 'check'
            ? ['⧗', `SQL checks ${checks}`]
            : action === 'analyze'
              ? ['⧗', `analysis of ${metrics}`]
              : ['▶', `deploy ${terminalText(String(start.input.version ?? ''))}`];
      this.out.write(`${mark} stage ${terminalText(stage)}: ${what} (${terminalText(start.name)})\n`);
      this.child = new Progress({ out: indented(this.out, '    '), verdicts: this.verdicts, tty: false });
      return;
    }
    this.child?.finish(result.finishedAt);
    this.child = null;
    const ended = result.status === 'SUCCEEDED' ? '✔ succeeded' : `✖ ${terminalText(result.error ?? result.status)}`;
    this.out.write(`  stage ${terminalText(stage)}: ${ended}\n`);
  }

  /** A state of the running child. */
  childEvent(event: StateEvent): void {
    this.child?.push(event);
  }

  stop(): void {
    this.child?.stop();
  }
}
