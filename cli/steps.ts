import type { StateEvent } from '../core/state-event';
import { causeMessage } from '../core/model';
import { type SqlCheckOutcome, sqlCheckOutcomes } from '../core/sql-check-evidence';
import type { Json } from '../statemachines/definition';

/**
 * One line of progress: a Task state, with the polling loop around it folded in. `CheckSnapshot` polled
 * twelve times (with its Wait, Count and Choice states between) is one step visited twelve times.
 */
export interface Step {
  readonly name: string;
  status: 'running' | 'succeeded' | 'failed';
  /** When the step began, including the Wait that led into its first visit. */
  readonly startedAt: number;
  endedAt: number | null;
  visits: number;
  retries: number;
  /** Part of the rollback path (RollbackApp and every step after it). */
  readonly rollback: boolean;
  error: string | null;
  cause: string | null;
  /** The SQL checks this step ran (PreflightDataChecks, AfterMigrationChecks, VerifyRestoredData). */
  readonly dataChecks: SqlCheckOutcome[];
}

export interface StepListener {
  opened?(step: Step): void;
  /** A polling loop came back to the step; `at` is the event time. */
  revisited?(step: Step, at: number): void;
  closed?(step: Step): void;
  /** RollbackApp started; `cause` is what failed, when known. */
  rollbackStarted?(cause: string | null): void;
}

export interface StepTrackerOptions {
  /** Pass states that record a failure verdict, by name, with the Error they record (see verdictStates). */
  readonly verdicts?: ReadonlyMap<string, string>;
  /** The state that starts the rollback path. @default 'RollbackApp' */
  readonly rollbackState?: string;
}

/** Folds a StateEvent stream into steps and tells a listener as they open and close. */
export class StepTracker {
  readonly steps: Step[] = [];
  private open: Step | null = null;
  private waitingSince: number | null = null;
  private inRollback = false;
  private lastFailure: { error: string; cause: string | null } | null = null;

  constructor(
    private readonly listener: StepListener = {},
    private readonly options: StepTrackerOptions = {},
  ) {}

  push(event: StateEvent): void {
    if (event.state === '(execution)') {
      this.close(event.at);
      return;
    }
    if (event.stateType !== 'Task') {
      this.other(event);
      return;
    }
    const step = this.open?.name === event.state ? this.open : null;
    if (event.type === 'entered') {
      this.enter(event);
      return;
    }
    if (!step) return;
    if (event.type === 'failed') {
      step.error = event.error ?? null;
      step.cause = event.cause ?? null;
    } else if (event.type === 'retried') {
      step.retries += 1;
    } else if (event.type === 'caught') {
      step.status = 'failed';
      this.lastFailure = { error: step.error ?? 'States.ALL', cause: step.cause };
    } else if (event.type === 'exited') {
      step.endedAt = event.at;
      step.dataChecks.push(...sqlCheckOutcomes(event.dataChecks ?? []));
    }
  }

  /** Closes the step still open when the execution ended (or the reader stops). */
  finish(at: number): void {
    this.close(at);
  }

  /** The step running now, if any. */
  current(): Step | null {
    return this.open;
  }

  private enter(event: StateEvent): void {
    const waitedFrom = this.waitingSince;
    this.waitingSince = null;
    if (this.open?.name === event.state) {
      this.open.visits += 1;
      this.open.endedAt = null;
      this.listener.revisited?.(this.open, event.at);
      return;
    }
    this.close(event.at);
    if (!this.inRollback && event.state === (this.options.rollbackState ?? 'RollbackApp')) {
      this.inRollback = true;
      this.listener.rollbackStarted?.(this.lastFailure ? describeFailure(this.lastFailure) : null);
    }
    const step: Step = {
      name: event.state,
      status: 'running',
      startedAt: waitedFrom ?? event.at,
      endedAt: null,
      visits: 1,
      retries: 0,
      rollback: this.inRollback,
      error: null,
      cause: null,
      dataChecks: [],
    };
    this.open = step;
    this.steps.push(step);
    this.listener.opened?.(step);
  }

  private other(event: StateEvent): void {
    if (event.type !== 'entered') return;
    if (event.stateType === 'Wait') {
      this.waitingSince ??= event.at;
      return;
    }
    const verdict = this.options.verdicts?.get(event.state);
    if (verdict !== undefined) {
      this.lastFailure = { error: verdict, cause: null };
      if (this.open) {
        this.open.status = 'failed';
        this.open.error = verdict;
      }
    }
    if (event.stateType === 'Fail' || event.stateType === 'Succeed') this.close(event.at);
  }

  private close(at: number): void {
    const step = this.open;
    if (!step) return;
    this.open = null;
    // Not exited and an attempt failed: the error ended the execution without a Catch.
    if (step.status === 'running') step.status = step.endedAt === null && step.error !== null ? 'failed' : 'succeeded';
    step.endedAt ??= at;
    this.listener.closed?.(step);
  }
}

/** `DeploymentFailedError: circuit breaker triggered` from an Error and a Lambda's JSON Cause. */
export function describeFailure(failure: { error: string; cause: string | null }): string {
  const message = causeMessage({ Error: failure.error, Cause: failure.cause });
  return message ? `${failure.error}: ${message}` : failure.error;
}

/**
 * Pass states that record a failure (`SmokeTestsFailed` sets Error `SmokeTestFailed`), read from the
 * definition: a step followed by one of them failed even though its Task succeeded.
 */
export function verdictStates(definition: Json): Map<string, string> {
  const verdicts = new Map<string, string>();
  const states = (definition as { States?: Record<string, { Type?: string; Parameters?: { Error?: unknown } }> }).States ?? {};
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Pass' && typeof state.Parameters?.Error === 'string') verdicts.set(name, state.Parameters.Error);
  }
  return verdicts;
}
