import type { ArtifactStore } from '../../ports/artifact-store';
import type { Clock } from '../../ports/clock';
import type { DeployHandle, MigrationsState, ReleaseRecord, TaskError, WindowDecision } from '../../model';
import { versionLabel } from '../../causes';
import { ledgerKey, readLedger, updateLedger, withEntry } from './release-ledger';
import type { LedgerSlots } from './slots';

/**
 * CheckRollbackWindow, for an alarm-triggered (or requested) rollback: rolls back only the latest
 * release, only inside `rollbackWindowHours` after it finished, and only once. The lock serialises
 * these executions, so a second alarm finds the release already rolled back.
 */
export async function checkRollbackWindow(slots: LedgerSlots, deps: { store: ArtifactStore; clock: Clock }): Promise<WindowDecision> {
  const { config, deployment, execution } = slots;
  const now = deps.clock.now();
  const { document } = await readLedger(deps.store, config.name);
  const current = document.current;
  const watch = deployment.watch ?? null;
  const plan = deployment.plan ?? null;
  const trigger = deployment.alarm
    ? `alarm ${deployment.alarm.name}`
    : plan
      ? `release plan ${plan.name} (stage ${plan.stage})`
      : watch
      ? `the failed watch checkpoint ${watch.checkpoint} (${watch.metrics.join(', ')})`
      : `the rollback requested by ${deployment.requestedBy ?? execution.name}`;

  if (!current) {
    return decision('no-release', `No release of ${config.name} is recorded in ${ledgerKey(config.name)}: nothing to roll back for ${trigger}.`, null);
  }
  if (watch) {
    // The checkpoint measured one release: a rollback undoes that release only, never the one after it.
    const watched = document.releases.find((release) => release.deploymentId === watch.releaseId);
    if (watched?.rolledBack) {
      return decision('already-rolled-back', `Release ${versionLabel(watched)} of ${config.name} was already rolled back at ${watched.rolledBack.at}: nothing to do for ${trigger}.`, watched);
    }
    if (current.deploymentId !== watch.releaseId) {
      return decision(
        'superseded',
        `${versionLabel(current)} runs on ${config.name} now, not the release ${watched ? versionLabel(watched) : watch.releaseId} that ${trigger} measured: nothing to do.`,
        current,
      );
    }
  }
  if (plan && current.version !== plan.version) {
    // The plan undoes the release it made, never one made after it.
    return decision('superseded', `${versionLabel(current)} runs on ${config.name} now, not ${plan.version}, which ${trigger} released: nothing to do.`, current);
  }
  const latest = document.releases[0];
  if (current.rolledBack) {
    return decision(
      'already-rolled-back',
      `Release ${versionLabel(current)} of ${config.name} was already rolled back at ${current.rolledBack.at}: nothing to do for ${trigger}.`,
      current,
    );
  }
  if (latest?.rolledBack) {
    return decision(
      'already-rolled-back',
      `The latest deployment of ${config.name} (${versionLabel(latest)}) was rolled back at ${latest.rolledBack.at}; ` +
        `${versionLabel(current)} runs now and is not rolled back automatically: nothing to do for ${trigger}.`,
      current,
    );
  }

  const windowMs = config.rollbackWindowHours * 3_600_000;
  const ageMs = now.getTime() - Date.parse(current.finishedAt);
  // A plan rolls back what it released minutes ago, as part of its own failure: the window is for what comes later.
  if (!plan && (windowMs === 0 || ageMs > windowMs)) {
    const why = windowMs === 0 ? 'rollbackWindowHours is 0' : `it finished ${hoursAgo(ageMs)} ago, outside the ${config.rollbackWindowHours} h rollback window`;
    const message = `Release ${versionLabel(current)} of ${config.name} is not rolled back for ${trigger}: ${why}.`;
    await updateLedger(deps.store, config.name, (doc) =>
      withEntry(doc, { at: now.toISOString(), kind: 'alarm-outside-window', detail: `${execution.name}: ${message}` }),
    );
    return decision('outside-window', message, current);
  }

  return {
    decision: 'rollback',
    message: `Rolling back release ${versionLabel(current)} of ${config.name} to ${versionLabel(current.previous)} for ${trigger}.`,
    release: current,
    patch: {
      rollbackTo: current.previous,
      // Whether to restore it is the state machine's RestoreDecision to make (only with a person's approval).
      snapshot: current.snapshot,
      migrations: migrationsOf(current),
      error: triggerError(slots, current, now),
      release: handleOf(slots, current),
    },
  };
}

function decision(kind: Exclude<WindowDecision['decision'], 'rollback'>, message: string, release: ReleaseRecord | null): WindowDecision {
  return { decision: kind, message, release, patch: null };
}

function migrationsOf(release: ReleaseRecord): MigrationsState {
  return {
    started: release.migrationsRan,
    status: 'succeeded',
    ref: null,
    startedAt: null,
    finishedAt: null,
    detail: `as recorded for release ${release.deploymentId}`,
  };
}

/** The `$.error` an alarm rollback carries, as a failed deploy would: the RolledBack Cause quotes it. */
function triggerError(slots: LedgerSlots, release: ReleaseRecord, now: Date): TaskError {
  const { alarm, requestedBy, reason, watch, plan } = slots.deployment;
  if (plan) {
    return { Error: 'ReleasePlanRolledBack', Cause: `Release plan ${plan.name} rolled back stage ${plan.stage} (release ${versionLabel(release)}): ${reason ?? 'a later stage failed'}` };
  }
  if (watch) {
    const minutes = Math.max(0, Math.round((Date.parse(watch.at) - Date.parse(release.finishedAt)) / 60_000));
    return { Error: 'WatchCheckpointFailed', Cause: `Watch checkpoint ${watch.checkpoint} of release ${versionLabel(release)}, ${minutes} min after it: ${watch.reason}` };
  }
  if (!alarm) {
    return { Error: 'RollbackRequested', Cause: `Rollback of release ${versionLabel(release)} requested by ${requestedBy ?? 'an operator'}: ${reason ?? 'no reason given'}` };
  }
  const firedAt = alarm.time && !Number.isNaN(Date.parse(alarm.time)) ? Date.parse(alarm.time) : now.getTime();
  const minutes = Math.max(0, Math.round((firedAt - Date.parse(release.finishedAt)) / 60_000));
  return {
    Error: 'AlarmFired',
    Cause: `Alarm ${alarm.name} entered ALARM ${minutes} min after release ${versionLabel(release)}: ${alarm.reason ?? 'no reason given'}`,
  };
}

/** What RollbackApp undoes: the recorded release, as a deploy would have left it in `$.release`. */
function handleOf(slots: LedgerSlots, release: ReleaseRecord): DeployHandle {
  return {
    kind: slots.config.target.kind,
    ref: release.ref,
    version: release.version,
    image: release.image,
    deploymentId: null,
    startedAt: release.finishedAt,
  };
}

function hoursAgo(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 48 ? `${Math.round(hours / 24)} days` : `${hours.toFixed(1)} h`;
}
