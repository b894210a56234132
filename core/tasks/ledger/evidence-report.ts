import type { DataCheckReport } from '../data-checks/data-checks';
import type { ArtifactStore } from '../../ports/artifact-store';
import { causeMessage, type Deployment, type DrillRecord, type HostOutcome, type LogicalCopy, type Outcome, type PreflightCheck, type SmokeReport, type TaskError } from '../../model';
import { databaseDecision, formatDuration, REQUESTED_BY_LABEL, rollbackApprovalDecision, rollbackVersions, startedBy, versionLabel } from '../../causes';
import { metricChartSvg } from '../../metric-chart';
import { markdownVerdictTable, metricVerdict, type MetricVerdict } from '../../metric-evidence';
import type { Json } from '../../json';
import { FLOWCHART_LEGEND, mermaidBlock, runbookFlowchart } from '../../runbook-flowchart';
import { markdownSqlCheckTable, sqlCheckOutcomes } from '../../sql-check-evidence';
import type { LedgerSlots } from './slots';

/** How long one state took; the local rehearsal's CLI adds these. */
export interface StateTiming {
  readonly name: string;
  readonly status: string;
  readonly ms: number;
}

/** The slots a report is built from; `outcome` is set once the ledger decided it (RollbackUnrecorded sets only `cause`). */
export type ReportSlots = LedgerSlots & { readonly outcome?: (Partial<Outcome> & Pick<Outcome, 'cause'>) | null };

interface VersionRef {
  readonly version: string | null;
  readonly image: string | null;
  readonly ref: string | null;
}

/** A smoke check as the report shows it: never a body, a header or a captured value. */
interface SmokeCheckEvidence {
  readonly name: string;
  readonly passed: boolean;
  readonly status: number | null;
  readonly latencyMs: number | null;
  readonly attempts: number;
}

interface SmokeEvidence {
  readonly passed: boolean;
  readonly summary: string;
  readonly expectedVersion: string | null;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly results: readonly SmokeCheckEvidence[];
}

/** The SQL checks and the data fingerprint as the report shows them: names, values judged, reasons. */
interface DataEvidence {
  readonly checks: readonly { readonly phase: DataCheckReport['phase']; readonly passed: boolean; readonly summary: string; readonly results: DataCheckReport['results'] }[];
  readonly fingerprint: { readonly tables: number; readonly rows: number; readonly checksummed: readonly string[] } | null;
  readonly restoreComparison: { readonly identical: boolean; readonly differences: readonly string[] } | null;
}

/** `reports/<target>/<deploymentId>.json`: one per deployment, for auditors and post-mortems. */
export interface EvidenceReport {
  readonly schemaVersion: 1;
  readonly target: string;
  readonly deploymentId: string;
  readonly execution: { readonly id: string; readonly name: string; readonly startedAt: string };
  readonly action: Deployment['action'];
  readonly requestedBy: string | null;
  readonly reason: string | null;
  readonly alarm: { readonly name: string; readonly reason: string | null; readonly time: string | null } | null;
  /** The failed checkpoint of the post-release watch that started this rollback. */
  readonly watch?: { readonly checkpoint: number; readonly at: string; readonly metrics: readonly string[]; readonly reason: string } | null;
  readonly outcome: { readonly result: Outcome['result'] | null; readonly cause: string } | null;
  readonly versions: { readonly before: VersionRef | null; readonly after: VersionRef | null };
  readonly preflight: { readonly checkedAt: string; readonly checks: readonly PreflightCheck[] } | null;
  readonly backup: {
    readonly snapshotId: string;
    readonly snapshotArn: string | null;
    readonly kind: string;
    readonly source: string;
    readonly status: string;
    readonly encrypted: boolean | null;
    readonly sizeBytes: number | null;
    readonly location: string | null;
    readonly checksum: string | null;
    readonly verification: readonly string[];
    readonly manifestKey: string | null;
    readonly manifestLocation: string | null;
    /** RDS and Aurora with `database.logicalBackup`: the pg_dump beside the snapshot (the snapshot is what a rollback restores). */
    readonly logicalCopy: LogicalCopy | null;
  } | null;
  readonly migrations: {
    readonly configured: boolean;
    readonly started: boolean;
    readonly status: string | null;
    readonly ref: string | null;
    readonly detail: string | null;
  };
  readonly smoke: SmokeEvidence | null;
  readonly alarms: {
    readonly baseline: { readonly takenAt: string; readonly firing: readonly string[]; readonly watched: readonly string[] } | null;
    readonly bake: {
      readonly checks: number;
      readonly decision: string;
      readonly firingAtBaseline: readonly string[];
      readonly newlyFiring: readonly string[];
    } | null;
  };
  /** The analysis metrics as the bake last judged them, each with the key of its chart. */
  readonly analysis: { readonly reason: string | null; readonly metrics: readonly (MetricVerdict & { readonly chart: string })[] } | null;
  /** The decision a person was asked for before the automatic rollback (rollbackApproval.required); null when nobody was asked. */
  readonly rollbackApproval?: {
    readonly decision: 'approved' | 'rejected' | 'unanswered';
    readonly by: string | null;
    readonly comment: string | null;
    /** Why no answer came (States.Timeout, ApprovalMisdirected, a request that could not be sent). */
    readonly error: string | null;
    readonly summary: string;
  } | null;
  readonly rollback: { readonly to: VersionRef | null; readonly ref: string | null; readonly startedAt: string | null } | null;
  /** A target shifting traffic in steps: the planned steps (seconds null: the bake) and each weight given, in order. */
  /** A hosts target (ssm-hosts, hosts): each host the rollout and the rollback reached, with the end of its output. */
  readonly hosts?: {
    readonly deploy: readonly HostOutcome[] | null;
    readonly rollback: readonly HostOutcome[] | null;
  } | null;
  readonly traffic: {
    readonly steps: readonly { readonly percent: number; readonly seconds: number | null }[];
    readonly shifts: readonly { readonly percent: number; readonly at: string; readonly detail: string }[];
  } | null;
  readonly restore: {
    readonly summary: string;
    readonly decision: string | null;
    readonly restored: boolean;
    readonly snapshotId: string | null;
    readonly failedCopy: string | null;
    readonly approval: { readonly approved: boolean; readonly by: string | null; readonly comment: string | null } | null;
    readonly steps: readonly { readonly phase: string; readonly at: string; readonly detail: string }[];
  } | null;
  readonly verification: SmokeEvidence | null;
  /** The SQL checks of each phase that ran, and the fingerprint recorded before the backup (issue 11). */
  readonly data?: DataEvidence;
  /** This execution's restore drill (backup.testRestore, or a `drill` execution); null when none ran. */
  readonly restoreDrill?: {
    readonly passed: boolean;
    readonly summary: string;
    readonly scratch: string | null;
    readonly discarded: boolean;
    readonly steps: readonly { readonly phase: string; readonly at: string; readonly detail: string }[];
  } | null;
  /** With a database: the newest passed drill in the ledger (this one's included), null when none ever passed. */
  readonly lastProvenRestorable?: Pick<DrillRecord, 'at' | 'snapshotId' | 'backupAt' | 'deploymentId' | 'action'> | null;
  readonly errors: readonly { readonly during: 'deployment' | 'rollback'; readonly name: string; readonly message: string }[];
  readonly decisions: readonly string[];
  /** Timestamps the slots carry, in order. */
  readonly timeline: readonly { readonly at: string; readonly event: string }[];
  readonly durationMs: number;
  readonly states: readonly StateTiming[];
  readonly generatedAt: string;
}

/** Where the report of a deployment lives: `.json` and `.md` beside it, and each metric's chart beside them. */
export function reportKeys(target: string, deploymentId: string): { json: string; markdown: string; chart: (metric: string) => string } {
  const base = `reports/${target}/${deploymentId}`;
  return { json: `${base}.json`, markdown: `${base}.md`, chart: (metric) => `${base}.${metric.replace(/[^A-Za-z0-9_-]/g, '_')}.svg` };
}

/** An SVG chart of the report, and where it goes. */
export interface ReportChart {
  readonly key: string;
  readonly svg: string;
}

/** What only the caller knows: every state's duration, and the runbook to draw the path through. */
export interface ReportExtras {
  /** The states the execution entered (the rehearsal's engine events, or on AWS the execution's history). */
  readonly states?: readonly StateTiming[];
  /** The state machine definition: with `states`, the report draws the runbook with the path taken. */
  readonly definition?: Json;
  /** Said under 'Path through the runbook': why the chart is missing, or drawn only in part. */
  readonly pathNote?: string;
  /** The newest passed restore drill of the target, from its ledger (null: none ever passed; left out: not read). */
  readonly restorable?: DrillRecord | null;
}

/**
 * The evidence report of one deployment, from the execution state alone: a pure function, so the
 * ledger Tasks and the rehearsal's CLI (which adds per-state `states`) produce the same report.
 */
export function buildEvidenceReport(slots: ReportSlots, now: Date, extras: ReportExtras = {}): { json: EvidenceReport; markdown: string; charts: ReportChart[] } {
  const json = evidenceOf(slots, now, extras.states ?? [], extras.restorable);
  const records = slots.bake?.analysis ?? [];
  const charts = (json.analysis?.metrics ?? []).map((metric, index) => ({ key: metric.chart, svg: metricChartSvg(records[index]) }));
  const flowchart = extras.definition && json.states.length > 0 ? runbookFlowchart(extras.definition, json.states) : null;
  return { json, markdown: renderMarkdown(json, flowchart, extras.pathNote ?? null), charts };
}

/** Writes both renderings and the charts beside them; returns the key of the JSON one (the Outcome's `reportKey`). */
export async function writeEvidenceReport(store: ArtifactStore, slots: ReportSlots, now: Date, extras: ReportExtras = {}): Promise<string> {
  const keys = reportKeys(slots.config.name, slots.deployment.id);
  const { json, markdown, charts } = buildEvidenceReport(slots, now, extras);
  await writeCharts(store, charts);
  await store.put(keys.json, `${JSON.stringify(json, null, 2)}\n`, { contentType: 'application/json' });
  await store.put(keys.markdown, markdown, { contentType: 'text/markdown; charset=utf-8' });
  return keys.json;
}

/** The charts first: a report never links a chart that is not there. */
export async function writeCharts(store: ArtifactStore, charts: readonly ReportChart[]): Promise<void> {
  await Promise.all(charts.map((chart) => store.put(chart.key, chart.svg, { contentType: 'image/svg+xml; charset=utf-8' })));
}

function evidenceOf(slots: ReportSlots, now: Date, states: readonly StateTiming[], restorable: DrillRecord | null | undefined): EvidenceReport {
  const { config, deployment, execution, preflight, snapshot, backup, migrations, smoke, bake, restore, approval, verify, rollback } = slots;
  const rolledBack = rollback !== null || slots.outcome?.result === 'rolled-back' || slots.outcome?.result === 'rollback-failed';
  return {
    schemaVersion: 1,
    target: config.name,
    deploymentId: deployment.id,
    execution: { id: execution.id, name: execution.name, startedAt: execution.startedAt },
    action: deployment.action,
    requestedBy: deployment.requestedBy,
    reason: deployment.reason,
    alarm: deployment.alarm,
    watch: deployment.watch ? { checkpoint: deployment.watch.checkpoint, at: deployment.watch.at, metrics: deployment.watch.metrics, reason: deployment.watch.reason } : null,
    outcome: slots.outcome ? { result: slots.outcome.result ?? null, cause: slots.outcome.cause } : null,
    versions: versionsOf(slots),
    preflight: preflight ? { checkedAt: preflight.checkedAt, checks: preflight.checks } : null,
    backup: snapshot
      ? {
          snapshotId: snapshot.id,
          snapshotArn: snapshot.arn,
          kind: snapshot.kind,
          source: snapshot.source,
          status: snapshot.status,
          encrypted: snapshot.encrypted,
          sizeBytes: snapshot.sizeBytes,
          location: snapshot.location,
          checksum: snapshot.checksum,
          verification: snapshot.verification,
          manifestKey: backup?.manifestKey ?? null,
          manifestLocation: backup?.location ?? null,
          logicalCopy: snapshot.logicalCopy ?? null,
        }
      : null,
    migrations: {
      configured: config.migrations !== null,
      started: migrations?.started ?? false,
      status: migrations?.status ?? null,
      ref: migrations?.ref ?? null,
      detail: migrations?.detail ?? null,
    },
    smoke: smokeEvidence(smoke),
    alarms: {
      baseline: preflight
        ? {
            takenAt: preflight.baseline.takenAt,
            watched: preflight.baseline.alarms.map((a) => a.name),
            firing: preflight.baseline.alarms.filter((a) => a.state === 'ALARM').map((a) => a.name),
          }
        : null,
      bake: bake ? { checks: bake.checks, decision: bake.decision, firingAtBaseline: bake.firingAtBaseline, newlyFiring: bake.newlyFiring } : null,
    },
    analysis: analysisEvidence(slots),
    rollbackApproval: rollbackApprovalEvidence(slots),
    rollback: rolledBack
      ? { to: slots.rollbackTo ? versionRef(slots.rollbackTo) : null, ref: rollback?.ref ?? null, startedAt: rollback?.startedAt ?? null }
      : null,
    hosts: slots.deployStatus?.hosts || slots.rollbackStatus?.hosts ? { deploy: slots.deployStatus?.hosts ?? null, rollback: slots.rollbackStatus?.hosts ?? null } : null,
    traffic: slots.traffic ? { steps: slots.traffic.steps, shifts: slots.traffic.history } : null,
    restore:
      restore || rolledBack
        ? {
            summary: databaseDecision(slots),
            decision: restore?.decision ?? null,
            restored: restore?.restored ?? false,
            snapshotId: restore?.snapshotId ?? null,
            failedCopy: restore?.failedCopy ?? null,
            approval: approval ? { approved: approval.approved, by: approval.by, comment: approval.comment } : null,
            steps: restore?.steps ?? [],
          }
        : null,
    verification: smokeEvidence(verify),
    data: dataEvidence(slots),
    restoreDrill: drillEvidence(slots),
    ...(config.database && restorable !== undefined ? { lastProvenRestorable: restorable && { at: restorable.at, snapshotId: restorable.snapshotId, backupAt: restorable.backupAt, deploymentId: restorable.deploymentId, action: restorable.action } } : {}),
    errors: [errorEvidence('deployment', slots.error), errorEvidence('rollback', slots.rollbackError)].filter((e) => e !== null),
    decisions: decisionsOf(slots),
    timeline: timelineOf(slots, now),
    durationMs: Math.max(0, now.getTime() - Date.parse(execution.startedAt)),
    states,
    generatedAt: now.toISOString(),
  };
}

function drillEvidence(slots: ReportSlots): EvidenceReport['restoreDrill'] {
  const { drill, drillCheck } = slots;
  if (!drill && !drillCheck) return null;
  return {
    passed: drillCheck?.passed === true,
    summary: drillCheck?.summary ?? 'the restore did not get as far as the checks (see Errors)',
    scratch: drill?.scratch ?? null,
    discarded: drill?.phase === 'discarded',
    steps: drill?.steps ?? [],
  };
}

/** The restore drill of this execution, and when a backup of the target was last proven restorable. */
function drillSection(report: EvidenceReport): string[] {
  const lines: string[] = [];
  const drill = report.restoreDrill;
  if (drill) {
    lines.push(`- This execution's drill ${drill.passed ? 'passed' : 'FAILED'}: ${oneLine(drill.summary)}`);
    if (drill.scratch) lines.push(`- Scratch copy ${drill.scratch}: ${drill.discarded ? 'dropped' : 'NOT dropped'}`);
    lines.push(...drill.steps.map((step) => `- ${step.at} ${step.phase}: ${oneLine(step.detail)}`));
  }
  if (report.lastProvenRestorable !== undefined) {
    const last = report.lastProvenRestorable;
    lines.push(
      last
        ? `- Backup last proven restorable: ${last.at} (backup ${last.snapshotId}${last.backupAt ? ` taken ${last.backupAt}` : ''}, ${last.action === 'drill' ? 'drill' : 'before the deployment'} ${last.deploymentId})`
        : '- Backup last proven restorable: never (no restore drill has passed: backup.testRestore, deploy-runbook drill)',
    );
  }
  return lines.length === 0 ? [] : ['## Restore drill', '', ...lines, ''];
}

function rollbackApprovalEvidence(slots: ReportSlots): EvidenceReport['rollbackApproval'] {
  const summary = rollbackApprovalDecision(slots);
  if (summary === null) return null;
  const answer = slots.rollbackApproval ?? null;
  const unanswered = slots.rollbackApprovalError ?? null;
  return {
    decision: answer ? (answer.approved ? 'approved' : 'rejected') : 'unanswered',
    by: answer?.by ?? null,
    comment: answer?.comment ?? null,
    error: answer ? null : unanswered ? `${unanswered.Error}: ${causeMessage(unanswered)}` : null,
    summary,
  };
}

function dataEvidence(slots: ReportSlots): DataEvidence {
  const reports = [slots.preflightChecks, slots.dataGate, slots.restoreCheck].filter((report): report is DataCheckReport => report !== null && report !== undefined);
  const fingerprint = slots.fingerprint ?? null;
  const tables = fingerprint ? Object.entries(fingerprint.tables) : [];
  return {
    checks: reports.map((report) => ({ phase: report.phase, passed: report.passed, summary: report.summary, results: report.results })),
    fingerprint: fingerprint
      ? { tables: tables.length, rows: tables.reduce((sum, [, table]) => sum + table.rows, 0), checksummed: tables.filter(([, table]) => table.md5 !== null).map(([name]) => name) }
      : null,
    restoreComparison: slots.restoreCheck?.comparison ? { identical: slots.restoreCheck.comparison.identical, differences: slots.restoreCheck.comparison.differences } : null,
  };
}

function dataSection(data: DataEvidence): string[] {
  const lines = ['## Data checks', ''];
  for (const check of data.checks) lines.push(`- ${check.phase}: ${check.passed ? 'passed' : 'FAILED'}: ${oneLine(check.summary)}`);
  const table = markdownSqlCheckTable(sqlCheckOutcomes(data.checks));
  if (table.length > 0) lines.push('', ...table, '');
  if (data.fingerprint) {
    const { tables, rows, checksummed } = data.fingerprint;
    lines.push(`- Fingerprint before the backup: ${tables} tables, ${rows} rows${checksummed.length > 0 ? `, checksums of ${checksummed.join(', ')}` : ''}`);
  }
  if (data.restoreComparison) {
    lines.push(data.restoreComparison.identical ? '- Restored data matches the fingerprint' : `- Restored data DIFFERS: ${data.restoreComparison.differences.map(oneLine).join('; ')}`);
  }
  return [...lines, ''];
}

function versionRef(version: { version: string | null; image: string | null; ref?: string | null }): VersionRef {
  return { version: version.version, image: version.image, ref: version.ref ?? null };
}

function versionsOf(slots: ReportSlots): EvidenceReport['versions'] {
  const { deployment, preflight, release, window, rollbackTo } = slots;
  if (deployment.action === 'rollback') {
    const undone = window?.release ?? release;
    return { before: undone ? versionRef(undone) : null, after: rollbackTo ? versionRef(rollbackTo) : null };
  }
  return {
    before: preflight ? versionRef(preflight.running) : rollbackTo ? versionRef(rollbackTo) : null,
    after: { version: deployment.version, image: deployment.image ?? release?.image ?? null, ref: release?.ref ?? null },
  };
}

function smokeEvidence(report: SmokeReport | null): SmokeEvidence | null {
  if (!report) return null;
  return {
    passed: report.passed,
    summary: report.summary,
    expectedVersion: report.expectedVersion,
    startedAt: report.startedAt,
    durationMs: report.durationMs,
    results: report.results.map((r) => ({ name: r.name, passed: r.passed, status: r.status, latencyMs: r.latencyMs, attempts: r.attempts })),
  };
}

/** Each metric's chart key, made unique should two names differ only by characters a key cannot hold. */
function analysisEvidence(slots: ReportSlots): EvidenceReport['analysis'] {
  const records = slots.bake?.analysis ?? [];
  if (!slots.bake || records.length === 0) return null;
  const keys = reportKeys(slots.config.name, slots.deployment.id);
  const taken = new Set<string>();
  const metrics = records.map((record, index) => {
    let chart = keys.chart(record.name);
    if (taken.has(chart)) chart = keys.chart(`${record.name}-${index + 1}`);
    taken.add(chart);
    return { ...metricVerdict(record), chart };
  });
  return { reason: slots.bake.reason, metrics };
}

function errorEvidence(during: 'deployment' | 'rollback', error: TaskError | null): EvidenceReport['errors'][number] | null {
  return error ? { during, name: error.Error, message: causeMessage(error) } : null;
}

function decisionsOf(slots: ReportSlots): string[] {
  const { preflight, bake, window, config, deployment } = slots;
  const decisions: string[] = [];
  for (const check of preflight?.checks ?? []) decisions.push(`Preflight ${check.name}: ${check.ok ? 'ok' : 'FAILED'} (${check.detail})`);
  if (bake && bake.firingAtBaseline.length > 0) {
    decisions.push(`Already in ALARM before the deploy, reported and not blocking: ${bake.firingAtBaseline.join(', ')}`);
  }
  if (bake) {
    decisions.push(
      bake.decision === 'regressed'
        ? `Bake regressed after ${bake.checks} check(s): ${bake.reason ?? `newly in ALARM ${bake.newlyFiring.join(', ')}`}`
        : `Bake healthy after ${bake.checks} of ${deployment.bakeChecks} check(s) over ${formatDuration(config.bake.durationSeconds)}`,
    );
  }
  if (window) decisions.push(`Rollback window (${config.rollbackWindowHours} h): ${window.decision}: ${window.message}`);
  if (slots.rollback || slots.restore) {
    const { from, to } = rollbackVersions(slots);
    decisions.push(`Rolled back the application from ${from} to ${to}`);
    decisions.push(databaseDecision(slots));
  }
  if (slots.outcome) decisions.push(slots.outcome.cause);
  return decisions;
}

function timelineOf(slots: ReportSlots, now: Date): EvidenceReport['timeline'] {
  const { execution, deployment, preflight, snapshot, backup, release, migrations, smoke, bake, rollback, restore, verify } = slots;
  const entries: [string | null | undefined, string][] = [
    [execution.startedAt, 'execution started'],
    [deployment.startedAt, 'input validated'],
    [preflight?.checkedAt, 'preflight checked'],
    [snapshot?.startedAt, `snapshot ${snapshot?.id} started`],
    [snapshot?.completedAt, `snapshot ${snapshot?.id} ${snapshot?.status}`],
    [backup?.recordedAt, 'backup manifest recorded'],
    [release?.startedAt, `deploy of ${versionLabel(deployment.version ? deployment : release)} started`],
    [migrations?.startedAt, 'migrations started'],
    [migrations?.finishedAt, 'migrations finished'],
    [smoke?.startedAt, `smoke tests started (${smoke?.durationMs} ms)`],
    [bake?.startedAt, 'bake started'],
    [bake?.lastCheckedAt, `alarms last checked (${bake?.decision})`],
    [rollback?.startedAt, `rollback to ${versionLabel(slots.rollbackTo)} started`],
    [restore?.startedAt, 'database restore started'],
    [restore?.finishedAt, 'database restore finished'],
    [verify?.startedAt, `rollback verification started (${verify?.durationMs} ms)`],
    [now.toISOString(), 'report written'],
  ];
  return entries
    .filter((entry): entry is [string, string] => typeof entry[0] === 'string' && !Number.isNaN(Date.parse(entry[0])))
    .map(([at, event]) => ({ at, event }))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** Keeps a value on its line of Markdown. */
function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ');
}

/** Escapes a value for a Markdown table cell. */
function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function describeVersion(version: VersionRef | null): string {
  if (!version) return '-';
  return cell([version.version, version.ref ? `\`${version.ref}\`` : null].filter(Boolean).join(' '));
}

function formatBytes(bytes: number | null): string {
  if (bytes === null) return 'size unknown';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function smokeTable(smoke: SmokeEvidence): string[] {
  return [
    `${smoke.summary} (${smoke.durationMs} ms, expected version ${smoke.expectedVersion ?? '-'})`,
    '',
    '| Check | Result | HTTP status | Latency | Attempts |',
    '|---|---|---|---|---|',
    ...smoke.results.map(
      (r) => `| ${cell(r.name)} | ${r.passed ? 'passed' : 'FAILED'} | ${cell(r.status)} | ${r.latencyMs === null ? '-' : `${r.latencyMs} ms`} | ${r.attempts} |`,
    ),
  ];
}

/** The verdict table, then each metric's chart as an image beside the report (a relative link). */
function analysisSection(analysis: NonNullable<EvidenceReport['analysis']>): string[] {
  return [
    '## Analysis',
    '',
    ...(analysis.reason ? [oneLine(analysis.reason), ''] : []),
    ...markdownVerdictTable(analysis.metrics),
    '',
    'A value marked ✖ failed its condition, ? was inconclusive. Each chart shows the metric over the bake with its threshold(s):',
    '',
    ...analysis.metrics.map((metric) => {
      const file = metric.chart.slice(metric.chart.lastIndexOf('/') + 1);
      return `![${metric.name.replace(/[^A-Za-z0-9_-]/g, '_')} over the bake](${encodeURIComponent(file)})`;
    }),
    '',
  ];
}

function renderMarkdown(report: EvidenceReport, flowchart: string | null, pathNote: string | null): string {
  const title =
    report.action === 'rollback' ? `rollback of ${report.versions.before?.version ?? 'the latest release'}` : report.action === 'drill' ? 'restore drill' : `deploy ${report.versions.after?.version ?? ''}`;
  const lines: string[] = [`# ${report.target}: ${title} — ${report.outcome?.result ?? 'in progress'}`, ''];
  if (report.outcome) lines.push(oneLine(report.outcome.cause), '');
  lines.push(
    '| | |',
    '|---|---|',
    `| Deployment | ${cell(report.deploymentId)} |`,
    `| Execution | ${cell(report.execution.name)} (started ${cell(report.execution.startedAt)}) |`,
    `| ${REQUESTED_BY_LABEL} | ${cell(report.requestedBy)} |`,
    `| Started by | ${cell(startedBy(report.execution.id))} |`,
    `| Reason | ${cell(report.reason)} |`,
  );
  if (report.alarm) lines.push(`| Alarm | ${cell(report.alarm.name)}: ${cell(report.alarm.reason)} (${cell(report.alarm.time)}) |`);
  if (report.watch) lines.push(`| Watch checkpoint | ${report.watch.checkpoint} (${cell(report.watch.at)}): ${cell(report.watch.reason)} |`);
  lines.push(`| Before | ${describeVersion(report.versions.before)} |`, `| After | ${describeVersion(report.versions.after)} |`, `| Duration | ${Math.round(report.durationMs / 1000)} s |`, '');

  if (report.preflight) {
    lines.push('## Preflight', '', ...report.preflight.checks.map((c) => `- ${c.ok ? 'ok' : 'FAILED'}: ${c.name} (${c.detail})`), '');
  }
  if (report.backup) {
    const b = report.backup;
    lines.push(
      '## Backup',
      '',
      `- Snapshot \`${b.snapshotId}\` of ${b.source}: ${b.status}, ${b.encrypted === null ? 'encryption unknown' : b.encrypted ? 'encrypted' : 'NOT encrypted'}, ${formatBytes(b.sizeBytes)}`,
    );
    if (b.location) lines.push(`- Stored at ${b.location}${b.checksum ? ` (sha256 ${b.checksum})` : ''}`);
    const copy = b.logicalCopy;
    if (copy) {
      lines.push(
        `- Logical copy beside it (pg_dump -Fc of ${copy.source}): ${copy.status}, ${formatBytes(copy.sizeBytes)}, stored at ${copy.location}${copy.checksum ? ` (sha256 ${copy.checksum})` : ''}; a rollback restores the snapshot, the dump is a portable copy`,
      );
    }
    if (b.manifestLocation) lines.push(`- Manifest: ${b.manifestLocation}`);
    lines.push(...b.verification.map((v) => `- Verified: ${v}`), '');
  }
  lines.push(
    '## Migrations',
    '',
    report.migrations.configured
      ? `${report.migrations.started ? `Started; ${report.migrations.status ?? 'status unknown'}` : 'Not run'}${report.migrations.detail ? ` (${report.migrations.detail})` : ''}`
      : 'None configured.',
    '',
  );
  if (report.smoke) lines.push('## Smoke tests', '', ...smokeTable(report.smoke), '');
  if (report.alarms.baseline || report.alarms.bake) {
    lines.push('## Alarms', '');
    const { baseline, bake } = report.alarms;
    if (baseline) lines.push(`- Baseline at ${baseline.takenAt}: in ALARM ${baseline.firing.join(', ') || 'none'} (of ${baseline.watched.length} watched)`);
    if (bake) {
      lines.push(
        `- Bake: ${bake.decision} after ${bake.checks} check(s)`,
        `- Firing at baseline (reported, not blocking): ${bake.firingAtBaseline.join(', ') || 'none'}`,
        `- Newly firing: ${bake.newlyFiring.join(', ') || 'none'}`,
      );
    }
    lines.push('');
  }
  if (report.analysis) lines.push(...analysisSection(report.analysis));
  if (report.hosts) lines.push('## Hosts', '', ...hostLines(report.hosts), '');
  if (report.traffic) lines.push('## Traffic steps', '', ...trafficLines(report.traffic, report.rollback), '');
  if (report.rollbackApproval) lines.push('## Rollback approval', '', oneLine(report.rollbackApproval.summary), ...(report.rollbackApproval.error ? ['', `- No answer: ${oneLine(report.rollbackApproval.error)}`] : []), '');
  if (report.rollback) lines.push('## Rollback', '', `- Application rolled back to ${describeVersion(report.rollback.to)}${report.rollback.startedAt ? `, started ${report.rollback.startedAt}` : ''}`, '');
  if (report.restore) {
    lines.push('## Database restore', '', report.restore.summary, '');
    if (report.restore.approval) {
      const a = report.restore.approval;
      lines.push(`- Approval: ${a.approved ? 'approved' : 'rejected'}${a.by ? ` by ${a.by}` : ''}${a.comment ? `: ${a.comment}` : ''}`);
    }
    lines.push(...report.restore.steps.map((s) => `- ${s.at} ${s.phase}: ${s.detail}`), '');
  }
  if (report.verification) lines.push('## Rollback verification', '', ...smokeTable(report.verification), '');
  if (report.data && (report.data.checks.length > 0 || report.data.fingerprint)) lines.push(...dataSection(report.data));
  lines.push(...drillSection(report));
  if (report.errors.length > 0) lines.push('## Errors', '', ...report.errors.map((e) => `- During the ${e.during}: ${e.name}${e.message ? `: ${oneLine(e.message)}` : ''}`), '');
  if (report.decisions.length > 0) lines.push('## Decisions', '', ...report.decisions.map((d) => `- ${oneLine(d)}`), '');
  if (flowchart || pathNote) {
    lines.push('## Path through the runbook', '', ...(flowchart ? [FLOWCHART_LEGEND, ''] : []), ...(pathNote ? [oneLine(pathNote), ''] : []));
    if (flowchart) lines.push(mermaidBlock(flowchart), '');
  }
  lines.push('## Timeline', '', '| Time | Event |', '|---|---|', ...report.timeline.map((t) => `| ${t.at} | ${cell(t.event)} |`), '');
  if (report.states.length > 0) {
    lines.push('## States', '', '| State | Status | Duration |', '|---|---|---|', ...report.states.map((s) => `| ${cell(s.name)} | ${cell(s.status)} | ${s.ms} ms |`), '');
  }
  lines.push(`Generated ${report.generatedAt} by deploy-runbook.`, '');
  return lines.join('\n');
}

/** One row per host: how its deploy and its rollback ended, and the end of the output (the rollback's when there was one). */
function hostLines(hosts: NonNullable<EvidenceReport['hosts']>): string[] {
  const names = [...new Set([...(hosts.deploy ?? []), ...(hosts.rollback ?? [])].map((host) => host.host))];
  const outcome = (list: readonly HostOutcome[] | null, name: string) => list?.find((host) => host.host === name) ?? null;
  return [
    '| Host | Deploy | Rollback | Output (end) |',
    '|---|---|---|---|',
    ...names.map((name) => {
      const [deployed, rolledBack] = [outcome(hosts.deploy, name), outcome(hosts.rollback, name)];
      return `| ${cell(name)} | ${deployed?.state ?? '-'} | ${rolledBack?.state ?? '-'} | ${cell((rolledBack ?? deployed)?.detail)} |`;
    }),
  ];
}

/** The planned steps, then each weight as it was given, and where a rollback left the traffic. */
function trafficLines(traffic: NonNullable<EvidenceReport['traffic']>, rollback: EvidenceReport['rollback']): string[] {
  const plan = traffic.steps.map((step) => `${step.percent} %${step.seconds === null ? ' for the bake' : ` for ${formatDuration(step.seconds)}`}`).join(', then ');
  return [
    `Planned: ${plan}.`,
    '',
    '| Time | New version | Set |',
    '|---|---|---|',
    ...traffic.shifts.map((shift) => `| ${shift.at} | ${shift.percent} % | ${cell(shift.detail)} |`),
    ...(rollback ? [`| ${rollback.startedAt ?? '?'} | 0 % | rolled back: all traffic on version ${cell(rollback.ref ?? '?')}, additional weights cleared |`] : []),
  ];
}
