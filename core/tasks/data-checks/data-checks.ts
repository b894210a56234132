import * as z from 'zod/mini';
import type { BackupConfig, ChecksConfig, DatabaseConfig, SqlCheck, SqlCheckPhase } from '../../../config/schema';
import { compareFingerprints, DataFingerprint } from '../../data-fingerprint';
import { DRILL_INFIX, DRILL_SUFFIX, isDrillCopyName, isDrillInstanceName } from '../../restore-drill';
import { InvalidInputError } from '../../errors';
import type { Clock } from '../../ports/clock';
import { type DatabaseInspector, DatabaseQueryError, type QueryAnswer, SQLSTATE } from '../../ports/database-inspector';
import { judged } from '../../model';

/** When checks run: a configured phase, or `gate` (a release plan's SQL gate: the checks it names, whatever their phase). */
const PHASES = ['preflight', 'after-migrations', 'after-restore', 'gate'] as const satisfies readonly (SqlCheckPhase | 'gate')[];
type Phase = (typeof PHASES)[number];

/**
 * The data-checks function: `check` runs the SQL checks of a phase (phase `gate`: those `names` names); `fingerprint` records the data before the
 * backup; `verify-restore` compares a restored database with that fingerprint and runs the after-restore checks.
 */
export const DataChecksEvent = z.object({
  operation: z.enum(['check', 'fingerprint', 'verify-restore']),
  phase: z.enum(PHASES),
  config: judged<{ database: DatabaseConfig | null; checks: ChecksConfig; backup: BackupConfig }>(),
  /** verify-restore: the fingerprint recorded before the backup (null: none was recorded, only the checks run). */
  fingerprint: z._default(z.nullable(DataFingerprint), null),
  /** verify-restore of a restore drill: its scratch copy, checked instead of the configured database (only a `<db>_drill_<ts>` name). */
  database: z.optional(z.nullable(z.string())),
  /**
   * verify-restore of an RDS or Aurora drill: its scratch copy's endpoint, reached instead of the configured host
   * (`database` then names the scratch instance or cluster, `<identifier>-drill-<yyyymmddhhmmss>`, and the endpoint must be its own).
   */
  host: z.optional(z.nullable(z.string())),
  /** Phase `gate`: the checks to run, by name (ValidateInput made sure each exists). */
  names: z.optional(z.nullable(z.array(z.string()))),
});
export type DataChecksEvent = z.output<typeof DataChecksEvent>;

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** One SQL check as the report shows it. */
export const SqlCheckResult = z.object({
  name: z.string(),
  passed: z.boolean(),
  /** The first column of the first row (null without rows or when the query failed). */
  value: scalar,
  rows: z.nullable(z.int()),
  /** What was expected, in words: `= 0`, `≥ 100`, `a row`. */
  expected: z.string(),
  /** Why it failed; null when it passed. */
  reason: z.nullable(z.string()),
  durationMs: z.number(),
});
export type SqlCheckResult = z.output<typeof SqlCheckResult>;

/** `$.preflightChecks`, `$.dataGate`, `$.restoreCheck`: the SQL checks of one phase and, after a restore, the fingerprint comparison. */
export const DataCheckReport = z.object({
  phase: z.enum(PHASES),
  passed: z.boolean(),
  summary: z.string(),
  results: z.array(SqlCheckResult),
  /** After a restore: the restored data against the fingerprint recorded before the backup; null when none was recorded. */
  comparison: z.nullable(z.object({ identical: z.boolean(), differences: z.array(z.string()), tables: z.int() })),
  startedAt: z.string(),
  durationMs: z.number(),
});
export type DataCheckReport = z.output<typeof DataCheckReport>;

export interface DataChecksDeps {
  /** Null when the database cannot be reached from here (no `database.connection` on AWS): only a phase without checks can pass. */
  readonly inspector: DatabaseInspector | null;
  /** The same connection, to another database of the server: a restore drill's scratch copy. */
  readonly inspectorOf?: (database: string) => DatabaseInspector;
  /** The same connection, to another server: an RDS or Aurora drill's scratch instance or cluster (the configured database name on it). */
  readonly inspectorAt?: (host: string) => DatabaseInspector;
  readonly clock: Clock;
}

export async function runDataChecks(event: DataChecksEvent, deps: DataChecksDeps): Promise<DataCheckReport | DataFingerprint | null> {
  if (event.operation === 'fingerprint') return takeFingerprint(event, deps);
  return checkPhase(event, deps);
}

/** The fingerprint recorded before the backup; null when no connection to the database is configured. */
async function takeFingerprint(event: DataChecksEvent, deps: DataChecksDeps): Promise<DataFingerprint | null> {
  if (!deps.inspector) return null;
  const { tables, checksumTables } = event.config.backup.fingerprint;
  return deps.inspector.fingerprint({ tables, checksumTables });
}

async function checkPhase(event: DataChecksEvent, deps: DataChecksDeps): Promise<DataCheckReport> {
  const started = deps.clock.now();
  const phase = event.operation === 'verify-restore' ? 'after-restore' : event.phase;
  const checks = phase === 'gate' ? namedChecks(event) : event.config.checks.sql.filter((check) => check.when.includes(phase));
  const recorded = event.operation === 'verify-restore' ? event.fingerprint : null;
  const inspector = event.database ? drillCopyInspector(event.database, event.host ?? null, event.operation, deps) : deps.inspector;
  if (!inspector) {
    if (checks.length > 0 || recorded) {
      throw new InvalidInputError(`${phase}: ${checks.length} SQL checks and ${recorded ? 'a' : 'no'} fingerprint to compare, but the database cannot be reached: database.connection is not configured`);
    }
    return report(phase, [], null, started, deps.clock);
  }
  const timeoutMs = event.config.checks.statementTimeoutSeconds * 1000;
  const results: SqlCheckResult[] = [];
  for (const check of checks) results.push(await runCheck(check, inspector, timeoutMs, deps.clock));
  let comparison: DataCheckReport['comparison'] = null;
  if (recorded) {
    const scope = { tables: Object.keys(recorded.tables), checksumTables: Object.entries(recorded.tables).filter(([, t]) => t.md5 !== null).map(([name]) => name) };
    const now = await inspector.fingerprint(scope);
    const compared = compareFingerprints(recorded, now);
    comparison = { identical: compared.identical, differences: [...compared.differences], tables: Object.keys(recorded.tables).length };
  }
  return report(phase, results, comparison, started, deps.clock);
}

/** The inspector of a drill's scratch copy: never a database whose name does not say it is one, never a host that is not that copy's endpoint. */
function drillCopyInspector(database: string, host: string | null, operation: DataChecksEvent['operation'], deps: DataChecksDeps): DatabaseInspector | null {
  if (host !== null) {
    // RDS endpoints are `<identifier>.<…>.rds.amazonaws.com`: the password goes only to the drill copy's own endpoint.
    if (operation !== 'verify-restore' || !isDrillInstanceName(database, null) || !host.startsWith(`${database}.`)) {
      throw new InvalidInputError(`host: only verify-restore of an RDS or Aurora drill's copy (<identifier>${DRILL_INFIX}<yyyymmddhhmmss>) connects elsewhere, and only to that copy's endpoint (got ${operation} of "${database}" at "${host}")`);
    }
    if (!deps.inspector || !deps.inspectorAt) return null;
    return deps.inspectorAt(host);
  }
  if (operation !== 'verify-restore' || !isDrillCopyName(database, null)) {
    throw new InvalidInputError(`database: only verify-restore of a restore drill's copy (<database>${DRILL_SUFFIX}<yyyymmddhhmmss>) names a database of its own (got ${operation} of "${database}")`);
  }
  if (!deps.inspector || !deps.inspectorOf) return null;
  return deps.inspectorOf(database);
}

/** A gate's checks in the order it names them; a name that is not configured is bad input, never a passing gate. */
function namedChecks(event: DataChecksEvent): SqlCheck[] {
  const names = event.names ?? [];
  if (names.length === 0) throw new InvalidInputError('gate: no SQL check named: a gate runs the checks its request names');
  return names.map((name) => {
    const check = event.config.checks.sql.find((candidate) => candidate.name === name);
    if (!check) throw new InvalidInputError(`gate: '${name}' is not one of checks.sql (${event.config.checks.sql.map((c) => c.name).join(', ') || 'none'})`);
    return check;
  });
}

async function runCheck(check: SqlCheck, inspector: DatabaseInspector, timeoutMs: number, clock: Clock): Promise<SqlCheckResult> {
  const started = clock.now().getTime();
  const expected = expectedText(check.expect);
  let answer: QueryAnswer;
  try {
    answer = await inspector.query(check.sql, timeoutMs);
  } catch (error) {
    if (!(error instanceof DatabaseQueryError)) throw error;
    return { name: check.name, passed: false, value: null, rows: null, expected, reason: queryFailure(error, timeoutMs), durationMs: clock.now().getTime() - started };
  }
  const reason = judge(check.expect, answer);
  return { name: check.name, passed: reason === null, value: answer.value, rows: answer.rowCount, expected, reason, durationMs: clock.now().getTime() - started };
}

function queryFailure(error: DatabaseQueryError, timeoutMs: number): string {
  if (error.code === SQLSTATE.readOnlyTransaction) return `writes, which a SQL check may not: the database refused it in the read-only transaction (SQLSTATE ${error.code} read_only_sql_transaction: ${error.message})`;
  if (error.code === SQLSTATE.queryCanceled) return `timed out after ${timeoutMs / 1000} s (checks.statementTimeoutSeconds; SQLSTATE ${error.code}: ${error.message})`;
  return `failed: ${error.message}${error.code ? ` (SQLSTATE ${error.code})` : ''}`;
}

function expectedText(expect: SqlCheck['expect']): string {
  if ('equals' in expect) return `= ${JSON.stringify(expect.equals)}`;
  if ('atLeast' in expect) return `≥ ${expect.atLeast}`;
  if ('atMost' in expect) return `≤ ${expect.atMost}`;
  return expect.exists ? 'a row' : 'no row';
}

/** Null when the answer meets the expectation; otherwise why not. */
function judge(expect: SqlCheck['expect'], answer: QueryAnswer): string | null {
  const shown = answer.rowCount === 0 ? 'no row' : JSON.stringify(answer.value);
  if ('exists' in expect) return (answer.rowCount > 0) === expect.exists ? null : `returned ${answer.rowCount === 0 ? 'no row' : `${answer.rowCount} rows`}, expected ${expect.exists ? 'a row' : 'no row'}`;
  if ('equals' in expect) return sameValue(answer.value, expect.equals) && answer.rowCount > 0 ? null : `returned ${shown}, expected ${JSON.stringify(expect.equals)}`;
  const number = answer.rowCount === 0 ? Number.NaN : typeof answer.value === 'number' ? answer.value : typeof answer.value === 'string' && answer.value.trim() !== '' ? Number(answer.value) : Number.NaN;
  if (Number.isNaN(number)) return `returned ${shown}, not a number`;
  if ('atLeast' in expect) return number >= expect.atLeast ? null : `returned ${shown}, expected at least ${expect.atLeast}`;
  return number <= expect.atMost ? null : `returned ${shown}, expected at most ${expect.atMost}`;
}

/** PostgreSQL sends bigint and numeric as text: `"0"` equals 0. */
function sameValue(value: QueryAnswer['value'], expected: string | number | boolean | null): boolean {
  if (typeof expected === 'number' && typeof value === 'string' && value.trim() !== '') return Number(value) === expected;
  return value === expected;
}

function report(phase: Phase, results: SqlCheckResult[], comparison: DataCheckReport['comparison'], started: Date, clock: Clock): DataCheckReport {
  const failed = results.filter((result) => !result.passed);
  const differs = comparison !== null && !comparison.identical;
  const parts: string[] = [];
  if (results.length === 0 && comparison === null) parts.push(`no SQL checks run ${phase}`);
  if (results.length > 0) {
    parts.push(
      failed.length === 0
        ? `${results.length} SQL check${results.length === 1 ? '' : 's'} passed (${phase})`
        : `${failed.length} of ${results.length} SQL checks failed (${phase}): ${failed.map((result) => `'${result.name}' ${result.reason}`).join('; ')}`,
    );
  }
  if (comparison) {
    parts.push(
      differs
        ? `the restored data differs from the fingerprint recorded before the backup: ${comparison.differences.join('; ')}`
        : `the restored data matches the fingerprint recorded before the backup (${comparison.tables} table${comparison.tables === 1 ? '' : 's'})`,
    );
  }
  return {
    phase,
    passed: failed.length === 0 && !differs,
    summary: parts.join('; '),
    results,
    comparison,
    startedAt: started.toISOString(),
    durationMs: clock.now().getTime() - started.getTime(),
  };
}
