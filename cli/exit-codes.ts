import type { ExecutionOutcome } from '../core/execution-outcome';

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
  /** `rehearse` only: the rehearsal's checks of the machine (app version, data, kept database, lock) do not all hold. */
  VerificationFailed: 4,
  /** Bad usage or configuration: nothing was started. */
  Usage: 64,
} as const;

/** The one mapping from how an execution ended to the process's exit code; null while it runs. */
export function exitCodeFor(outcome: ExecutionOutcome | null): number {
  if (outcome === null) return ExitCode.Running;
  return { succeeded: ExitCode.Succeeded, 'rolled-back': ExitCode.RolledBack, failed: ExitCode.Failed }[outcome];
}

/**
 * A rehearsal's exit code: what it found on the machine outranks how the execution ended, so a rehearsal
 * that lost rows or left the wrong version running never exits 0 or 2.
 */
export function rehearsalExitCode(outcome: ExecutionOutcome, verified: boolean): number {
  return verified ? exitCodeFor(outcome) : ExitCode.VerificationFailed;
}

/** For `--help`. */
export const EXIT_CODES_HELP = `
Exit codes:
  0   succeeded
  1   failed (RollbackFailed, DeploymentAborted, InvalidInput, DeploymentInProgress, timed out, aborted, AWS errors)
  2   rolled back: the deployment failed and the previous version runs again
  3   still running (status without --wait)
  4   rehearse: the execution ended, but the rehearsal's checks of the machine do not all hold
  64  bad usage or configuration: nothing was started`;
