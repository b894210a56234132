import type { DataCheckReport } from './tasks/data-checks/data-checks';

/**
 * One step of an execution as progress and reports show it, whichever engine ran it: Step Functions' history
 * (the CLI) or the local engine (the rehearsal).
 */
export interface StateEvent {
  readonly type: 'entered' | 'exited' | 'failed' | 'retried' | 'caught';
  readonly state: string;
  readonly stateType: string;
  readonly at: number;
  readonly error?: string;
  readonly cause?: string;
  /** `exited` only: SQL check reports that first appear in the state's output (see DataCheckReader). */
  readonly dataChecks?: readonly DataCheckReport[];
}
