import * as z from 'zod/mini';
import type { RunbookConfig } from '../../../config/schema';
import type { Notifier } from '../../ports/notifier';
import { DeployedVersion, DeployHandle, Deployment, EndedExecution, judged, Outcome, SnapshotRef, TaskError, WindowDecision } from '../../model';
import { messageFor, startMessage } from './messages';
import { recipientsOf } from '../../../config/notification-topics';
import { describeExpectedDuration, expectedDuration } from '../../expected-duration';
import type { ArtifactStore } from '../../ports/artifact-store';
import { readLedger } from '../ledger/release-ledger';

/** The target's name for the messages, the topic to publish them to. */
const common = { config: judged<Pick<RunbookConfig, 'name' | 'notifications'>>(), deployment: Deployment };
/** RollbackUnrecorded leaves only `cause` in `$.outcome`. */
const NotifiedOutcome = z.partial(Outcome, { result: true, reportKey: true, ledgerKey: true });
const optionalError = z._default(z.nullable(TaskError), null);

/** The Parameters of the Notify* states, RequestRestoreApproval and RequestRollbackApproval, and what the rule on abandoned executions sends. */
export const NotifyEvent = z.discriminatedUnion('event', [
  // NotifyStarted, right after the lock: who, what, which version, and how long the last deployments took.
  z.object({ event: z.literal('started'), ...common }),
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
  // A drill execution that did not prove the backup restorable: it failed, or could not run (another execution held the lock).
  z.object({ event: z.literal('drill-failed'), ...common, error: optionalError, lockError: optionalError }),
  z.object({ event: z.literal('execution-ended'), config: common.config, ended: EndedExecution }),
]);
export type NotifyEvent = z.output<typeof NotifyEvent>;

export interface NotifyDeps {
  /** Sends to the topics the configuration names for the event (locally: the rehearsal's log, always). */
  readonly notifier: Notifier;
  /** The runbook's store, where the ledger keeps past durations: the start notification's expected duration (unknown without it). */
  readonly store?: ArtifactStore;
  /** Where to say that a notification could not go out. */
  readonly warn?: (message: string) => void;
}

/** Tells people what happens or happened, or asks one of them to approve a database restore or an automatic rollback. */
export async function notify(event: NotifyEvent, deps: NotifyDeps): Promise<{ published: boolean }> {
  const recipients = recipientsOf(event.config.notifications, event.event);
  if (recipients.length === 0 && event.event === 'approval-requested') {
    deps.warn?.(
      `restore approval for ${event.config.name} was requested but no topic receives approval-requested (notifications.topicArn or notifications.topics): nobody was told; ` +
        `without an answer within ${Math.round(event.deployment.approvalTimeoutSeconds / 60)} min the database is not restored`,
    );
  }
  if (recipients.length === 0 && event.event === 'rollback-approval-requested') {
    const { timeoutMinutes, onTimeout } = event.config.rollbackApproval;
    deps.warn?.(
      `rollback approval for ${event.config.name} was requested but no topic receives rollback-approval-requested (notifications.topicArn or notifications.topics): nobody was told; ` +
        `without an answer within ${timeoutMinutes} min the release is ${onTimeout === 'keep' ? 'kept' : 'rolled back'} (rollbackApproval.onTimeout)`,
    );
  }
  // The ledger is read only for a message that goes somewhere: a runbook without a start topic is not granted it.
  const delivered = recipients.length > 0 || !deps.notifier.needsRecipients;
  if (!delivered) return { published: false };
  const { subject, message } = event.event === 'started' ? startMessage(event, await expectedFromLedger(event.config.name, deps.store)) : messageFor(event);
  return { published: await deps.notifier.publish(recipients, subject, message, { event: event.event, target: event.config.name }) };
}

/** The expected duration from the ledger's successful deployments; a ledger that cannot be read leaves it unknown, and says why. */
async function expectedFromLedger(target: string, store: ArtifactStore | undefined): Promise<string> {
  if (!store) return describeExpectedDuration(expectedDuration([]), 'deployment');
  try {
    const { document } = await readLedger(store, target);
    return describeExpectedDuration(expectedDuration(document.releases.map((release) => release.durationSeconds)), 'deployment');
  } catch (error) {
    return `unknown (the ledger could not be read: ${error instanceof Error ? error.message : String(error)})`;
  }
}
