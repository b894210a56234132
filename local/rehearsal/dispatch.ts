import { parse } from '@aws-lambda-powertools/parser';
import type { z } from 'zod';
import { DataChecksEvent, runDataChecks } from '../../core/tasks/data-checks/data-checks';
import { DatabaseSnapshotEvent, runDatabaseSnapshot } from '../../core/tasks/database-snapshot/database-snapshot';
import { DeployTargetEvent, runDeployTarget } from '../../core/tasks/deploy-target/deploy-target';
import { DeploymentLockEvent, runDeploymentLock } from '../../core/tasks/deployment-lock/deployment-lock';
import { evaluateAlarms, EvaluateAlarmsFunctionEvent, isWatchCheckpoint, measureWatch } from '../../core/tasks/evaluate-alarms/evaluate-alarms';
import { LedgerEvent, runLedger } from '../../core/tasks/ledger/ledger';
import { MigrationsEvent, runMigrations } from '../../core/tasks/migrations/migrations';
import { notify, NotifyEvent } from '../../core/tasks/notify/notify';
import { PreflightEvent, runPreflight } from '../../core/tasks/preflight/preflight';
import { RestoreDatabaseEvent, runRestoreDatabase } from '../../core/tasks/restore-database/restore-database';
import { InvalidInputError, RunbookError } from '../../core/errors';
import { runSmokeTests, SmokeTestEvent } from '../../core/tasks/smoke-test/smoke-test';
import { validateInput, ValidateInputEvent } from '../../core/tasks/validate-input/validate-input';
import { APPROVAL_ACTIVITY, type TaskCall } from '../engine/engine';
import { type RehearsalAnswer, RollbackApprovalTask } from '../../core/rollback-approval';
import type { LocalPorts } from './local-ports';

/** A function folder's event schema and its run function called with local ports: what its handler.ts does on AWS. */
interface Route {
  readonly schema: z.core.$ZodType;
  readonly run: (event: never, ports: LocalPorts) => Promise<unknown>;
}

function route<S extends z.core.$ZodType>(schema: S, run: (event: z.output<S>, ports: LocalPorts) => Promise<unknown>): Route {
  return { schema, run: run as Route['run'] };
}

/** A port the configuration leaves out (no database, no migrations) was asked for anyway. */
function required<T>(port: T | null, folder: string, section: string): T {
  if (port === null) throw new InvalidInputError(`${folder} was called, but config.${section} is null: this rehearsal has no ${section} to work on`);
  return port;
}

/** Every function folder of the runbook, as the handlers wire them, with the local adapters instead of AWS ones. */
export const ROUTES: Readonly<Record<string, Route>> = {
  'validate-input': route(ValidateInputEvent, (event, { clock, alarms }) => validateInput(event, { clock, alarms: () => alarms })),
  'deployment-lock': route(DeploymentLockEvent, (event, { store, clock }) => runDeploymentLock(event, { store, clock })),
  preflight: route(PreflightEvent, (event, { target, backups, alarms, secrets, metricQuery, clock }) =>
    runPreflight(event, { target, backups, alarms, secrets, metrics: metricQuery, clock }),
  ),
  'database-snapshot': route(DatabaseSnapshotEvent, (event, { backups, clock }) =>
    runDatabaseSnapshot(event, { backups: required(backups, 'database-snapshot', 'database'), clock }),
  ),
  'data-checks': route(DataChecksEvent, (event, { inspector, inspectorOf, clock }) => runDataChecks(event, { inspector, inspectorOf, clock })),
  'deploy-target': route(DeployTargetEvent, (event, { target, clock }) => runDeployTarget(event, { target, clock })),
  migrations: route(MigrationsEvent, (event, { migrator, clock }) => runMigrations(event, { migrator: required(migrator, 'migrations', 'migrations'), clock })),
  'smoke-test': route(SmokeTestEvent, (event, { secrets, clock }) => runSmokeTests(event, { secrets, clock })),
  'evaluate-alarms': route(EvaluateAlarmsFunctionEvent, (event, { alarms, metricQuery, clock }) =>
    isWatchCheckpoint(event) ? measureWatch(event, { metrics: metricQuery, clock }) : evaluateAlarms(event, { alarms, metrics: metricQuery, clock }),
  ),
  ledger: route(LedgerEvent, (event, { store, clock, metrics }) => runLedger(event, { store, clock, metrics })),
  'restore-database': route(RestoreDatabaseEvent, (event, { restorer, clock }) =>
    runRestoreDatabase(event, { restorer: required(restorer, 'restore-database', 'database'), scratch: restorer, clock }),
  ),
  notify: route(NotifyEvent, (event, { notifier, store }) => notify(event, { notifier, store })),
};

/** The rehearsal was interrupted (SIGINT, SIGTERM): no task starts any more. */
export class RehearsalInterruptedError extends RunbookError {}

export interface DispatcherOptions {
  /** Once aborted, every call fails with RehearsalInterruptedError, so the execution ends without touching anything more. */
  readonly signal?: AbortSignal;
  /** How the rehearsal answers the rollback approval (`--rollback-approval`); without it nobody answers an approval. */
  readonly rollbackApproval?: RehearsalAnswer;
}

/** Who the execution records as the person answering in a rehearsal. */
export const REHEARSAL_APPROVER = 'deploy-runbook rehearse';

/**
 * The rehearsal playing the person asked before a rollback: the answer `deploy-runbook approve` would send, or the
 * error Step Functions raises when nobody answers in time. Any other approval (a restore) has nobody to answer it.
 */
function answerApproval(call: TaskCall, answer: RehearsalAnswer | undefined): unknown {
  const request = RollbackApprovalTask.safeParse(call.event);
  if (!request.success || answer === undefined) {
    throw new InvalidInputError(`${call.state} waits for a person, and nobody answers ${request.success ? 'a rollback approval without --rollback-approval' : 'this approval'} in a rehearsal`);
  }
  if (answer === 'timeout') {
    const timeout = new Error(`${call.state}: nobody answered (rehearse --rollback-approval timeout)`);
    timeout.name = 'States.Timeout';
    throw timeout;
  }
  const approved = answer === 'approve';
  return { approved, by: REHEARSAL_APPROVER, comment: approved ? `rehearsal: roll back after ${request.data.reason}` : `rehearsal: keep ${request.data.version ?? 'the new version'}` };
}

/** The engine's TaskHandler, and a way to wait for the task in flight. */
export interface Dispatcher {
  readonly handle: (call: TaskCall) => Promise<unknown>;
  /** Resolves once no task runs: teardown waits for it, so nothing starts a process after the processes were stopped. */
  settled(): Promise<void>;
}

/**
 * Serves every Task of the rehearsal: parses the event with the function's own schema through the
 * Powertools parser (as the handler's middleware does, so an invalid event fails with the same
 * ParseError), then calls the function's run function with the local ports. Errors pass through with
 * their name, which is what the state machine's Catch and Retry match.
 */
export function createDispatcher(ports: LocalPorts, options: DispatcherOptions = {}): Dispatcher {
  let inFlight: Promise<unknown> = Promise.resolve();
  const handle = (call: TaskCall): Promise<unknown> => {
    const work = call.folder === APPROVAL_ACTIVITY ? Promise.resolve().then(() => answerApproval(call, options.rollbackApproval)) : dispatch(call, ports, options.signal);
    inFlight = work.catch(() => undefined);
    return work;
  };
  return { handle, settled: () => inFlight.then(() => undefined) };
}

async function dispatch(call: TaskCall, ports: LocalPorts, signal: AbortSignal | undefined): Promise<unknown> {
  if (signal?.aborted) throw new RehearsalInterruptedError(`the rehearsal was interrupted (${String(signal.reason)}): ${call.state} did not run`);
  const target = ROUTES[call.folder];
  if (!target) throw new InvalidInputError(`${call.state} names function folder "${call.folder}", which the rehearsal does not serve (folders: ${Object.keys(ROUTES).join(', ')})`);
  const event = parse(call.event, undefined, target.schema);
  return target.run(event as never, ports);
}
