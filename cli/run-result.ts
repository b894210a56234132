import type { ExecutionOutcome } from '../core/execution-outcome';
import type { MetricRecord } from '../core/model';
import type { SqlCheckOutcome } from '../core/sql-check-evidence';
import type { StateTiming } from '../core/tasks/ledger/evidence-report';
import type { AlarmFacts } from '../adapters/aws/sfn-history';
import type { Step } from './steps';

/** What one command learned about an execution: rendered as the final line, JSON and the CI summary. */
export interface RunResult {
  /** `started`: start without --wait; `running`: status of an execution not finished yet. */
  readonly outcome: ExecutionOutcome | 'running' | 'started';
  /** What the execution is, as the closing line names it. @default 'deployment' */
  readonly subject?: string;
  readonly executionArn: string | null;
  readonly version: string | null;
  readonly steps: readonly Step[];
  readonly durationMs: number;
  /** The Fail state's Error (`RolledBack`, `DeploymentAborted`, …) or the CLI's own error name. */
  readonly error: string | null;
  readonly cause: string | null;
  readonly report: string | null;
  readonly snapshotId: string | null;
  readonly alarms: AlarmFacts | null;
  /** The analysis metrics as the bake last judged them. @default none */
  readonly analysis?: readonly MetricRecord[];
  /** Each SQL check that ran, every phase, in order. @default none */
  readonly dataChecks?: readonly SqlCheckOutcome[];
  /** Every state entered, in order of first entry: the path the flowchart colours. @default none known */
  readonly path?: readonly StateTiming[];
}
