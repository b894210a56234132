import { describeError, sentence } from '../../causes';
import type { DrillRecord, Outcome } from '../../model';
import { writeEvidenceReport } from './evidence-report';
import type { LedgerDeps } from './record-outcome';
import { type LedgerDocument, ledgerKey, MAX_DRILLS, updateLedger, withEntry } from './release-ledger';
import { type LedgerSlots, requireSlot } from './slots';

/**
 * RecordDrill: the restore drill's outcome goes into the ledger (`drills`, newest first), passed or failed, once its
 * scratch copy is dropped. A `drill` execution ends here when it passed, so its evidence report is written here too;
 * a deploy's report is written when the deploy ends. The Outcome's result is `succeeded` for a passed drill.
 */
export async function recordDrill(slots: LedgerSlots, deps: LedgerDeps): Promise<Outcome> {
  const snapshot = requireSlot(slots, 'snapshot', 'record-drill');
  const { deployment, execution, config } = slots;
  const now = deps.clock.now();
  const check = slots.drillCheck ?? null;
  const passed = check?.passed === true;
  const record: DrillRecord = {
    deploymentId: deployment.id,
    executionId: execution.id,
    action: deployment.action === 'drill' ? 'drill' : 'deploy',
    snapshotId: snapshot.id,
    backupAt: snapshot.completedAt,
    at: now.toISOString(),
    passed,
    summary: check?.summary ?? `the restore did not get as far as the checks: ${describeError(slots.error)}`,
    scratch: slots.drill?.scratch ?? null,
    discarded: slots.drill?.phase === 'discarded',
  };
  const cause = drillCause(config.name, record);
  const result: Outcome['result'] = passed ? 'succeeded' : 'aborted';
  // A drill that ends here has its report now; one that failed is reported by RecordAbort, a deploy's when it ends.
  const reportKey = passed && deployment.action === 'drill' ? await writeEvidenceReport(deps.store, { ...slots, outcome: { result, cause, reportKey: null, ledgerKey: null } }, now, { restorable: record }) : null;
  await updateLedger(deps.store, config.name, (doc) =>
    withEntry(
      { ...doc, drills: [record, ...(doc.drills ?? []).filter((drill) => drill.executionId !== record.executionId)].slice(0, MAX_DRILLS) },
      { at: record.at, kind: passed ? 'drill-passed' : 'drill-failed', detail: `${execution.name}: restore drill of ${snapshot.id} ${passed ? 'passed' : 'failed'}` },
    ),
  );
  return { result, cause, reportKey, ledgerKey: ledgerKey(config.name) };
}

/** What the outcome and the report say of a drill. */
export function drillCause(target: string, drill: DrillRecord): string {
  const copy = drill.scratch ? ` into ${drill.scratch}` : '';
  const dropped = drill.discarded ? ' The scratch copy was dropped.' : drill.scratch ? ` The scratch copy ${drill.scratch} was NOT dropped.` : '';
  return drill.passed
    ? `${sentence(`Restore drill of ${target} passed: backup ${drill.snapshotId} was restored${copy}, ${drill.summary}`)}${dropped}`
    : `${sentence(`Restore drill of ${target} FAILED for backup ${drill.snapshotId}: ${drill.summary}`)}${dropped}`;
}

/** The newest passed drill in a ledger: when a backup was last proven restorable (null: never). */
export function lastProvenRestorable(document: LedgerDocument): DrillRecord | null {
  return document.drills?.find((drill) => drill.passed) ?? null;
}
