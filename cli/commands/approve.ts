import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { type CliIo, regionFrom } from '../io';
import { RunbookError } from '../../core/errors';
import { UsageError } from '../usage-error';

/** Step Functions refused the answer: the token expired (TaskTimedOut), is unknown or malformed. */
export class ApprovalError extends RunbookError {}

export interface ApproveOptions {
  readonly token: string;
  readonly reject?: boolean;
  readonly by?: string;
  readonly comment?: string;
  readonly region?: string;
}

/** The Error a rejection sends; RequestRestoreApproval catches it into RestoreNotApproved. */
export const REJECTED_ERROR = 'RestoreRejected';
const MAX_TOKEN = 2048;

/**
 * `deploy-runbook approve --token <t> [--reject]`: answers the restore approval the runbook waits for.
 * The token is a credential for that decision: it is never printed, not even in an error.
 */
export async function approve(options: ApproveOptions, io: CliIo): Promise<number> {
  const token = options.token.trim();
  if (token.length === 0 || token.length > MAX_TOKEN) {
    throw new UsageError(`--token: must be the task token from the approval request, 1-${MAX_TOKEN} characters (got ${token.length} characters)`);
  }
  const by = options.by ?? io.env.GITHUB_ACTOR ?? io.env.USER ?? null;
  if (by !== null && (by.length === 0 || by.length > 128)) throw new UsageError(`--by: must be 1-128 characters (got "${by.slice(0, 40)}")`);
  if (options.comment !== undefined && (options.comment.length === 0 || options.comment.length > 1024)) {
    throw new UsageError(`--comment: must be 1-1024 characters (got ${options.comment.length} characters)`);
  }
  const comment = options.comment ?? null;
  const { sfn } = io.aws(regionFrom(options.region, io.env));
  try {
    if (options.reject) {
      const cause = `rejected by ${by ?? 'an operator'}${comment ? `: ${comment}` : ''}`;
      await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: REJECTED_ERROR, cause }));
    } else {
      await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved: true, by, comment }) }));
    }
  } catch (error) {
    const failure = error as Error;
    throw new ApprovalError(`Step Functions refused the answer (${failure.name}): ${failure.message.split(token).join('***')}`);
  }
  io.stdout.write(options.reject ? `✖ restore rejected${by ? ` by ${by}` : ''}: the rollback goes on without restoring the database\n` : `✔ restore approved${by ? ` by ${by}` : ''}: the runbook restores the pre-deploy snapshot\n`);
  return 0;
}
