import { buildEvidenceReport, reportKeys, type ReportSlots, type StateTiming, writeCharts } from '../../core/tasks/ledger/evidence-report';
import type { ArtifactStore } from '../../core/ports/artifact-store';
import { lastProvenRestorable } from '../../core/tasks/ledger/drill-record';
import { readLedger } from '../../core/tasks/ledger/release-ledger';
import { loadDefinition } from '../../statemachines/definition';
import { type RehearsalVerification, verificationLines } from './verification';

/** What the rehearsal adds to the evidence report the ledger wrote. */
export interface RehearsalEvidence {
  readonly scenario: string;
  readonly verification: RehearsalVerification;
}

/** Paths of the two renderings, for people. */
export interface ReportPaths {
  readonly json: string;
  readonly markdown: string;
}

/**
 * Rewrites `reports/<target>/<deploymentId>.json|md` (and the metrics' charts) from the slots the ledger
 * recorded them from, with every state's duration and the path through the runbook (which no Task can know)
 * and the rehearsal's own checks. The ledger's report and this one are built by the same function, so they
 * only differ by what is added.
 */
export async function rewriteEvidenceReport(
  store: ArtifactStore,
  slots: ReportSlots,
  states: readonly StateTiming[],
  rehearsal: RehearsalEvidence,
  now: Date,
): Promise<ReportPaths> {
  const keys = reportKeys(slots.config.name, slots.deployment.id);
  const restorable = slots.config.database ? lastProvenRestorable((await readLedger(store, slots.config.name)).document) : undefined;
  const { json, markdown, charts } = buildEvidenceReport(slots, now, { states, definition: loadDefinition(), restorable });
  const section = [
    `## Rehearsal: ${rehearsal.scenario}`,
    '',
    `Checked on this machine after the execution: ${rehearsal.verification.ok ? 'everything holds' : 'SOMETHING DOES NOT HOLD'}.`,
    '',
    ...verificationLines(rehearsal.verification).map((line) => `- ${line.replace(/\r?\n/g, ' ')}`),
    '',
  ];
  await writeCharts(store, charts);
  await store.put(keys.json, `${JSON.stringify({ ...json, rehearsal }, null, 2)}\n`, { contentType: 'application/json' });
  await store.put(keys.markdown, `${markdown}\n${section.join('\n')}`, { contentType: 'text/markdown; charset=utf-8' });
  return { json: store.locate(keys.json), markdown: store.locate(keys.markdown) };
}
