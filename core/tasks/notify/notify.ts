import * as z from 'zod/mini';
import type { RunbookConfig } from '../../../config/schema';
import type { Notifier } from '../../ports/notifier';
import { Deployment, EndedExecution, judged, Outcome, SnapshotRef, TaskError, WindowDecision } from '../../model';
import { messageFor } from './messages';

/** The target's name for the messages, the topic to publish them to. */
const common = { config: judged<Pick<RunbookConfig, 'name' | 'notifications'>>(), deployment: Deployment };
/** RollbackUnrecorded leaves only `cause` in `$.outcome`. */
const NotifiedOutcome = z.partial(Outcome, { result: true, reportKey: true, ledgerKey: true });
const optionalError = z._default(z.nullable(TaskError), null);

/** The Parameters of the Notify* states and RequestRestoreApproval, and what the rule on abandoned executions sends. */
export const NotifyEvent = z.discriminatedUnion('event', [
  z.object({ event: z.literal('succeeded'), ...common, outcome: NotifiedOutcome, lockError: optionalError }),
  z.object({ event: z.literal('aborted'), ...common, error: optionalError, lockError: optionalError }),
  z.object({ event: z.literal('rolled-back'), ...common, outcome: z._default(z.nullable(NotifiedOutcome), null), error: optionalError, lockError: optionalError }),
  z.object({ event: z.literal('rollback-failed'), ...common, error: optionalError, rollbackError: optionalError }),
  z.object({ event: z.literal('no-rollback'), ...common, window: WindowDecision }),
  // Strict, so no task token can ride along: the person answers through the stack's activity (core/restore-approval.ts), naming deployment.executionId.
  z.strictObject({ event: z.literal('approval-requested'), ...common, snapshot: SnapshotRef, error: optionalError }),
  z.object({ event: z.literal('execution-ended'), config: common.config, ended: EndedExecution }),
]);
export type NotifyEvent = z.output<typeof NotifyEvent>;

export interface NotifyDeps {
  /** Null when the target has no notification topic: nothing is sent. */
  readonly notifier: Notifier | null;
  /** Where to say that a notification could not go out. */
  readonly warn?: (message: string) => void;
}

/** Tells people what happened, or asks one of them to approve a database restore. */
export async function notify(event: NotifyEvent, deps: NotifyDeps): Promise<{ published: boolean }> {
  if (!deps.notifier) {
    if (event.event === 'approval-requested') {
      deps.warn?.(
        `restore approval for ${event.config.name} was requested but notifications.topicArn is not set: nobody was told; ` +
          `without an answer within ${Math.round(event.deployment.approvalTimeoutSeconds / 60)} min the database is not restored`,
      );
    }
    return { published: false };
  }
  const { subject, message } = messageFor(event);
  await deps.notifier.publish(subject, message, { event: event.event, target: event.config.name });
  return { published: true };
}
