import type { HistoryEvent } from '@aws-sdk/client-sfn';
import * as z from 'zod/mini';
import { MetricRecord } from '../../core/model';
import { DataCheckReader } from '../../core/sql-check-evidence';
import type { StateEvent } from '../../core/state-event';
import type { DataCheckReport } from '../../core/tasks/data-checks/data-checks';

/** What the evidence of an execution says, read from the state the tasks wrote. */
export interface ExecutionFacts {
  version: string | null;
  snapshotId: string | null;
  /** The evidence report's key in the artifact store. */
  report: string | null;
  alarms: AlarmFacts | null;
  /** `$.bake.analysis`, when the state carried it in the shape the tasks write. */
  analysis: MetricRecord[] | null;
  /** The SQL check reports of each phase that ran (`$.preflightChecks`, `$.dataGate`, `$.restoreCheck`), in order. */
  dataChecks: DataCheckReport[];
}

export interface AlarmFacts {
  readonly firing: readonly string[];
  readonly newlyFiring: readonly string[];
  readonly firingAtBaseline: readonly string[];
}

/** History events that mean an attempt of the current Task failed, with where their details live. */
const FAILURES: Record<string, keyof HistoryEvent> = {
  LambdaFunctionFailed: 'lambdaFunctionFailedEventDetails',
  LambdaFunctionTimedOut: 'lambdaFunctionTimedOutEventDetails',
  LambdaFunctionStartFailed: 'lambdaFunctionStartFailedEventDetails',
  LambdaFunctionScheduleFailed: 'lambdaFunctionScheduleFailedEventDetails',
  TaskFailed: 'taskFailedEventDetails',
  TaskTimedOut: 'taskTimedOutEventDetails',
  TaskStartFailed: 'taskStartFailedEventDetails',
  TaskSubmitFailed: 'taskSubmitFailedEventDetails',
  ActivityFailed: 'activityFailedEventDetails',
  ActivityTimedOut: 'activityTimedOutEventDetails',
  ActivityScheduleFailed: 'activityScheduleFailedEventDetails',
  EvaluationFailed: 'evaluationFailedEventDetails',
};
const SCHEDULED = new Set(['LambdaFunctionScheduled', 'TaskScheduled', 'ActivityScheduled']);
const ENDS: Record<string, keyof HistoryEvent> = {
  ExecutionFailed: 'executionFailedEventDetails',
  ExecutionTimedOut: 'executionTimedOutEventDetails',
  ExecutionAborted: 'executionAbortedEventDetails',
};
const STATE_EVENT = /^([A-Za-z]+)State(Entered|Exited)$/;

/** True for the event that ends an execution. */
export function isExecutionEnd(event: HistoryEvent): boolean {
  return event.type === 'ExecutionSucceeded' || (event.type ?? '') in ENDS;
}

/**
 * Turns Step Functions history into the local engine's StateEvent stream, so that an execution on AWS
 * and a rehearsal render the same way. SFN has no "retried" or "caught" event: a failed attempt followed
 * by a new schedule is a retry, one followed by the state's exit was caught. Feed events in order, in
 * as many batches as they arrive.
 */
export class HistoryReader {
  private readonly dataChecks = new DataCheckReader();
  readonly facts: ExecutionFacts = { version: null, snapshotId: null, report: null, alarms: null, analysis: null, dataChecks: this.dataChecks.reports };
  private current: { name: string; type: string } | null = null;
  private failedAttempt = false;

  read(events: readonly HistoryEvent[]): StateEvent[] {
    return events.flatMap((event) => this.one(event));
  }

  private one(event: HistoryEvent): StateEvent[] {
    const type = event.type ?? '';
    const at = event.timestamp ? new Date(event.timestamp).getTime() : 0;
    const state = STATE_EVENT.exec(type);
    if (state) {
      const details = state[2] === 'Entered' ? event.stateEnteredEventDetails : event.stateExitedEventDetails;
      const name = details?.name ?? '(unnamed)';
      if (state[2] === 'Entered') {
        this.current = { name, type: state[1] };
        return [{ type: 'entered', state: name, stateType: state[1], at }];
      }
      const dataChecks = this.noteOutput(event.stateExitedEventDetails?.output);
      const caught = this.settle(at, 'caught');
      return [...caught, { type: 'exited', state: name, stateType: state[1], at, ...(dataChecks.length > 0 ? { dataChecks } : {}) }];
    }
    if (type in FAILURES) {
      const details = event[FAILURES[type]] as { error?: string; cause?: string } | undefined;
      this.failedAttempt = true;
      return [this.stateEvent('failed', at, details?.error ?? (type.endsWith('TimedOut') ? 'States.Timeout' : type), details?.cause)];
    }
    if (SCHEDULED.has(type)) return this.settle(at, 'retried');
    if (type === 'ExecutionStarted') this.noteInput(event.executionStartedEventDetails?.input);
    if (type === 'ExecutionSucceeded') this.noteOutput(event.executionSucceededEventDetails?.output);
    if (type in ENDS) {
      const details = event[ENDS[type]] as { error?: string; cause?: string } | undefined;
      const error = details?.error ?? (type === 'ExecutionTimedOut' ? 'States.Timeout' : type);
      // The engine reports a Fail state as failing with its Error before the execution fails.
      const failState = this.current?.type === 'Fail' ? [this.stateEvent('failed', at, error, details?.cause)] : [];
      return [...failState, { type: 'failed', state: '(execution)', stateType: 'Execution', at, error, ...(details?.cause ? { cause: details.cause } : {}) }];
    }
    return [];
  }

  /** Resolves a failed attempt once the next event shows what became of it. */
  private settle(at: number, as: 'caught' | 'retried'): StateEvent[] {
    if (!this.failedAttempt) return [];
    this.failedAttempt = false;
    return [this.stateEvent(as, at)];
  }

  private stateEvent(type: StateEvent['type'], at: number, error?: string, cause?: string): StateEvent {
    return {
      type,
      state: this.current?.name ?? '(unknown)',
      stateType: this.current?.type ?? 'Task',
      at,
      ...(error !== undefined ? { error } : {}),
      ...(cause ? { cause } : {}),
    };
  }

  private noteInput(input: string | undefined): void {
    const parsed = parse(input);
    if (typeof parsed?.version === 'string') this.facts.version = parsed.version;
  }

  /** Keeps the latest version, snapshot, report and alarms the execution state carries; returns the SQL check reports new in it. */
  private noteOutput(output: string | undefined): DataCheckReport[] {
    const state = parse(output);
    if (!state) return [];
    const deployment = record(state.deployment);
    if (typeof deployment?.version === 'string') this.facts.version = deployment.version;
    const snapshot = record(state.snapshot);
    if (typeof snapshot?.id === 'string') this.facts.snapshotId = snapshot.id;
    const outcome = record(state.outcome);
    if (typeof outcome?.reportKey === 'string') this.facts.report = outcome.reportKey;
    const bake = record(state.bake);
    if (bake && Array.isArray(bake.firing)) {
      this.facts.alarms = {
        firing: names(bake.firing.map((alarm) => record(alarm)?.name)),
        newlyFiring: names(bake.newlyFiring),
        firingAtBaseline: names(bake.firingAtBaseline),
      };
    }
    const analysis = z.array(MetricRecord).safeParse(bake?.analysis);
    if (analysis.success) this.facts.analysis = analysis.data;
    return this.dataChecks.note(state);
  }
}

function parse(text: string | undefined): Record<string, unknown> | null {
  if (!text) return null;
  try {
    return record(JSON.parse(text));
  } catch {
    // Outputs can be truncated or absent (includeExecutionData=false): the facts then stay unknown.
    return null;
  }
}

function record(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function names(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
