import { resolve } from 'node:path';
import { outcomeOf } from '../../core/execution-outcome';
import type { Outcome } from '../../core/model';
import { stateTimings } from '../../core/state-timings';
import { terminalText } from '../../core/untrusted-text';
import { runRunbook } from '../../local/engine/engine';
import { compactTimestamp } from '../../local/postgres/identifiers';
import { createDispatcher } from '../../local/rehearsal/dispatch';
import { buildLocalPorts } from '../../local/rehearsal/local-ports';
import { loadRehearsalConfig } from '../../local/rehearsal/rehearsal-config';
import { DEFAULT_CONFIG_PATH, PACKAGE_ROOT } from '../../local/rehearsal/workspace';
import { loadDefinition } from '../../statemachines/definition';
import { exitCodeFor } from '../exit-codes';
import type { CliIo } from '../io';
import { toJsonOutput } from '../json-output';
import { outcomeLines, Progress } from '../progress';
import type { RunResult } from '../run-result';
import { verdictStates } from '../steps';
import { UsageError } from '../usage-error';
import { DrillRequest } from '../../config/deployment-input';
import { ConfigError } from '../../config/load';
import type { RunbookConfig } from '../../config/schema';
import { formatIssues } from '../../config/issues';

/** The flags as commander hands them over. */
export interface DrillOptions {
  readonly local?: boolean;
  readonly config?: string;
  readonly workdir?: string;
  readonly reason?: string;
  readonly requestedBy?: string;
  readonly json?: boolean;
}

/** Where a local drill keeps its store (ledger, lock, backups, reports) unless told: one place, so the ledger remembers every drill. */
export const DEFAULT_DRILL_WORKDIR = '.deploy-runbook/drill';
/** The drill's restore loop waits between steps on AWS; in-process each step is done when it returns. */
const LOCAL_WAIT_MS = 50;

/**
 * `deploy-runbook drill --local`: one restore drill of the configured PostgreSQL (the database in `database.urlEnv`),
 * through the runbook's own definition in-process, as `{action: "drill"}`: lock, backup into the local store, restore
 * into `<db>_drill_<ts>`, fingerprint comparison and after-restore checks, the copy dropped, the outcome in the
 * ledger and the report. Exits 0 when the backup proved restorable, 1 otherwise, 64 on bad usage.
 */
export async function drillCommand(options: DrillOptions, io: CliIo): Promise<number> {
  if (!options.local) {
    throw new UsageError('--local: restore drills run on this machine only (deploy-runbook drill --local); on AWS the backup task cannot restore into a scratch database yet');
  }
  const json = options.json === true;
  const out = json ? io.stderr : io.stdout;
  const configPath = options.config === undefined ? DEFAULT_CONFIG_PATH : resolve(io.cwd, options.config);
  const config = configFrom(configPath, options.config === undefined ? PACKAGE_ROOT : io.cwd);
  const database = config.database;
  if (database?.kind !== 'postgres') throw new UsageError(`--config: a restore drill needs database.kind 'postgres' (got ${database ? `"${database.kind}"` : 'no database'})`);
  if (!io.env[database.urlEnv]) throw new UsageError(`${database.urlEnv}: the drill backs up and restores the database this variable names, and it is not set (got nothing)`);
  const workdir = resolve(io.cwd, options.workdir ?? DEFAULT_DRILL_WORKDIR);
  const storeDir = resolve(workdir, 'store');

  const { ports } = buildLocalPorts(config, { storeDir, env: { ...io.env }, log: () => undefined });
  const dispatcher = createDispatcher(ports);
  const progress = new Progress({ out, verdicts: verdictStates(loadDefinition()) });
  out.write(`▶ restore drill of ${terminalText(config.name)} (store ${storeDir})\n`);
  const execution = await runRunbook({
    config,
    input: drillInput(options, io.env),
    handler: dispatcher.handle,
    executionName: `drill-${compactTimestamp(io.now().toISOString())}`,
    waitMs: LOCAL_WAIT_MS,
    retryMs: LOCAL_WAIT_MS,
    onEvent: (event) => progress.push(event),
  });
  await dispatcher.settled();
  progress.finish(execution.finishedAt);

  const outcome = outcomeOf(execution.status, execution.error);
  const recorded = (execution.output as { outcome?: Outcome | null } | null)?.outcome ?? null;
  const report = recorded?.reportKey ? ports.store.locate(recorded.reportKey.replace(/\.json$/, '.md')) : null;
  const run: RunResult = {
    outcome,
    executionArn: null,
    version: null,
    steps: progress.steps,
    durationMs: execution.finishedAt - execution.startedAt,
    error: execution.error,
    cause: execution.cause ?? recorded?.cause ?? null,
    report,
    snapshotId: null,
    alarms: null,
    path: stateTimings(execution.events),
  };
  if (json) {
    const { outcome: result, states, durationMs, error, cause } = toJsonOutput(run);
    io.stdout.write(`${JSON.stringify({ outcome: result, states, durationMs, report, error, cause, store: storeDir })}\n`);
  } else {
    out.write(`${[...outcomeLines(run), `  store:     ${storeDir}`].join('\n')}\n`);
  }
  return exitCodeFor(outcome);
}

/** The execution input, checked with the schema ValidateInput uses: who asks is --requested-by, else the CI actor or the local user. */
function drillInput(options: DrillOptions, env: CliIo['env']): { action: 'drill'; requestedBy?: string; reason?: string } {
  const requestedBy = options.requestedBy ?? env.GITHUB_ACTOR ?? env.USER;
  const raw = { action: 'drill', ...(requestedBy !== undefined ? { requestedBy } : {}), ...(options.reason !== undefined ? { reason: options.reason } : {}) };
  const parsed = DrillRequest.safeParse(raw);
  if (!parsed.success) throw new UsageError(formatIssues(parsed.error, raw).join('; '));
  return parsed.data;
}

/** The configuration, its problems a usage error (exit 64): nothing was started. */
function configFrom(path: string, baseDir: string): RunbookConfig {
  try {
    return loadRehearsalConfig(path, { baseDir });
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}
