import * as z from 'zod/mini';
import type { RunbookConfig } from '../../../config/schema';
import type { Notifier } from '../../ports/notifier';
import { DeployedVersion, DeployHandle, Deployment, EndedExecution, judged, Outcome, SnapshotRef, TaskError, WindowDecision } from '../../model';
import { messageFor } from './messages';

/** The target's name for the messages, the topic to publish them to. */
const common = { config: judged<Pick<RunbookConfig, 'name' | 'notifications'>>(), deployment: Deployment };
/** RollbackUnrecorded leaves only `cause` in `$.outcome`. */
const NotifiedOutcome = z.partial(Outcome, { result: true, reportKey: true, ledgerKey: true });
const optionalError = z._default(z.nullable(TaskError), null);

/** The Parameters of the Notify* states, RequestRestoreApproval and RequestRollbackApproval, and what the rule on abandoned executions sends. */
export const NotifyEvent = z.discriminatedUnion('event', [
  z.object({ event: z.literal('succeeded'), ...common, outcome: NotifiedOutcome, lockError: optionalError }),
  z.object({ event: z.literal('aborted'), ...common, error: optionalError, lockError: optionalError }),
  z.object({ event: z.literal('rolled-back'), ...common, outcome: z._default(z.nullable(NotifiedOutcome), null), error: optionalError, lockError: optionalError }),
  z.object({ event: z.literal('rollback-failed'), ...common, error: optionalError, rollbackError: optionalError }),
  z.object({ event: z.literal('no-rollback'), ...common, window: WindowDecision }),
  // Strict, so no task token can ride along: the person answers through the stack's activity (core/restore-approval.ts), naming deployment.executionId.
  z.strictObject({ event: z.literal('approval-requested'), ...common, snapshot: SnapshotRef, error: optionalError }),
  // Strict too: the person answers through the same activity. The configuration adds rollbackApproval: how long, and what happens without an answer.
  z.strictObject({
    event: z.literal('rollback-approval-requested'),
    config: judged<Pick<RunbookConfig, 'name' | 'notifications' | 'rollbackApproval'>>(),
    deployment: Deployment,
    release: DeployHandle,
    rollbackTo: DeployedVersion,
    error: optionalError,
  }),
  z.object({ event: z.literal('kept'), ...common, outcome: NotifiedOutcome, error: optionalError, lockError: optionalError }),
  z.object({ event: z.literal('execution-ended'), config: common.config, ended: EndedExecution }),
]);
export type NotifyEvent = z.output<typeof NotifyEvent>;

export interface NotifyDeps {
  /** Null when the target has no notification topic: nothing is sent. */
  readonly notifier: Notifier | null;
  /** Where to say that a notification could not go out. */
  readonly warn?: (message: string) => void;
}

/** Tells people what happened, or asks one of them to approve a database restore or an automatic rollback. */
export async function notify(event: NotifyEvent, deps: NotifyDeps): Promise<{ published: boolean }> {
  if (!deps.notifier) {
    if (event.event === 'approval-requested') {
      deps.warn?.(
        `restore approval for ${event.config.name} was requested but notifications.topicArn is not set: nobody was told; ` +
          `without an answer within ${Math.round(event.deployment.approvalTimeoutSeconds / 60)} min the database is not restored`,
      );
    }
    if (event.event === 'rollback-approval-requested') {
      const { timeoutMinutes, onTimeout } = event.config.rollbackApproval;
      deps.warn?.(
        `rollback approval for ${event.config.name} was requested but notifications.topicArn is not set: nobody was told; ` +
          `without an answer within ${timeoutMinutes} min the release is ${onTimeout === 'keep' ? 'kept' : 'rolled back'} (rollbackApproval.onTimeout)`,
      );
    }
    return { published: false };
  }
  const { subject, message } = messageFor(event);
  await deps.notifier.publish(subject, message, { event: event.event, target: event.config.name });
  return { published: true };
}
