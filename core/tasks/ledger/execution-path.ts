import type { ExecutionHistory } from '../../ports/execution-history';
import type { StateEvent } from '../../state-event';
import { stateTimings } from '../../state-timings';
import type { Json } from '../../json';
import type { ReportExtras } from './evidence-report';

/** How the ledger learns the path its execution took: the history, and the definition to draw it through. */
export interface PathSource {
  readonly history: ExecutionHistory;
  readonly definition: Json;
}

/**
 * The report's path through the runbook, read from the execution's own history: every state entered so far
 * with its duration, the Task recording the outcome (still running) counted as passed. Best effort: a history
 * that cannot be read leaves the report without the chart, saying why by the error's name only (never its
 * message, which could quote anything).
 */
export async function pathExtras(source: PathSource, executionId: string, now: Date): Promise<ReportExtras> {
  let read;
  try {
    read = await source.history.read(executionId);
  } catch (error) {
    return { pathNote: `Flowchart unavailable: the execution history could not be read (${errorName(error)}).` };
  }
  const states = stateTimings(closingRunningState(read.events, now.getTime()));
  if (states.length === 0) return { pathNote: 'Flowchart unavailable: the execution history holds no state yet.' };
  return {
    states,
    definition: source.definition,
    ...(read.complete ? {} : { pathNote: `The execution history was read only in part: the path is drawn as far as it goes (${states.length} states); later states are grey.` }),
  };
}

/** The last state entered, when nothing ended it: the Task running now, which is not failing by writing the report (timed until `at`). */
function closingRunningState(events: readonly StateEvent[], at: number): readonly StateEvent[] {
  const last = events.findLastIndex((event) => event.type === 'entered');
  if (last < 0) return events;
  const { state, stateType } = events[last];
  const ended = events.slice(last + 1).some((event) => event.type === 'exited' || event.state === '(execution)');
  return ended ? events : [...events, { type: 'exited', state, stateType, at: Math.max(at, events.at(-1)?.at ?? at) }];
}

/** An error's class name when it looks like one (`AccessDeniedException`), never its message. */
function errorName(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  return /^[A-Za-z][A-Za-z0-9.]{0,79}$/.test(name) ? name : 'an unexpected error';
}
