import type { ReportSlots } from '../../core/tasks/ledger/evidence-report';
import { LedgerSlots } from '../../core/tasks/ledger/slots';
import type { Outcome } from '../../core/model';
import type { Json } from '../../statemachines/definition';
import type { ExecutionResult, TaskHandler } from '../engine/engine';

/** Ledger operations that write the evidence report: the last one's slots are the execution's final state. */
const REPORTING_OPERATIONS = new Set(['record-drill', 'record-release', 'record-abort', 'record-rollback', 'record-rollback-failure', 'record-kept']);

/** Remembers the slots of the last ledger call that wrote the report, and what it returned: the report is rebuilt from them. */
export class OutcomeRecorder {
  private last: { event: Json; outcome: Outcome | null } | null = null;

  constructor(private readonly inner: TaskHandler) {}

  readonly handle: TaskHandler = async (call) => {
    const operation = (call.event as { operation?: unknown } | null)?.operation;
    const reporting = call.folder === 'ledger' && typeof operation === 'string' && REPORTING_OPERATIONS.has(operation);
    if (reporting) this.last = { event: call.event, outcome: null };
    const result = await this.inner(call);
    if (reporting && this.last) this.last.outcome = result as Outcome;
    return result;
  };

  /** The report's slots; a ledger call that failed leaves the execution's own cause as the outcome. */
  slots(execution: ExecutionResult): ReportSlots | null {
    if (!this.last) return null;
    const slots = LedgerSlots.parse(this.last.event);
    return { ...slots, outcome: this.last.outcome ?? { cause: execution.cause ?? 'the outcome could not be recorded' } };
  }
}

