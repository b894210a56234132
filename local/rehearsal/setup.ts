import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { AnalysisMetric, RunbookConfig } from '../../config/schema';
import { needsBaseline } from '../../core/analysis';
import type { MetricQuery } from '../../core/ports/metric-query';
import type { DeployTarget } from '../../core/ports/deploy-target';
import type { Migrator } from '../../core/ports/migrator';
import { RunbookError } from '../../core/errors';
import type { MigrationsState } from '../../core/model';
import { redact, withClient, withDatabase } from '../../adapters/local/pg-connection';
import { ProcessTarget } from '../../adapters/local/process-target';
import { type PostgresServer, startPostgres } from '../postgres/server';
import { type PrometheusServer, startPrometheus } from '../prometheus/server';
import { seedDemoData } from './demo-data';
import { RehearsalInterruptedError } from './dispatch';
import { scrapeTargetOf, usesRehearsalPrometheus } from './rehearsal-config';
import type { Scenario } from './scenarios';
import type { Teardown } from './workspace';

/**
 * What the rehearsal prepares before the execution: the database, the processes' environment and the
 * release the runbook finds running.
 */

/** Something the rehearsal prepares before the execution (PostgreSQL, the previous release) did not work. */
export class RehearsalSetupError extends RunbookError {}

/** The demo app's fault knobs: cleared from the inherited environment, so that only the scenario's faults apply. */
const FAULT_KNOBS = ['DEMO_FAULT', 'DEMO_FAULT_VERSION', 'DEMO_FAULT_HOST'] as const;

/** How long the previous release's migration and start may take before the rehearsal gives up. */
const SETUP_TIMEOUT_MS = 60_000;

/** Throws once the rehearsal was interrupted, between two preparation steps. */
export function interrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new RehearsalInterruptedError(`the rehearsal was interrupted (${String(signal.reason)})`);
}

/** What `--keep` left running, and how to stop it. */
export interface KeptResources {
  readonly app: { readonly version: string; readonly pid: number | undefined } | null;
  readonly database: { readonly psql: string; readonly stop: string } | null;
  readonly prometheus: { readonly url: string; readonly stop: string } | null;
}

/**
 * How often the rehearsal's Prometheus scrapes the app: a bake of a few seconds must still give each PromQL
 * window (`[5s]`) several samples, and the baseline two before Preflight.
 */
export const REHEARSAL_SCRAPE_INTERVAL_MS = 500;

/**
 * Starts everything at once and waits for all of it; then throws the first failure, if any. Each start
 * registers its own cleanup, so nothing that did start is left running when another one failed.
 */
export async function startAll<T extends readonly unknown[]>(starts: { readonly [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(starts as readonly Promise<unknown>[]);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * A throwaway Prometheus on 127.0.0.1 scraping the app, when an analysis metric asks for it
 * (`http://{{prometheus.address}}`); null otherwise. It needs no app yet: it scrapes once the app listens.
 */
export async function providePrometheus(config: RunbookConfig, teardown: Teardown, keepRunning: () => boolean, announce: (line: string) => void): Promise<PrometheusServer | null> {
  if (!usesRehearsalPrometheus(config)) return null;
  const { target, metricsPath } = scrapeTargetOf(config);
  announce(`starting Prometheus on 127.0.0.1, scraping ${target}${metricsPath}`);
  const server = await startPrometheus({ targets: [target], metricsPath, scrapeIntervalMs: REHEARSAL_SCRAPE_INTERVAL_MS });
  teardown.add('stop Prometheus', () => (keepRunning() ? Promise.resolve() : server.stop()));
  return server;
}

/** How long the rehearsal waits for its Prometheus to answer the baseline queries before leaving them to Preflight. */
const BASELINE_DATA_TIMEOUT_MS = 20_000;

/**
 * Waits until every metric read from the rehearsal's Prometheus (`url`) that compares with its baseline has data:
 * Preflight aborts the deploy when such a metric has none, and a loaded machine may miss a scrape or two of the
 * warm-up traffic. Returns the names still without data when the time is up (Preflight then judges them).
 */
export async function untilBaselineData(config: RunbookConfig, url: string, query: MetricQuery, signal?: AbortSignal, timeoutMs = BASELINE_DATA_TIMEOUT_MS): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let waiting: AnalysisMetric[] = config.analysis.metrics.filter((metric) => metric.provider.kind === 'prometheus' && metric.provider.url === url && needsBaseline(metric));
  for (;;) {
    const values = await Promise.all(waiting.map((metric) => query.value(metric, new Date()).catch(() => null)));
    waiting = waiting.filter((_, index) => values[index] === null);
    if (waiting.length === 0 || Date.now() >= deadline || signal?.aborted) return waiting.map((metric) => metric.name);
    await sleep(REHEARSAL_SCRAPE_INTERVAL_MS);
  }
}

/** Lets the rehearsal's Prometheus outlive it (`--keep`), and says how to stop it and delete its data. */
export function keptPrometheus(server: PrometheusServer): KeptResources['prometheus'] {
  const pid = server.release();
  return { url: server.url, stop: `kill ${pid} && rm -rf ${server.dir}` };
}

/** The database the rehearsal works on; `server` is set when the rehearsal started it, and stops it. */
export interface ProvidedDatabase {
  readonly url: string;
  readonly name: string;
  readonly server: PostgresServer | null;
}

/**
 * The database in `database.urlEnv` when the caller asked for it (`useGiven`); otherwise a throwaway
 * PostgreSQL with a database named after the target. A URL merely present in the environment (a developer's
 * own app database, say) is never used by default: a rollback scenario renames it aside and restores a copy.
 */
export async function provideDatabase(
  config: RunbookConfig,
  env: NodeJS.ProcessEnv,
  useGiven: boolean,
  teardown: Teardown,
  keepRunning: () => boolean,
  announce: (line: string) => void,
): Promise<ProvidedDatabase | null> {
  if (config.database?.kind !== 'postgres') return null;
  const { urlEnv } = config.database;
  const given = env[urlEnv];
  if (useGiven) {
    if (!given) throw new RehearsalSetupError(`--use-database-url: ${urlEnv} is not set (got nothing)`);
    announce(`using the PostgreSQL database in ${urlEnv}: ${redact(given, [])}`);
    return { url: given, name: decodeURIComponent(new URL(given).pathname.slice(1)), server: null };
  }
  if (given) announce(`${urlEnv} is set but not used: pass --use-database-url to rehearse against that database`);
  announce('starting a throwaway PostgreSQL on 127.0.0.1');
  const server = await startPostgres();
  teardown.add('stop PostgreSQL', () => (keepRunning() ? Promise.resolve() : server.stop()));
  const name = config.name.replace(/-/g, '_');
  await withClient(server.url, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  return { url: withDatabase(server.url, name), name, server };
}

/**
 * Fails before anything starts when the app's port is taken (by a rehearsal left running with --keep,
 * say): the previous release would otherwise fail to start with a less obvious error.
 */
export async function assertPortFree(config: RunbookConfig): Promise<void> {
  const { target } = config;
  const processes = target.kind === 'process' ? [target] : target.kind === 'hosts' ? target.hosts.map((host) => ({ ...target, kind: 'process' as const, port: host.port })) : [];
  const checks = await Promise.all(processes.map((process) => new ProcessTarget(process).preflight()));
  const blocked = checks.flat().filter((check) => !check.ok);
  if (blocked.length > 0) {
    throw new RehearsalSetupError(`${blocked.map((check) => check.detail).join('; ')}: stop it, or rehearse on another port (deploy-runbook rehearse --port <n>)`);
  }
}

/**
 * The environment of every process and of the smoke tests' secrets: the caller's, the database URL
 * in `database.urlEnv`, the scenario's faults, and a random value for each `{env}` secret that is not
 * set (the demo app and the smoke tests read the same one; it is never shown).
 */
export function rehearsalEnv(config: RunbookConfig, scenario: Scenario, base: NodeJS.ProcessEnv, url: string | null, announce: (line: string) => void): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const knob of FAULT_KNOBS) delete env[knob];
  Object.assign(env, scenario.env);
  if (config.database?.kind === 'postgres' && url) env[config.database.urlEnv] = url;
  for (const ref of Object.values(config.smokeTests.secrets)) {
    if (!('env' in ref) || env[ref.env]) continue;
    env[ref.env] = randomBytes(24).toString('base64url');
    announce(`generated a random ${ref.env} for the app and the smoke tests (not shown)`);
  }
  return env;
}

/** Migrates to `version`, seeds the demo data and starts it: the release the runbook finds running and rolls back to. */
export async function bringUpPreviousRelease(
  version: string,
  target: DeployTarget,
  migrator: Migrator | null,
  url: string | null,
  announce: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + SETUP_TIMEOUT_MS;
  const handle = { kind: 'process' as const, ref: version, version, image: null, deploymentId: null, startedAt: new Date().toISOString() };
  try {
    if (migrator) {
      announce(`migrating the database to ${version} (the previous release)`);
      let state: MigrationsState = await migrator.start(handle);
      while (state.status !== 'succeeded') {
        if (Date.now() > deadline) throw new RehearsalSetupError(`the migration to ${version} did not finish within ${SETUP_TIMEOUT_MS} ms`);
        await sleep(100);
        state = await migrator.status(state);
      }
    }
    if (url) {
      const rows = await seedDemoData(url);
      if (rows > 0) announce(`seeded ${rows} rows of demo data`);
    }
    interrupted(signal);
    announce(`starting ${version}`);
    const started = await target.deploy({ version, image: null, deploymentId: `rehearsal-${version}` });
    while ((await target.status(started)).status !== 'completed') {
      if (Date.now() > deadline) throw new RehearsalSetupError(`${version} did not become ready within ${SETUP_TIMEOUT_MS} ms`);
      await sleep(100);
    }
  } catch (error) {
    if (error instanceof RehearsalSetupError || error instanceof RehearsalInterruptedError) throw error;
    throw new RehearsalSetupError(`the previous release ${version} could not be brought up: ${(error as Error).message}`, { cause: error });
  }
}

/** How to reach and stop the PostgreSQL `--keep` leaves running: the socket needs no password, so none is printed. */
export function keptDatabase(server: PostgresServer, database: string): KeptResources['database'] {
  const asOwner = process.getuid?.() === 0 ? 'runuser -u postgres -- ' : '';
  return {
    psql: `${join(server.binDir, 'psql')} -h ${server.dataDir} -p ${server.port} -U postgres ${database}`,
    stop: `${asOwner}${join(server.binDir, 'pg_ctl')} -D ${server.dataDir} -m fast stop && rm -rf ${dirname(server.dataDir)}`,
  };
}
