import { describeError, endedHow, REQUESTED_BY_LABEL, startedBy, versionLabel } from '../../causes';
import type { Deployment, EndedExecution, TaskError } from '../../model';
import type { NotifyEvent } from './notify';

/** A notification: the subject is a mail subject (the SNS adapter makes it ASCII and short), the message plain text. */
export interface Message {
  readonly subject: string;
  readonly message: string;
}

/** The words for each event but the start (startMessage). They name versions, errors and decisions; never secrets or smoke-test bodies. */
export function messageFor(event: Exclude<NotifyEvent, { event: 'started' }>): Message {
  const target = event.config.name;
  if (event.event === 'execution-ended') return abandoned(target, event.ended);
  const footer = details(event.deployment);
  switch (event.event) {
    case 'succeeded':
      return {
        subject: `${target}: ${versionLabel(event.deployment)} released`,
        message: lines(
          `${versionLabel(event.deployment)} is live on ${target}.`,
          '',
          event.outcome.cause,
          '',
          ...footer,
          event.outcome.reportKey ? `Evidence report: ${event.outcome.reportKey} (in the runbook's artifact store)` : null,
          lockWarning(target, event.lockError),
        ),
      };
    case 'aborted':
      return {
        subject: `${target}: ${what(event.deployment)} aborted`,
        message: lines(
          `The ${what(event.deployment)} of ${target} was aborted before anything changed.`,
          '',
          `Why: ${describeError(event.error)}`,
          '',
          ...footer,
          lockWarning(target, event.lockError),
        ),
      };
    case 'drill-failed':
      return {
        subject: `${target}: restore drill FAILED, backup not proven restorable`,
        message: lines(
          `The restore drill of ${target} did not prove its backup restorable.`,
          '',
          `Why: ${describeError(event.error)}`,
          '',
          'Nothing was deployed and the live database was not written; a scratch copy the drill made is dropped unless the error says it could not be. Until a drill passes, the evidence reports keep the last time a backup was proven restorable.',
          '',
          ...footer,
          lockWarning(target, event.lockError),
        ),
      };
    case 'rolled-back':
      return {
        subject: `${target}: ${event.deployment.action === 'rollback' ? 'latest release' : versionLabel(event.deployment)} rolled back`,
        message: lines(
          event.outcome?.cause ?? `${target} was rolled back after ${describeError(event.error)}.`,
          '',
          'The previous version runs again and passed its smoke tests. The execution ends as failed (RolledBack), so CI reports it.',
          '',
          ...footer,
          event.outcome?.reportKey ? `Evidence report: ${event.outcome.reportKey} (in the runbook's artifact store)` : null,
          lockWarning(target, event.lockError),
        ),
      };
    case 'rollback-failed':
      return {
        subject: `ACTION NEEDED: ${target} rollback failed`,
        message: lines(
          `The rollback of ${target} failed: the service and the database may be in a mixed state and need a person now.`,
          '',
          `Rollback error: ${describeError(event.rollbackError)}`,
          `It started after: ${describeError(event.error)}`,
          '',
          `The deployment lock on ${target} is kept, marked stuck: no deployment or alarm rollback starts until someone checks the service and the database and unlocks it.`,
          '',
          ...footer,
        ),
      };
    case 'no-rollback':
      return {
        subject: `${target}: no rollback (${event.window.decision})`,
        message: lines(event.window.message, '', ...footer),
      };
    case 'approval-requested':
      return approvalRequest(event);
    case 'rollback-approval-requested':
      return rollbackApprovalRequest(event);
    case 'kept':
      return {
        subject: `${target}: ${event.deployment.action === 'rollback' ? 'latest release' : versionLabel(event.deployment)} kept, not rolled back`,
        message: lines(
          event.outcome.cause,
          '',
          'The new version still runs: it failed its checks and a decision kept it. The execution ends as failed (ReleaseKept), so CI reports the failed checks.',
          '',
          ...footer,
          event.outcome.reportKey ? `Evidence report: ${event.outcome.reportKey} (in the runbook's artifact store)` : null,
          lockWarning(target, event.lockError),
        ),
      };
  }
}

/**
 * Before anything changes, right after the lock: who asked for what, which version, and how long it should take,
 * so that support and stakeholders hear of a deployment when it begins, not only when it ends.
 */
export function startMessage(event: Extract<NotifyEvent, { event: 'started' }>, expected: string): Message {
  const { deployment } = event;
  const target = event.config.name;
  return {
    subject: `${target}: deploying ${versionLabel(deployment)}`,
    message: lines(
      `The deploy of ${versionLabel(deployment)} to ${target} has started. Nothing has changed yet: the preflight checks and the backup come first.`,
      '',
      `Version: ${versionLabel(deployment)}`,
      deployment.image ? `Image: ${deployment.image}` : null,
      `Expected duration: ${expected}`,
      `Started at: ${deployment.startedAt}`,
      '',
      ...details(deployment),
    ),
  };
}

/** Nothing in the runbook ran after the execution ended: whatever it was doing may be half done. */
function abandoned(target: string, ended: EndedExecution): Message {
  return {
    subject: `ACTION NEEDED: ${target} runbook execution ${ended.status}`,
    message: lines(
      `Execution ${ended.name} of the ${target} runbook ended ${endedHow(ended)}, outside the runbook's own end states: no rollback, record or notification step ran after that.`,
      '',
      'Whatever it was doing may be half done: a deploy between versions, a rollback, a database restore with the database renamed aside.',
      `If it held the deployment lock on ${target}, the lock is marked stuck: no deployment or alarm rollback starts until someone checks the service and the database and unlocks it.`,
      '',
      `Execution: ${ended.executionArn}`,
    ),
  };
}

function approvalRequest(event: Extract<NotifyEvent, { event: 'approval-requested' }>): Message {
  const { config, deployment, snapshot } = event;
  const target = config.name;
  const minutes = Math.round(deployment.approvalTimeoutSeconds / 60);
  // No token here: whoever answers takes the request from the stack's activity with their own AWS credentials.
  return {
    subject: `APPROVAL NEEDED: restore ${target} database from ${snapshot.id}?`,
    message: lines(
      `${deployment.action === 'rollback' ? `The ${what(deployment)} of ${target}` : `The deploy of ${versionLabel(deployment)} to ${target}`} is rolling back after ${describeError(event.error)}.`,
      '',
      `Restoring snapshot ${snapshot.id} (of ${snapshot.source}, taken ${snapshot.startedAt}) brings the database back to how it was before the deploy:`,
      'every write since then is lost. The current database is kept under another name, not deleted.',
      '',
      `Answer within ${minutes} min; without an answer the database is not restored.`,
      '',
      ...answering(deployment, 'Approve:', 'Reject:'),
    ),
  };
}

function rollbackApprovalRequest(event: Extract<NotifyEvent, { event: 'rollback-approval-requested' }>): Message {
  const { config, deployment, release, rollbackTo } = event;
  const target = config.name;
  const { timeoutMinutes, onTimeout } = config.rollbackApproval;
  // No token here either: the answer goes through the stack's activity, with the answering person's credentials.
  return {
    subject: `APPROVAL NEEDED: roll back ${target} from ${versionLabel(release)} to ${versionLabel(rollbackTo)}?`,
    message: lines(
      `${deployment.action === 'rollback' ? `The ${what(deployment)} of ${target}` : `The deploy of ${versionLabel(deployment)} to ${target}`} failed: ${describeError(event.error)}.`,
      '',
      `${versionLabel(release)} runs everywhere now. Rolling back brings ${versionLabel(rollbackTo)} back (and restores the database if database.restorePolicy says so);`,
      'keeping leaves the new version running as it is, nothing is undone.',
      '',
      `Answer within ${timeoutMinutes} min; without an answer the release is ${onTimeout === 'keep' ? 'kept' : 'rolled back'} (rollbackApproval.onTimeout).`,
      '',
      ...answering(deployment, 'Roll back:', 'Keep the new version:'),
    ),
  };
}

/** How to answer an approval request (the command for each answer, the credentials it needs), then the details. */
function answering(deployment: Deployment, approve: string, reject: string): string[] {
  return [
    approve,
    `  npx deploy-runbook approve --execution ${deployment.executionId} --by <name>`,
    '',
    reject,
    `  npx deploy-runbook approve --execution ${deployment.executionId} --reject --by <name>`,
    '',
    "Answering needs AWS credentials allowed states:GetActivityTask, states:SendTaskSuccess and states:SendTaskFailure on the stack's RestoreApprovalActivityArn output.",
    '',
    ...details(deployment),
  ];
}

/** A lock that could not be released is not fatal, but the next deployment waits for its lease to expire: say so. */
function lockWarning(target: string, lockError: TaskError | null): string | null {
  if (!lockError) return null;
  return `\nWarning: the deployment lock on ${target} could not be released (${describeError(lockError)}); the next deployment waits until its lease expires.`;
}

function what(deployment: Deployment): string {
  if (deployment.action === 'rollback') return deployment.watch ? 'post-release watch rollback' : 'alarm rollback';
  if (deployment.action === 'drill') return 'restore drill';
  return `deploy of ${versionLabel(deployment)}`;
}

function details(deployment: Deployment): string[] {
  return [
    `${REQUESTED_BY_LABEL}: ${deployment.requestedBy ?? 'nobody named'}${deployment.reason ? ` (${deployment.reason})` : ''}`,
    `Started by: ${startedBy(deployment.executionId)}`,
    ...(deployment.alarm ? [`Alarm: ${deployment.alarm.name}${deployment.alarm.reason ? `: ${deployment.alarm.reason}` : ''}`] : []),
    ...(deployment.watch ? [`Watch checkpoint ${deployment.watch.checkpoint} (${deployment.watch.at}) failed: ${deployment.watch.reason}`] : []),
    `Deployment: ${deployment.id}`,
    `Execution: ${deployment.executionId}`,
  ];
}

function lines(...parts: (string | null)[]): string {
  return parts.filter((part) => part !== null).join('\n');
}
