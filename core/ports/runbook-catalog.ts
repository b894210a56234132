import type { RunbookReference } from '../../config/release-plan';

/** A runbook a release plan's stage may run. */
export interface RunbookEntry {
  readonly stateMachineArn: string;
  /** The runbook configuration's `name`: its target. */
  readonly target: string;
  /** Its configuration's `target.kind`: an `ecs` target needs an image. */
  readonly targetKind: string;
  /** Its configuration's SQL checks by name (`checks.sql[].name`): what a plan's `sql` gate may name. */
  readonly checks: readonly string[];
  /** Its configuration's deciding analysis metrics by name (`analysis.metrics[].name`, not dryRun): what a plan's `analysis` gate may name. */
  readonly metrics: readonly string[];
}

/**
 * Finds the runbook a stage names. AWS: the stack's `StateMachineArn` output or the ARN itself, checked with
 * DescribeStateMachine (the configuration is read from the definition); rehearsal: a configuration file.
 */
export interface RunbookCatalog {
  /** The runbook, or one sentence saying why this reference names none (it does not exist, it is not a runbook). */
  find(reference: RunbookReference): Promise<RunbookEntry | string>;
  /** Where a stage's evidence report is, for the plan's report to link: an `s3://` URL or a file path. */
  reportLocation(target: string, deploymentId: string): Promise<string>;
}
