/** How an execution ended, as CI sees it. */
export type Outcome = 'succeeded' | 'rolled-back' | 'failed';

/** Process exit codes: CI branches on them, so they never change meaning. */
export const ExitCode = {
  /** The execution succeeded (a release, or an alarm rollback that had nothing to do). */
  Succeeded: 0,
  /** The execution failed without a completed rollback: RollbackFailed, DeploymentAborted, InvalidInput, DeploymentInProgress, … */
  Failed: 1,
  /** The deployment failed and was rolled back (the execution failed with RolledBack). */
  RolledBack: 2,
  /** `status` only: the execution is still running. */
  Running: 3,
  /** Bad usage or configuration: nothing was started. */
  Usage: 64,
} as const;

/** The Fail state a completed rollback ends in. */
export const ROLLED_BACK_ERROR = 'RolledBack';

/** Maps DescribeExecution's status and error to an outcome; null while the execution runs. */
export function outcomeOf(status: string | undefined, error: string | null | undefined): Outcome | null {
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE') return null;
  if (status === 'SUCCEEDED') return 'succeeded';
  return status === 'FAILED' && error === ROLLED_BACK_ERROR ? 'rolled-back' : 'failed';
}

export function exitCodeFor(outcome: Outcome | null): number {
  if (outcome === null) return ExitCode.Running;
  return { succeeded: ExitCode.Succeeded, 'rolled-back': ExitCode.RolledBack, failed: ExitCode.Failed }[outcome];
}

/** For `--help`. */
export const EXIT_CODES_HELP = `
Exit codes:
  0   succeeded
  1   failed (RollbackFailed, DeploymentAborted, InvalidInput, DeploymentInProgress, timed out, aborted, AWS errors)
  2   rolled back: the deployment failed and the previous version runs again
  3   still running (status without --wait)
  64  bad usage or configuration: nothing was started`;
