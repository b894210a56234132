import type { ExecutionResult } from '../local/engine/engine';

/**
 * Bytes of a CloudWatch Logs record around its payload (id, type, name, previous event id, timestamp,
 * execution ARN, redrive count), measured on records of a Standard state machine logging at level ALL.
 */
const RECORD_ENVELOPE_BYTES = 280;

/** What an execution carries from state to state, and what logging it at level ALL with execution data writes. */
export interface ExecutionDataFigures {
  /** The largest state input or output, Task Parameters or result: what the 256 KiB limit applies to. */
  readonly largestBytes: number;
  /** Where it was: `<state> <kind>`. */
  readonly largestAt: string;
  /** Every payload once, plus a record envelope per history event (estimate). */
  readonly loggedBytes: number;
  /** The Tasks' Parameters alone: what the functions receive. */
  readonly parametersBytes: number;
}

/**
 * Estimates the execution data an execution logs: each state's input (…StateEntered) and output
 * (…StateExited), each Task's Parameters (TaskScheduled) and result (TaskSucceeded), and one record per
 * history event (entered and exited per state, scheduled, started and succeeded per Task, start and end).
 */
export function executionDataFigures(execution: ExecutionResult): ExecutionDataFigures {
  const largest = execution.payloads.reduce((max, payload) => (payload.bytes > max.bytes ? payload : max), execution.payloads[0]);
  const tasks = execution.payloads.filter((payload) => payload.kind === 'parameters');
  const entered = execution.payloads.filter((payload) => payload.kind === 'input').length;
  const records = 2 * entered + 3 * tasks.length + 2;
  const payloadBytes = execution.payloads.reduce((sum, payload) => sum + payload.bytes, 0);
  return {
    largestBytes: largest?.bytes ?? 0,
    largestAt: largest ? `${largest.state} ${largest.kind}` : '-',
    loggedBytes: payloadBytes + records * RECORD_ENVELOPE_BYTES,
    parametersBytes: tasks.reduce((sum, payload) => sum + payload.bytes, 0),
  };
}
