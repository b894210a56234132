/** How an execution ended, as CI sees it: the CLI on AWS and the rehearsal both read it from the same Fail states. */
export type ExecutionOutcome = 'succeeded' | 'rolled-back' | 'failed';

/** The Fail state a completed rollback ends in. */
const ROLLED_BACK_ERROR = 'RolledBack';

/**
 * Maps an execution's status (DescribeExecution's, or the local engine's) and its Fail state's Error to an
 * outcome; null while it runs. Every failure other than a completed rollback is a failure: DeploymentAborted,
 * RollbackFailed, InvalidInput, a timeout.
 */
export function outcomeOf(status: 'SUCCEEDED' | 'FAILED', error: string | null | undefined): ExecutionOutcome;
export function outcomeOf(status: string | undefined, error: string | null | undefined): ExecutionOutcome | null;
export function outcomeOf(status: string | undefined, error: string | null | undefined): ExecutionOutcome | null {
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE') return null;
  if (status === 'SUCCEEDED') return 'succeeded';
  return status === 'FAILED' && error === ROLLED_BACK_ERROR ? 'rolled-back' : 'failed';
}
