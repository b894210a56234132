import { versionLabel } from '../../causes';
import { InvalidInputError } from '../../errors';
import type { ArtifactStore } from '../../ports/artifact-store';
import type { Clock } from '../../ports/clock';
import type { ReleaseRecord, WatchCheckpoint, WatchStatus } from '../../model';
import { lockKey, parseLockRecord } from '../deployment-lock/deployment-lock';
import { type LedgerDocument, ledgerKey, MAX_CHECKPOINTS, readLedger, updateLedger, withEntry } from './release-ledger';
import { type LedgerSlots, requireSlot } from './slots';

/**
 * The post-release watch (analysis.watch): a schedule starts an execution every `everyMinutes`; each measures the
 * latest release once. CheckWatch decides whether there is anything to watch, without taking the lock: a release
 * that is current, not rolled back, the latest deployment, inside its watch, and no deployment holding the target.
 * The watch of a release ends when its window closes or the next deployment starts.
 */
export async function checkWatch(slots: LedgerSlots, deps: { store: ArtifactStore; clock: Clock }): Promise<WatchStatus> {
  const { config } = slots;
  const watch = config.analysis?.watch;
  if (!watch) throw new InvalidInputError(`check-watch needs config.analysis.watch, but ${config.name} has no post-release watch configured`);
  const now = deps.clock.now();
  const { document } = await readLedger(deps.store, config.name);
  const current = latestRelease(document, config.name);
  if ('decision' in current) return current;
  const label = versionLabel(current);
  const untilHours = watch.untilHours ?? config.rollbackWindowHours;
  const until = new Date(Date.parse(current.finishedAt) + untilHours * 3_600_000);
  if (now.getTime() > until.getTime()) {
    return ended('window-closed', `The watch of release ${label} of ${config.name} ended at ${until.toISOString()}, ${untilHours} h after the release.`, current, until);
  }
  const holder = await lockHolder(deps.store, config.name, now);
  if (holder) return ended('deployment-running', `${holder}: the watch of ${label} ends, the next deployment decides.`, current, until);

  const last = (document.checkpoints ?? []).filter((checkpoint) => checkpoint.releaseId === current.deploymentId).at(-1);
  const checkpoint = (last?.checkpoint ?? 0) + 1;
  return {
    decision: 'measure',
    message: `Checkpoint ${checkpoint} of release ${label} of ${config.name}, watched until ${until.toISOString()}.`,
    release: current,
    checkpoint,
    records: last?.metrics ?? [],
    until: until.toISOString(),
  };
}

/**
 * CheckAnalysis, for a release plan's analysis gate: the release to measure once is the latest, current, not rolled
 * back, of the plan stage's version when a plan asks, and no deployment holds the target. Anything else is named in
 * `message` and the gate fails closed. The measurement starts afresh (checkpoint 1, no records), whatever the watch did.
 */
export async function checkAnalysis(slots: LedgerSlots, deps: { store: ArtifactStore; clock: Clock }): Promise<WatchStatus> {
  const { config, deployment } = slots;
  const { document } = await readLedger(deps.store, config.name);
  const current = latestRelease(document, config.name);
  if ('decision' in current) return current;
  const label = versionLabel(current);
  const plan = deployment.plan;
  if (plan && current.version !== plan.version) {
    return ended('superseded', `The current release of ${config.name} is ${label}, not ${plan.version} that stage ${plan.stage} of plan ${plan.name} deployed: nothing measured.`, current);
  }
  const holder = await lockHolder(deps.store, config.name, deps.clock.now());
  if (holder) return ended('deployment-running', `${holder}: release ${label} is not measured while another execution changes the target.`, current);
  return { decision: 'measure', message: `Analysis of release ${label} of ${config.name} against the baselines it kept.`, release: current, checkpoint: 1, records: [], until: null };
}

function ended(decision: Exclude<WatchStatus['decision'], 'measure'>, message: string, release: ReleaseRecord | null, until: Date | null = null): WatchStatus {
  return { decision, message, release, checkpoint: 1, records: [], until: until?.toISOString() ?? null };
}

/** The ledger's current release when it is the one to measure (recorded, not rolled back, not replaced by a later deployment); otherwise why not. */
function latestRelease(document: LedgerDocument, target: string): ReleaseRecord | WatchStatus {
  const current = document.current;
  if (!current) return ended('no-release', `No release of ${target} is recorded in ${ledgerKey(target)}: nothing to watch.`, null);
  const label = versionLabel(current);
  if (current.rolledBack) return ended('rolled-back', `Release ${label} of ${target} was rolled back at ${current.rolledBack.at}: the watch is over.`, current);
  const latest = document.releases[0];
  if (latest && latest.deploymentId !== current.deploymentId) {
    const how = latest.rolledBack ? `was rolled back at ${latest.rolledBack.at}` : 'replaced it';
    return ended('superseded', `A later deployment of ${target} (${versionLabel(latest)}) ${how}: ${label} is not watched any more.`, current);
  }
  return current;
}

/** Who holds the target's lock now, in words, or null when nobody does (no lock, released, or an expired lease). */
async function lockHolder(store: ArtifactStore, target: string, now: Date): Promise<string | null> {
  const key = lockKey(target);
  const object = await store.get(key);
  if (!object) return null;
  const lock = parseLockRecord(key, object.body);
  if (lock.state === 'stuck') return `${target} is locked for a person since a rollback by ${lock.owner} failed`;
  if (lock.state === 'held' && Date.parse(lock.expiresAt) > now.getTime()) {
    return `Execution ${lock.owner} holds the lock on ${target} (${lock.action === 'rollback' ? 'a rollback' : `deploying ${lock.version ?? 'an unnamed version'}`})`;
  }
  return null;
}

/** What RecordWatchCheckpoint wrote. */
export interface CheckpointRecorded {
  readonly ledgerKey: string;
  readonly checkpoint: number;
  readonly decision: WatchCheckpoint['decision'];
}

/** RecordWatchCheckpoint: keeps the checkpoint in the ledger (the last MAX_CHECKPOINTS); a failed one is also a history entry. */
export async function recordWatchCheckpoint(slots: LedgerSlots, deps: { store: ArtifactStore; clock: Clock }): Promise<CheckpointRecorded> {
  const { patch: _patch, ...checkpoint } = requireSlot(slots, 'checkpoint', 'record-checkpoint');
  const target = slots.config.name;
  const same = (other: WatchCheckpoint) => other.releaseId === checkpoint.releaseId && other.checkpoint === checkpoint.checkpoint && other.execution === checkpoint.execution;
  await updateLedger(deps.store, target, (document) => {
    const kept = (document.checkpoints ?? []).filter((other) => !same(other));
    const next = { ...document, checkpoints: [...kept, checkpoint].slice(-MAX_CHECKPOINTS) };
    if (checkpoint.decision === 'passed') return next;
    return withEntry(next, {
      at: checkpoint.at,
      kind: 'watch-failed',
      detail: `${checkpoint.execution}: watch checkpoint ${checkpoint.checkpoint} of ${versionLabel(checkpoint)} failed: ${checkpoint.reason ?? 'no reason recorded'}`,
    });
  });
  return { ledgerKey: ledgerKey(target), checkpoint: checkpoint.checkpoint, decision: checkpoint.decision };
}
