import type { StateEvent } from '../state-event';

/** What was read of an execution's history. */
export interface ExecutionHistoryRead {
  /** Its state events, oldest first (as the CLI and the local engine give them). */
  readonly events: readonly StateEvent[];
  /** False when the read stopped at its bound before the end of the history: later states are unknown. */
  readonly complete: boolean;
}

/**
 * The history of the execution a Task runs in, so that the ledger can draw the path it took: on AWS Step
 * Functions' GetExecutionHistory. A read is bounded; it may fail, and the report is written without the path.
 */
export interface ExecutionHistory {
  read(executionId: string): Promise<ExecutionHistoryRead>;
}
