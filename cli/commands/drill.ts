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
import { DrillRequest, drillRequest } from '../../config/deployment-input';
import type { z } from 'zod';
import { executionName } from '../execution-name';
import { type StartedExecutionOptions, startExecution } from './start';
import { ConfigError } from '../../config/load';
import type { RunbookConfig } from '../../config/schema';
import { formatIssues } from '../../config/issues';

/** The flags as commander hands them over. */
export interface DrillOptions extends StartedExecutionOptions {
  readonly local?: boolean;
  readonly config?: string;
  readonly workdir?: string;
  readonly reason?: string;
  readonly requestedBy?: string;
  readonly json?: boolean;
}

/** Where a local drill keeps its store (ledger, lock, backups, reports) unless told: one place, so the ledger remembers every drill. */
export const DEFAULT_DRILL_WORKDIR = '.deploy-runbook/drill';
/** What the progress and closing lines call a drill. */
const DRILL = 'restore drill';
/** The drill's restore loop waits between steps on AWS; in-process each step is done when it returns. */
const LOCAL_WAIT_MS = 50;

/**
 * `deploy-runbook drill --local`: one restore drill of the configured PostgreSQL (the database in `database.urlEnv`),
 * through the runbook's own definition in-process, as `{action: "drill"}`: lock, backup into the local store, restore
 * into `<db>_drill_<ts>`, fingerprint comparison and after-restore checks, the copy dropped, the outcome in the
 * ledger and the report. Exits 0 when the backup proved restorable, 1 otherwise, 64 on bad usage.
 */
export async function drillCommand(options: DrillOptions, io: CliIo): Promise<number> {
  if (!options.local) return drillOnAws(options, io);
  for (const [flag, given] of [['--state-machine-arn', options.stateMachineArn], ['--stack', options.stack], ['--region', options.region], ['--wait', options.wait]] as const) {
    if (given !== undefined) throw new UsageError(`${flag}: a drill with --local runs on this machine and always to its end; ${flag} is for a drill on AWS (got ${JSON.stringify(given)})`);
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
    subject: DRILL,
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

/**
 * `deploy-runbook drill` on AWS: starts a `drill` execution of the deployed runbook (the stack's state machine, or
 * --state-machine-arn), named `drill-<time>`, and with --wait follows it: exit 0 when the backup proved restorable
 * (DrillSucceeded), 1 when not (DeploymentAborted, the cause naming the table or check), 64 on bad usage.
 */
function drillOnAws(options: DrillOptions, io: CliIo): Promise<number> {
  if (options.workdir !== undefined) throw new UsageError(`--workdir: the store of a drill on AWS is the stack's bucket; --workdir is for drill --local (got "${options.workdir}")`);
  const input = drillInput(options, io.env);
  return startExecution(options, io, { input, name: executionName('drill', io.now()), following: DRILL, subject: DRILL });
}

/** The execution input, checked with the schema ValidateInput uses: who asks is --requested-by, else the CI actor or the local user. */
function drillInput(options: DrillOptions, env: CliIo['env']): z.output<typeof DrillRequest> {
  const raw = drillRequest({ requestedBy: options.requestedBy ?? env.GITHUB_ACTOR ?? env.USER, reason: options.reason });
  const parsed = DrillRequest.safeParse(raw);
  if (!parsed.success) throw new UsageError(formatIssues(parsed.error, raw).map((line) => line.replace(/^(requestedBy|reason)\b/, (field) => FLAGS[field] ?? field)).join('; '));
  return parsed.data;
}

/** Input fields and the flags that set them, so that an error names what the user typed. */
const FLAGS: Record<string, string> = { reason: '--reason', requestedBy: '--requested-by' };

/** The configuration, its problems a usage error (exit 64): nothing was started. */
function configFrom(path: string, baseDir: string): RunbookConfig {
  try {
    return loadRehearsalConfig(path, { baseDir });
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}
