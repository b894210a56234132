import { causeMessage, type EndedExecution, type TaskError } from './model';
import type { LedgerSlots } from './tasks/ledger/slots';

/** The sentences people read: in the final state's Cause, notifications and the evidence report. */

/** `v1.4.2`, or the reference when a version has no name. */
export function versionLabel(version: { version: string | null; ref?: string } | null | undefined): string {
  return version?.version ?? version?.ref ?? 'an unknown version';
}

/** `SmokeTestFailed: 1 of 5 checks failed: health`. */
export function describeError(error: TaskError | null): string {
  if (!error) return 'an unrecorded error';
  const message = causeMessage(error);
  return message ? `${error.Error}: ${message}` : error.Error;
}

/** Ends `text` with a full stop unless it already ends a sentence. */
export function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** `30 min`, `2 h`, `45 s`. */
export function formatDuration(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60) return `${Math.round(seconds / 60)} min`;
  return `${seconds} s`;
}

/** The version being replaced or undone, and the version it goes back to. */
export function rollbackVersions(slots: LedgerSlots): { from: string; to: string } {
  const from = slots.deployment.action === 'rollback' ? (slots.window?.release ?? slots.release) : slots.deployment;
  return { from: versionLabel(from ?? slots.release), to: versionLabel(slots.rollbackTo) };
}

/** `Released v1.4.2 (replacing v1.4.1); 5/5 smoke checks passed; no new alarms in 30 min`. */
export function releaseCause(slots: LedgerSlots): string {
  const { deployment, preflight, smoke, bake, config } = slots;
  const parts = [`Released ${versionLabel(deployment)} (replacing ${versionLabel(preflight?.running)})`];
  if (smoke) parts.push(`${smoke.results.filter((r) => r.passed).length}/${smoke.results.length} smoke checks passed`);
  if (bake) {
    parts.push(config.bake.durationSeconds > 0 ? `no new alarms in ${formatDuration(config.bake.durationSeconds)}` : 'no new alarms');
    if (bake.firingAtBaseline.length > 0) parts.push(`already in ALARM before the deploy: ${bake.firingAtBaseline.join(', ')}`);
  }
  return parts.join('; ');
}

/**
 * The RolledBack state's Cause: what was rolled back to what, why, and what happened to the database.
 * `Rolled back shop-api from v1.4.2 to v1.4.1 after SmokeTestFailed: …. Database restored from snapshot …`.
 */
export function rollbackCause(slots: LedgerSlots): string {
  const { from, to } = rollbackVersions(slots);
  const decided = rollbackApprovalDecision(slots);
  return `${sentence(`Rolled back ${slots.config.name} from ${from} to ${to} after ${describeError(slots.error)}`)} ${decided ? `${decided} ` : ''}${databaseDecision(slots)}`;
}

/**
 * Who decided about the automatic rollback, when rollbackApproval asked someone: `approved by lead (comment)`,
 * `rejected by lead`, or that nobody answered and rollbackApproval.onTimeout decided. Null when nobody was asked.
 */
export function rollbackApprovalDecision(slots: LedgerSlots): string | null {
  const { rollbackApproval: answer, rollbackApprovalError: unanswered } = slots;
  if (answer) {
    const who = `${answer.by ?? 'an operator'}${answer.comment ? ` (${answer.comment})` : ''}`;
    return answer.approved ? `The rollback was approved by ${who}.` : `The rollback was rejected by ${who}: the new version was kept.`;
  }
  if (unanswered) {
    const why = unanswered.Error === 'States.Timeout' ? 'Nobody answered the rollback approval in time' : `The rollback approval got no answer (${describeError(unanswered)})`;
    return `${why}: rollbackApproval.onTimeout decided.`;
  }
  return null;
}

/** `Kept v2 on shop-api after SmokeTestFailed: …, as rejected by lead …`: the release failed its checks and was not rolled back. */
export function keptCause(slots: LedgerSlots): string {
  const { deployment, config, release } = slots;
  const kept = deployment.action === 'rollback' ? `release ${versionLabel(release)}` : versionLabel(deployment);
  const decision = rollbackApprovalDecision(slots) ?? 'Nobody decided to roll it back.';
  return `${sentence(`Kept ${kept} on ${config.name} instead of rolling back after ${describeError(slots.error)}`)} ${decision} Nothing was rolled back; the database was not touched.`;
}

/** Why the database was or was not restored, following the ASL's RestoreDecision rules in order. */
export function databaseDecision(slots: LedgerSlots): string {
  const { config, restore, snapshot, approval, migrations, deployment } = slots;
  const database = config.database;
  if (!database) return 'No database is configured.';
  if (restore?.restored) {
    const kept = restore.failedCopy ? `; the failed database is kept as ${restore.failedCopy}` : '';
    return `Database restored from snapshot ${restore.snapshotId ?? snapshot?.id ?? 'unknown'}${kept}.`;
  }
  if (restore?.decision === 'not-approved') {
    const who = approval && !approval.approved && approval.by ? ` (rejected by ${approval.by}${approval.comment ? `: ${approval.comment}` : ''})` : '';
    return `Database not restored: the restore was not approved${who}.`;
  }
  if (restore?.decision === 'restoring') return `Database restore from snapshot ${restore.snapshotId ?? snapshot?.id ?? 'unknown'} did not finish (phase ${restore.phase ?? 'unknown'}).`;
  if (!snapshot) return 'Database not restored: no snapshot was taken.';
  if (deployment.action === 'rollback' && !database.restoreApproval.required) {
    return 'Database not restored: restoring hours after a release would discard every write since, so it needs restoreApproval.required (false here).';
  }
  if (database.restorePolicy === 'never') return 'Database not restored: restorePolicy is never.';
  if (database.restorePolicy === 'when-migrations-ran' && !migrations?.started) {
    return 'Database not restored: restorePolicy is when-migrations-ran and no migration ran.';
  }
  return 'Database not restored.';
}

/** `Aborted deploy of v1.4.2 to shop-api before anything changed: PreflightFailedError: …`. */
export function abortCause(slots: LedgerSlots): string {
  const { deployment, config, snapshot } = slots;
  const what =
    deployment.action === 'rollback' ? `the rollback of ${config.name}` : deployment.action === 'drill' ? `the restore drill of ${config.name}` : `deploy of ${versionLabel(deployment)} to ${config.name}`;
  const kept = snapshot ? ` Snapshot ${snapshot.id} (${snapshot.status}) is kept.` : '';
  return `${sentence(`Aborted ${what} before anything changed: ${describeError(slots.error)}`)}${kept}`;
}

/** The rollback failed: the target is in an unknown state and a person owns it now. */
export function rollbackFailureCause(slots: LedgerSlots): string {
  const { from, to } = rollbackVersions(slots);
  return (
    `Rollback of ${slots.config.name} from ${from} to ${to} failed: ${describeError(slots.rollbackError)} ` +
    `(it started after ${describeError(slots.error)}). The lock on ${slots.config.name} is kept, marked stuck, for a person: ` +
    'check the service and the database, then unlock it.'
  );
}

/** `TIMED_OUT`, or `FAILED (States.Runtime: …)` for an execution that ended outside the runbook's end states. */
export function endedHow(ended: EndedExecution): string {
  if (!ended.error) return ended.status;
  return `${ended.status} (${ended.error}${ended.cause ? `: ${ended.cause}` : ''})`;
}

/**
 * `requestedBy` is what the caller wrote in the input, so it is shown as a claim. Who started the execution
 * is the principal CloudTrail records for its StartExecution call: the execution context does not carry it.
 */
export const REQUESTED_BY_LABEL = 'Requested by (as the input says, not verified)';

/** Where the identity of whoever started an execution is recorded. */
export function startedBy(executionId: string): string {
  return `the principal CloudTrail records for StartExecution of ${executionId}`;
}
