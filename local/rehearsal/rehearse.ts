import { setTimeout as sleep } from 'node:timers/promises';
import type { RunbookConfig } from '../../config/schema';
import { type ExecutionOutcome, outcomeOf } from '../../core/execution-outcome';
import { redact } from '../../adapters/local/pg-connection';
import type { MetricRecord } from '../../core/model';
import type { StateEvent } from '../../core/state-event';
import { DATA_CHECK_SLOTS, type SqlCheckOutcome, sqlCheckOutcomes } from '../../core/sql-check-evidence';
import { type ExecutionResult, runRunbook, type TaskHandler } from '../engine/engine';
import { compactTimestamp } from '../postgres/identifiers';
import { dataFingerprint } from './data-fingerprint';
import { createDispatcher } from './dispatch';
import { buildLocalPorts } from './local-ports';
import { OutcomeRecorder } from './outcome-recorder';
import { withLocalHosts, withRehearsalPlaces } from './rehearsal-config';
import { type ReportPaths, rewriteEvidenceReport } from './report';
import { type Scenario, withAnswer } from './scenarios';
import type { RehearsalAnswer } from '../../core/rollback-approval';
import {
  assertPortFree,
  bringUpPreviousRelease,
  interrupted,
  type KeptResources,
  keptDatabase,
  keptPrometheus,
  provideDatabase,
  providePrometheus,
  REHEARSAL_SCRAPE_INTERVAL_MS,
  rehearsalEnv,
  startAll,
  untilBaselineData,
} from './setup';
import { stateTimings } from '../../core/state-timings';
import { bakeTrafficListener, Traffic, TRAFFIC_PATH, trafficRate, warmUpTrafficListener } from './traffic';
import { type RehearsalVerification, verifyRehearsal } from './verification';
import { openWorkspace, Teardown } from './workspace';

/**
 * Every Wait state's length unless told otherwise. Short enough that a rehearsal takes seconds; long
 * enough that the bake's traffic (sized from it, see trafficRate) crosses the alarms' minRequests at each evaluation.
 */
export const DEFAULT_WAIT_MS = 500;

/**
 * Traffic before the execution when analysis metrics are measured, from the moment the previous release runs: long
 * enough that a baseline window of a few seconds no longer holds the app's first, slower requests.
 */
const WARM_UP_MS = 4000;
/** Scrapes of the warm-up traffic Prometheus must have taken before Preflight: a rate needs two samples. */
const WARM_UP_SCRAPES = 3;
/** Requests each evaluation should see when only analysis metrics (no Prometheus rules) judge the bake. */
const ANALYSIS_MIN_REQUESTS = 10;

export interface RehearsalOptions {
  /** Validated for a rehearsal, ports and paths already adjusted (see loadRehearsalConfig). */
  readonly config: RunbookConfig;
  readonly scenario: Scenario;
  /** The workspace: the artifact store and the processes' log go here. */
  readonly workdir: string;
  /** How long every Wait state lasts: the rehearsal's minutes become moments. */
  readonly waitMs: number;
  /** Leave the app, PostgreSQL and Prometheus running after a completed rehearsal. @default false */
  readonly keep?: boolean;
  /**
   * Work on the database named by `database.urlEnv` in `env` rather than a throwaway one. Off unless asked:
   * a rehearsal migrates its database and, on rollback, renames it aside and restores a copy in its place.
   * @default false
   */
  readonly useDatabaseUrl?: boolean;
  /** How the rehearsal answers the rollback approval (the configuration requires one then). @default nobody answers */
  readonly rollbackApproval?: RehearsalAnswer;
  /** The environment the rehearsal starts from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Once aborted, no task starts any more, and everything started is stopped. */
  readonly signal?: AbortSignal;
  /** Each state as it starts and ends, for live progress. */
  readonly onEvent?: (event: StateEvent) => void;
  /** One line per preparation step (starting PostgreSQL, migrating to v1…). */
  readonly announce?: (line: string) => void;
  readonly now?: () => Date;
}

/** Where things are, and what `--keep` left running. */
export interface RehearsalWorkspace {
  readonly dir: string;
  readonly store: string;
  readonly log: string;
  readonly app: { readonly url: string };
  /** The URL with its password masked; `started` when the rehearsal started the server itself. */
  readonly database: { readonly url: string; readonly started: boolean; readonly port: number | null; readonly dataDir: string | null } | null;
  /** The Prometheus the rehearsal started for its analysis metrics; its directory is deleted when it stops. */
  readonly prometheus: { readonly url: string; readonly dir: string; readonly pid: number | undefined } | null;
  readonly kept: KeptResources | null;
}

export interface RehearsalResult {
  readonly scenario: string;
  readonly outcome: ExecutionOutcome;
  readonly execution: ExecutionResult;
  /** StateEntered events: what Step Functions Standard bills. */
  readonly transitions: number;
  readonly states: ReturnType<typeof stateTimings>;
  readonly report: ReportPaths | null;
  readonly snapshotId: string | null;
  readonly alarms: { readonly firing: string[]; readonly newlyFiring: string[]; readonly firingAtBaseline: string[] } | null;
  /** The analysis metrics as the bake last judged them; empty without any, or when no bake ran. */
  readonly analysis: readonly MetricRecord[];
  /** Each SQL check that ran, every phase, in order; empty without any. */
  readonly dataChecks: readonly SqlCheckOutcome[];
  readonly verification: RehearsalVerification;
  readonly workspace: RehearsalWorkspace;
  /** Cleanup steps that failed; the rehearsal's result stands. */
  readonly cleanupProblems: readonly string[];
}

/**
 * The rehearsal: prepares PostgreSQL, Prometheus when analysis metrics read it, and the previous release
 * (migrated, seeded, running), runs the real runbook ASL in-process with every Task served by the functions
 * and local adapters, generates traffic before Preflight's baselines and during the bake, then checks the
 * machine and adds the timings and the checks to the evidence report. Everything it started is stopped
 * afterwards (unless `keep`), also when it fails or is interrupted.
 */
export async function rehearse(options: RehearsalOptions): Promise<RehearsalResult> {
  const { scenario, signal } = options;
  const configured = scenario.hosts ? withLocalHosts(options.config, scenario.hosts.count) : options.config;
  const announce = options.announce ?? (() => undefined);
  const now = options.now ?? (() => new Date());
  const teardown = new Teardown();
  const workspace = await openWorkspace(options.workdir);
  teardown.add('close the log', () => workspace.close());
  let keepRunning = false;
  try {
    await assertPortFree(configured);
    const [database, prometheus] = await startAll([
      provideDatabase(configured, options.env ?? process.env, options.useDatabaseUrl === true, teardown, () => keepRunning, announce),
      providePrometheus(configured, teardown, () => keepRunning, announce),
    ] as const);
    interrupted(signal);
    const config = withRehearsalPlaces(configured, { prometheusAddress: prometheus && new URL(prometheus.url).host, workdir: workspace.dir });

    const env = rehearsalEnv(config, scenario, options.env ?? process.env, database?.url ?? null, announce);
    const { ports, processes, hosts } = buildLocalPorts(config, { storeDir: workspace.storeDir, env, log: (line) => workspace.log(line), binDir: database?.server?.binDir });
    const dispatcher = createDispatcher(ports, { signal, rollbackApproval: options.rollbackApproval });
    if (processes) teardown.add('stop the app', () => (keepRunning ? Promise.resolve() : processes.stopAll()));
    if (hosts) teardown.add('stop the hosts', () => (keepRunning ? Promise.resolve() : hosts.stopAll()));
    // Registered after the app's stop, so it runs before it: no task may start a process once they were stopped.
    teardown.add('wait for the task in flight', () => dispatcher.settled());

    await bringUpPreviousRelease(scenario.previousVersion, ports.target, ports.migrator, database?.url ?? null, announce, signal);
    const before = database ? await dataFingerprint(database.url) : null;
    interrupted(signal);
    Object.assign(env, scenario.envAfterSetup);

    const traffic = bakeTraffic(config, options.waitMs);
    if (traffic) teardown.add('stop the traffic', () => traffic.stop());
    const warmUp = traffic && config.analysis.metrics.length > 0 ? new Traffic(traffic.url, traffic.requestsPerSecond) : null;
    if (warmUp) {
      teardown.add('stop the warm-up traffic', () => warmUp.stop());
      announce(`sending warm-up traffic for Preflight's baselines (${warmUp.requestsPerSecond} requests/s, from at least ${WARM_UP_MS} ms before the execution until Preflight is done)`);
      warmUp.start();
    }
    const warmedUp = Date.now() + WARM_UP_MS;
    if (prometheus) {
      announce('waiting until Prometheus has scraped the app');
      await prometheus.scraped();
    }
    if (warmUp) {
      const scrapes = prometheus ? WARM_UP_SCRAPES * REHEARSAL_SCRAPE_INTERVAL_MS : 0;
      await sleep(Math.max(warmedUp - Date.now(), scrapes), undefined, { signal }).catch(() => undefined);
      interrupted(signal);
    }
    if (prometheus) {
      const without = await untilBaselineData(config, prometheus.url, ports.metricQuery, signal);
      interrupted(signal);
      if (without.length > 0) announce(`Prometheus has no data yet for ${without.join(', ')}: Preflight will say so`);
    }
    const recorder = new OutcomeRecorder(dispatcher.handle);
    const listeners = [...(traffic ? [bakeTrafficListener(traffic)] : []), ...(warmUp ? [warmUpTrafficListener(warmUp)] : [])];
    const what = scenario.input.action === 'drill' ? `a restore drill of ${scenario.previousVersion}'s database` : `deploy ${scenario.input.version} over ${scenario.previousVersion}`;
    announce(`running the runbook: ${what} (Wait states last ${options.waitMs} ms)`);
    const execution = await runRunbook({
      config,
      input: { ...scenario.input, requestedBy: 'deploy-runbook rehearse' },
      handler: scenario.writesDuringBackup ? afterWrites(recorder.handle, 'TakeSnapshot', config.smokeTests.baseUrl, scenario.writesDuringBackup) : recorder.handle,
      executionName: `rehearse-${scenario.name}-${compactTimestamp(now().toISOString())}`,
      waitMs: options.waitMs,
      retryMs: options.waitMs,
      onEvent: (event) => {
        for (const listener of listeners) listener(event);
        options.onEvent?.(event);
      },
    });
    await warmUp?.stop();
    const trafficSummary = traffic ? await traffic.stop() : null;
    interrupted(signal);

    const outcome = outcomeOf(execution.status, execution.error);
    const slots = recorder.slots(execution);
    const verification = await verifyRehearsal({
      scenario: withAnswer(scenario, options.rollbackApproval, config),
      outcome,
      config,
      slots,
      store: ports.store,
      database: database && before ? { url: database.url, before } : null,
      traffic: traffic?.started ? trafficSummary : null,
      hostStarts: hosts?.starts(),
    });
    const states = stateTimings(execution.events);
    const report = slots ? await rewriteEvidenceReport(ports.store, slots, states, { scenario: scenario.name, verification }, new Date(execution.finishedAt)) : null;

    let kept: KeptResources | null = null;
    if (options.keep) {
      keepRunning = true;
      kept = {
        app: processes?.release() ?? hosts?.release()[0] ?? null,
        database: database?.server ? keptDatabase(database.server, database.name) : null,
        prometheus: prometheus ? keptPrometheus(prometheus) : null,
      };
    }
    const bake = slots?.bake ?? null;
    return {
      scenario: scenario.name,
      outcome,
      execution,
      transitions: execution.events.filter((event) => event.type === 'entered').length,
      states,
      report,
      snapshotId: slots?.snapshot?.id ?? null,
      alarms: bake ? { firing: bake.firing.map((alarm) => alarm.name), newlyFiring: bake.newlyFiring, firingAtBaseline: bake.firingAtBaseline } : null,
      analysis: bake?.analysis ?? [],
      dataChecks: sqlCheckOutcomes(DATA_CHECK_SLOTS.flatMap((slot) => slots?.[slot] ?? [])),
      verification,
      workspace: {
        dir: workspace.dir,
        store: workspace.storeDir,
        log: workspace.logPath,
        app: { url: config.smokeTests.baseUrl },
        database: database ? { url: redact(database.url, []), started: database.server !== null, port: database.server?.port ?? null, dataDir: database.server?.dataDir ?? null } : null,
        prometheus: prometheus ? { url: prometheus.url, dir: prometheus.dir, pid: prometheus.pid } : null,
        kept,
      },
      // Cleaned up before returning, so that the result can tell what failed; the finally below then has nothing left.
      cleanupProblems: await teardown.run(),
    };
  } finally {
    const problems = await teardown.run();
    if (problems.length > 0) announce(`cleanup: ${problems.join('; ')}`);
  }
}

/**
 * Serves `state` only once the app has created `count` items through its own API: the writes a live app makes between the
 * fingerprint and the backup, which a restore drill (comparing exact row counts) must report.
 */
function afterWrites(handler: TaskHandler, state: string, baseUrl: string, count: number): TaskHandler {
  let written = false;
  return async (call) => {
    if (call.state === state && !written) {
      written = true;
      for (let item = 1; item <= count; item++) {
        const response = await fetch(`${baseUrl.replace(/\/$/, '')}/api/items`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: `written during the backup ${item}` }),
          signal: AbortSignal.timeout(5000),
        });
        if (response.status !== 201) throw new Error(`the app refused to create an item during the backup: HTTP ${response.status}`);
      }
    }
    return handler(call);
  };
}

/** Traffic for the bake when Prometheus rules or analysis metrics judge it: dense enough for every rule's minRequests per evaluation. */
function bakeTraffic(config: RunbookConfig, waitMs: number): Traffic | null {
  const rules = config.alarms.kind === 'prometheus' ? config.alarms.rules : [];
  if (rules.length === 0 && config.analysis.metrics.length === 0) return null;
  const minRequests = Math.max(ANALYSIS_MIN_REQUESTS, ...rules.map((rule) => rule.minRequests));
  return new Traffic(`${config.smokeTests.baseUrl.replace(/\/$/, '')}${TRAFFIC_PATH}`, trafficRate(minRequests, waitMs));
}
