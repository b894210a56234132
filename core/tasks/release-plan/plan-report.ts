import type { ArtifactStore } from '../../ports/artifact-store';
import type { Clock } from '../../ports/clock';
import type { RunbookCatalog } from '../../ports/runbook-catalog';
import { deploymentIdFor } from '../../deployment-id';
import type { Execution } from '../../model';
import type { ChildExecution, PlanProgress, Release } from '../../release-plan';

/** Where RecordPlan wrote the plan's report. */
export interface PlanReportPaths {
  readonly json: string;
  readonly markdown: string;
}

/** A child execution in the plan's report, with the evidence report its runbook wrote for it. */
interface ChildEvidence {
  readonly execution: string | null;
  readonly name: string;
  readonly ended: string | null;
  readonly report: string | null;
}

/** `reports/plans/<plan>/<release id>.json`: the plan's evidence, linking each stage's own reports. */
export interface PlanReport {
  readonly schemaVersion: 1;
  readonly plan: string;
  readonly releaseId: string;
  readonly execution: Execution;
  readonly requestedBy: string | null;
  readonly reason: string | null;
  readonly outcome: string;
  readonly cause: string | null;
  readonly failure: PlanProgress['failure'];
  readonly stages: readonly {
    readonly name: string;
    readonly target: string;
    readonly version: string;
    readonly status: string;
    readonly deployment: ChildEvidence | null;
    readonly gates: PlanProgress['stages'][number]['gates'];
    readonly rollback: ChildEvidence | null;
  }[];
  readonly recordedAt: string;
}

/** Writes the plan's report (JSON and Markdown) to the plan's store; each stage's report stays in its runbook's. */
export async function planReport(
  release: Release,
  progress: PlanProgress,
  execution: Execution,
  deps: { readonly store: ArtifactStore; readonly clock: Clock; readonly runbooks: RunbookCatalog },
): Promise<PlanReportPaths> {
  const evidence = async (target: string, child: ChildExecution | null, deploymentId: string | null): Promise<ChildEvidence | null> => {
    if (!child) return null;
    const id = deploymentId ?? (child.executionArn ? deploymentIdFor(child.name, child.executionArn) : null);
    return { execution: child.executionArn, name: child.name, ended: child.ended, report: id ? await deps.runbooks.reportLocation(target, id) : null };
  };
  const report: PlanReport = {
    schemaVersion: 1,
    plan: release.name,
    releaseId: release.id,
    execution,
    requestedBy: release.requestedBy,
    reason: release.reason,
    outcome: progress.next,
    cause: progress.cause,
    failure: progress.failure,
    stages: await Promise.all(
      progress.stages.map(async (stage) => ({
        name: stage.name,
        target: stage.target,
        version: stage.version,
        status: stage.status,
        deployment: await evidence(stage.target, stage.deployment, stage.deploymentId),
        gates: stage.gates,
        rollback: await evidence(stage.target, stage.rollback, null),
      })),
    ),
    recordedAt: deps.clock.now().toISOString(),
  };
  const base = `reports/plans/${release.name}/${release.id}`;
  await deps.store.put(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`, { contentType: 'application/json' });
  await deps.store.put(`${base}.md`, planMarkdown(report), { contentType: 'text/markdown' });
  return { json: deps.store.locate(`${base}.json`), markdown: deps.store.locate(`${base}.md`) };
}

/** Text from the plan or a child's cause, inside a table cell: no pipe or line break can break the table. */
function cell(text: string): string {
  return `\`${text.replace(/[`|\r\n]/g, ' ')}\``;
}

function childCell(child: ChildEvidence | null): string {
  if (!child) return '—';
  return `${cell(child.name)} ${child.ended ?? 'running'}${child.report ? ` ([report](${child.report}))` : ''}`;
}

export function planMarkdown(report: PlanReport): string {
  const lines = [
    `# Release plan ${report.plan}: ${report.outcome}`,
    '',
    `- Execution: ${cell(report.execution.id)}`,
    `- Requested by (as stated in the input): ${report.requestedBy ? cell(report.requestedBy) : 'not given'}`,
    `- Reason: ${report.reason ? cell(report.reason) : 'not given'}`,
    `- Outcome: ${report.cause ? cell(report.cause) : report.outcome}`,
    '',
    '| # | stage | target | version | status | deployment | gates | rollback |',
    '|---|---|---|---|---|---|---|---|',
    ...report.stages.map((stage, index) => {
      const gates = stage.gates.map((gate) => `${gate.passed ? '✔' : '✖'} ${gate.kind}: ${cell(gate.detail)}`).join('<br>') || '—';
      return `| ${index + 1} | ${cell(stage.name)} | ${cell(stage.target)} | ${cell(stage.version)} | ${stage.status} | ${childCell(stage.deployment)} | ${gates} | ${childCell(stage.rollback)} |`;
    }),
    '',
  ];
  return `${lines.join('\n')}\n`;
}
