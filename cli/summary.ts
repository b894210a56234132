import { appendFileSync } from 'node:fs';
import { markdownVerdictTable, metricVerdict } from '../core/metric-evidence';
import { markdownCode } from '../core/untrusted-text';
import { markdownSqlCheckTable } from '../core/sql-check-evidence';
import { loadDefinition } from '../statemachines/definition';
import { FLOWCHART_LEGEND, mermaidBlock, runbookFlowchart } from '../core/runbook-flowchart';
import { formatDuration } from './duration';
import type { RunResult } from './run-result';

const HEADINGS: Record<RunResult['outcome'], string> = {
  succeeded: '✅ succeeded',
  'rolled-back': '↩️ rolled back',
  failed: '❌ failed',
  running: '⏳ running',
  started: '▶️ started',
};

/** The Markdown a GitHub Actions job shows on its summary page. */
export function stepSummary(result: RunResult): string {
  const facts: [string, string][] = [['Outcome', `**${HEADINGS[result.outcome]}**`]];
  if (result.error && result.outcome !== 'succeeded') facts.push(['Error', code(result.error)]);
  if (result.cause) facts.push(['Cause', code(result.cause)]);
  if (result.outcome !== 'started') facts.push(['Duration', formatDuration(result.durationMs)]);
  if (result.snapshotId) facts.push(['Snapshot', code(result.snapshotId)]);
  if (result.alarms) facts.push(['Alarms', alarms(result.alarms)]);
  if (result.report) facts.push(['Report', code(result.report)]);
  if (result.executionArn) facts.push(['Execution', executionLink(result.executionArn)]);

  const lines = [
    `### deploy-runbook: ${result.version ? code(result.version) : 'deployment'} ${HEADINGS[result.outcome]}`,
    '',
    '| | |',
    '|---|---|',
    ...facts.map(([name, value]) => `| ${name} | ${value} |`),
  ];
  if (result.steps.length > 0) {
    lines.push('', '| Step | Result | Duration |', '|---|---|---|');
    for (const step of result.steps) {
      const name = `${step.rollback ? '↩ ' : ''}${step.name}${step.visits > 1 ? ` ×${step.visits}` : ''}`;
      const icon = { running: '⏳', succeeded: '✔', failed: `✖${step.error ? ` ${code(step.error)}` : ''}` }[step.status];
      // State names come from the definition, not from the input.
      lines.push(`| ${name} | ${icon} | ${formatDuration((step.endedAt ?? step.startedAt) - step.startedAt)} |`);
    }
  }
  if (result.dataChecks?.length) lines.push('', '#### SQL checks', '', ...markdownSqlCheckTable(result.dataChecks));
  if (result.analysis?.length) lines.push('', '#### Analysis', '', ...markdownVerdictTable(result.analysis.map(metricVerdict)));
  // A running execution's last state is not over: only a finished one has a path to colour.
  if (result.path?.length && ENDED.has(result.outcome)) {
    lines.push('', '#### Path through the runbook', '', FLOWCHART_LEGEND, '', mermaidBlock(runbookFlowchart(loadDefinition(), result.path)));
  }
  return `${lines.join('\n')}\n\n`;
}

const ENDED = new Set<RunResult['outcome']>(['succeeded', 'rolled-back', 'failed']);

/** Appends to the file GitHub Actions names in GITHUB_STEP_SUMMARY. */
export function appendStepSummary(path: string, markdown: string): void {
  appendFileSync(path, markdown, 'utf8');
}

function alarms(facts: NonNullable<RunResult['alarms']>): string {
  const parts = [
    facts.newlyFiring.length > 0 ? `newly firing: ${facts.newlyFiring.map(code).join(', ')}` : '',
    facts.firingAtBaseline.length > 0 ? `firing before the deploy: ${facts.firingAtBaseline.map(code).join(', ')}` : '',
  ].filter(Boolean);
  return parts.join('; ') || 'none firing';
}

/** A link to the execution in the Step Functions console, in the ARN's region. */
function executionLink(arn: string): string {
  const region = arn.split(':')[3];
  if (!region) return code(arn);
  return `[${code(arn.split(':').at(-1) ?? arn)}](https://${encodeURIComponent(region)}.console.aws.amazon.com/states/home?region=${encodeURIComponent(region)}#/v2/executions/details/${encodeURIComponent(arn)})`;
}

/** Every value the runbook did not write itself is shown as inline code: GitHub renders no markup, link or HTML in it. */
const code = markdownCode;
