import type { ArtifactStore } from '../../ports/artifact-store';
import type { Clock } from '../../ports/clock';
import type { MetricsSink } from '../../ports/metrics';
import { deploymentMetrics } from './deployment-metrics';
import type { DeployedVersion, Outcome, ReleaseRecord } from '../../model';
import { abortCause, describeError, keptCause, releaseCause, rollbackCause, rollbackFailureCause, rollbackVersions, versionLabel } from '../../causes';
import { lastProvenRestorable } from './drill-record';
import { writeEvidenceReport } from './evidence-report';
import { type PathSource, pathExtras } from './execution-path';
import { type LedgerDocument, ledgerKey, readLedger, updateLedger, withEntry, withRelease } from './release-ledger';
import { type LedgerSlots, MissingSlotError, requireSlot } from './slots';

/**
 * The four ways an execution ends, each recorded the same way: the evidence report first, then the
 * ledger, so that a ledger written means a report exists. The Outcome's `cause` is what the final
 * state, the notification and CI show.
 */

export interface LedgerDeps {
  readonly store: ArtifactStore;
  readonly clock: Clock;
  /** Receives each ending's outcome, duration and phase durations. */
  readonly metrics: MetricsSink;
  /**
   * Where the report's path through the runbook comes from: on AWS the execution's history. The rehearsal
   * passes none: it rewrites the report afterwards with the path its engine saw (local/rehearsal/report.ts).
   */
  readonly path?: PathSource;
}

/** RecordRelease: the new version becomes `current`, which an alarm within the window can roll back. */
export async function recordRelease(slots: LedgerSlots, deps: LedgerDeps): Promise<Outcome> {
  const now = deps.clock.now();
  const record = releaseRecord(slots, 'record-release', now);
  return finish(slots, deps, now, 'succeeded', releaseCause(slots), (doc) =>
    withEntry(withRelease({ ...doc, current: record }, record), {
      at: now.toISOString(),
      kind: 'released',
      detail: `${slots.execution.name}: ${versionLabel(record)} released, replacing ${versionLabel(record.previous)}`,
    }),
  );
}

/**
 * RecordKept: a person (or rollbackApproval.onTimeout) kept a release that failed its checks. A deploy's release
 * becomes `current` as a released one would, so a later alarm inside the window can still roll it back (asking
 * again); an alarm or watch rollback leaves `current` as it is. The history says who decided.
 */
export async function recordKept(slots: LedgerSlots, deps: LedgerDeps): Promise<Outcome> {
  const now = deps.clock.now();
  const { deployment, execution } = slots;
  const cause = keptCause(slots);
  const record = deployment.action === 'deploy' ? releaseRecord(slots, 'record-kept', now) : null;
  const kept = record ?? slots.window?.release ?? null;
  return finish(slots, deps, now, 'kept', cause, (doc) =>
    withEntry(record ? withRelease({ ...doc, current: record }, record) : doc, {
      at: now.toISOString(),
      kind: 'kept',
      detail: `${execution.name}: ${kept ? versionLabel(kept) : 'the release'} kept after ${slots.error?.Error ?? 'an unrecorded error'} instead of rolling back`,
    }),
  );
}

/** The ledger's record of the release this execution deployed. */
function releaseRecord(slots: LedgerSlots, operation: string, now: Date): ReleaseRecord {
  const release = requireSlot(slots, 'release', operation);
  const preflight = requireSlot(slots, 'preflight', operation);
  const { deployment, execution } = slots;
  return {
    deploymentId: deployment.id,
    executionId: execution.id,
    version: deployment.version ?? release.version,
    image: deployment.image ?? release.image,
    ref: release.ref,
    previous: preflight.running,
    snapshot: slots.snapshot,
    migrationsRan: slots.migrations?.started ?? false,
    finishedAt: now.toISOString(),
    rolledBack: null,
    // What the post-release watch compares with: the numbers before this release.
    baselines: preflight.baseline.metrics,
    // What the next deployment's start notification expects (core/expected-duration.ts).
    durationSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(execution.startedAt)) / 1000)),
  };
}

/**
 * RecordRollback. A failed deploy goes into `releases` marked rolled back (`current` stays what ran before);
 * an alarm rollback marks the current release rolled back and makes the version it went back to `current`.
 */
export async function recordRollback(slots: LedgerSlots, deps: LedgerDeps): Promise<Outcome> {
  const { deployment, execution } = slots;
  const now = deps.clock.now();
  const rollbackTo = slots.rollbackTo ?? slots.preflight?.running;
  if (!rollbackTo) throw new MissingSlotError('record-rollback needs $.rollbackTo or $.preflight.running, but both are null');
  const rolledBack = { at: now.toISOString(), executionId: execution.id, reason: describeError(slots.error) };
  const undoneId = deployment.action === 'rollback' ? requireSlot(slots, 'window', 'record-rollback').release?.deploymentId : deployment.id;
  if (!undoneId) throw new MissingSlotError('record-rollback of an alarm rollback needs $.window.release, but it is null');
  const { from, to } = rollbackVersions(slots);

  return finish(slots, deps, now, 'rolled-back', rollbackCause(slots), (doc) => {
    const undone = doc.releases.find((r) => r.deploymentId === undoneId) ?? (deployment.action === 'rollback' ? slots.window?.release : null) ?? failedAttempt(slots, rollbackTo, now);
    const marked: ReleaseRecord = { ...undone, rolledBack: undone.rolledBack ?? rolledBack };
    const withMarked = withRelease(doc, marked);
    const current = doc.current?.deploymentId === marked.deploymentId ? reinstated(doc, marked, rollbackTo, slots, now) : doc.current;
    return withEntry(
      { ...withMarked, current },
      { at: now.toISOString(), kind: 'rolled-back', detail: `${execution.name}: ${from} rolled back to ${to} after ${slots.error?.Error ?? 'an unrecorded error'}` },
    );
  });
}

/** RecordAbort: nothing changed on the target; the history says why. */
export async function recordAbort(slots: LedgerSlots, deps: LedgerDeps): Promise<Outcome> {
  const now = deps.clock.now();
  const { deployment, execution } = slots;
  const what = deployment.action === 'rollback' ? 'rollback' : `deploy of ${versionLabel(deployment)}`;
  return finish(slots, deps, now, 'aborted', abortCause(slots), (doc) =>
    withEntry(doc, { at: now.toISOString(), kind: 'aborted', detail: `${execution.name}: ${what} aborted after ${slots.error?.Error ?? 'an unrecorded error'}` }),
  );
}

/** RecordRollbackFailure: the target's state is unknown; the lock stays with a person. */
export async function recordRollbackFailure(slots: LedgerSlots, deps: LedgerDeps): Promise<Outcome> {
  const now = deps.clock.now();
  const { from, to } = rollbackVersions(slots);
  return finish(slots, deps, now, 'rollback-failed', rollbackFailureCause(slots), (doc) =>
    withEntry(doc, {
      at: now.toISOString(),
      kind: 'rollback-failed',
      detail: `${slots.execution.name}: rollback from ${from} to ${to} failed with ${slots.rollbackError?.Error ?? 'an unrecorded error'}; lock kept for a person`,
    }),
  );
}

async function finish(
  slots: LedgerSlots,
  deps: LedgerDeps,
  now: Date,
  result: Outcome['result'],
  cause: string,
  change: (document: LedgerDocument) => LedgerDocument,
): Promise<Outcome> {
  const target = slots.config.name;
  const extras = deps.path ? await pathExtras(deps.path, slots.execution.id, now) : {};
  // Read once: the report says when a backup was last proven restorable, and the update starts from the same read.
  const read = await readLedger(deps.store, target);
  const restorable = slots.config.database ? lastProvenRestorable(read.document) : undefined;
  const reportKey = await writeEvidenceReport(deps.store, { ...slots, outcome: { result, cause, reportKey: null, ledgerKey: null } }, now, { ...extras, restorable });
  await updateLedger(deps.store, target, change, read);
  // Counted once the ledger holds the outcome: an ending that could not be recorded is not counted as one.
  deps.metrics.record(deploymentMetrics(slots, result, now));
  return { result, cause, reportKey, ledgerKey: ledgerKey(target) };
}

/** The record of a deploy that never became `current`. */
function failedAttempt(slots: LedgerSlots, previous: DeployedVersion, now: Date): ReleaseRecord {
  const { deployment, execution, release } = slots;
  return {
    deploymentId: deployment.id,
    executionId: execution.id,
    version: deployment.version,
    image: deployment.image ?? release?.image ?? null,
    ref: release?.ref ?? '(deploy did not start)',
    previous,
    snapshot: slots.snapshot,
    migrationsRan: slots.migrations?.started ?? false,
    finishedAt: now.toISOString(),
    rolledBack: null,
  };
}

/**
 * What runs after a rollback of `current`: the newest earlier release of that version, or a record made
 * from `rollbackTo` when the runbook never released it (it ran before the runbook was used). A made-up
 * record is not added to `releases`, so the rolled-back release stays the latest and is not undone twice.
 */
function reinstated(doc: LedgerDocument, undone: ReleaseRecord, rollbackTo: DeployedVersion, slots: LedgerSlots, now: Date): ReleaseRecord {
  const earlier = doc.releases.find((r) => r.deploymentId !== undone.deploymentId && r.ref === rollbackTo.ref && r.rolledBack === null);
  return (
    earlier ?? {
      deploymentId: slots.deployment.id,
      executionId: slots.execution.id,
      version: rollbackTo.version,
      image: rollbackTo.image,
      ref: rollbackTo.ref,
      previous: rollbackTo,
      snapshot: null,
      migrationsRan: false,
      finishedAt: now.toISOString(),
      rolledBack: null,
    }
  );
}
