import { wrongPlace } from '../../config/kinds';
import type { RunbookConfig } from '../../config/schema';
import { EnvSecretSource } from '../../adapters/env-secret-source';
import type { AlarmSource } from '../../core/ports/alarm-source';
import type { ArtifactStore } from '../../core/ports/artifact-store';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { DatabaseBackups } from '../../core/ports/database-backups';
import type { DatabaseInspector } from '../../core/ports/database-inspector';
import type { DatabaseRestorer, ScratchRestorer } from '../../core/ports/database-restorer';
import type { DeployTarget } from '../../core/ports/deploy-target';
import type { Migrator } from '../../core/ports/migrator';
import type { MetricsSink } from '../../core/ports/metrics';
import type { MetricQuery } from '../../core/ports/metric-query';
import { metricRouter } from '../../adapters/metric-router';
import { PrometheusQuery } from '../../adapters/prometheus-query';
import { LogFileMetrics } from '../../adapters/local/log-file-metrics';
import { SmokeCheckMetric } from '../../adapters/smoke-check-metric';
import type { Notifier } from '../../core/ports/notifier';
import type { SecretSource } from '../../core/ports/secret-source';
import { AlarmStateUnavailableError, InvalidInputError, requireEnv } from '../../core/errors';
import { CommandMigrator } from '../../adapters/local/command-migrator';
import { CommandTarget } from '../../adapters/local/command-target';
import { FileArtifactStore } from '../../adapters/local/file-artifact-store';
import { LocalNotifier } from '../../adapters/local/local-notifier';
import { LogMetrics } from '../../adapters/local/log-metrics';
import { PgBackups } from '../../adapters/local/pg-backups';
import { PgRestorer } from '../../adapters/local/pg-restorer';
import { clientConfigOf, parsePostgresUrl, withDatabase } from '../../adapters/local/pg-connection';
import { PgInspector } from '../../adapters/pg-inspector';
import { ProcessTarget } from '../../adapters/local/process-target';
import { LocalHostFleet } from '../../adapters/local/local-host-fleet';
import { RollingHostsTarget } from '../../core/hosts/rolling-hosts';
import { PrometheusAlarms } from '../../adapters/local/prometheus-alarms';

/** Every port a task may need, as the rehearsal provides them: the local counterpart of the Lambda handlers' AWS adapters. */
export interface LocalPorts {
  readonly store: ArtifactStore;
  readonly target: DeployTarget;
  /** Null exactly when `config.database` is null. */
  readonly backups: DatabaseBackups | null;
  /** Restores by rename-swap, and into a drill's scratch copy beside the live database. */
  readonly restorer: (DatabaseRestorer & ScratchRestorer) | null;
  /** The SQL checks' and fingerprints' reader; null exactly when `config.database` is null. */
  readonly inspector: DatabaseInspector | null;
  /** The same server's other databases: a restore drill's scratch copy (never the live database). */
  readonly inspectorOf?: (database: string) => DatabaseInspector;
  /** Null exactly when `config.migrations` is null. */
  readonly migrator: Migrator | null;
  readonly alarms: AlarmSource;
  readonly secrets: SecretSource;
  readonly notifier: Notifier;
  readonly metrics: MetricsSink;
  /** The analysis metrics' queries: Prometheus over HTTP, log files. */
  readonly metricQuery: MetricQuery;
  readonly clock: Clock;
}

export interface LocalPortsOptions {
  /** The artifact store's directory. */
  readonly storeDir: string;
  /**
   * Environment of the app, the migrations and the secret source; it holds `database.urlEnv`. Adapters
   * read it when they start something, so a change applies to every process started after it.
   */
  readonly env: NodeJS.ProcessEnv;
  /** Receives the processes' output and the notifications, one line at a time. */
  readonly log: (line: string) => void;
  /** Where pg_dump and pg_restore are. @default the newest installed PostgreSQL */
  readonly binDir?: string;
  readonly clock?: Clock;
}

/** The ports, and the process target or the local hosts behind `target` when there is one: their processes outlive a task. */
export interface RehearsalPorts {
  readonly ports: LocalPorts;
  readonly processes: ProcessTarget | null;
  readonly hosts: LocalHostFleet | null;
}

/**
 * Builds the local adapters once per rehearsal. They keep state between tasks (the running process,
 * started migrations, the previous metrics scrape), as a deployment's real resources would.
 */
export function buildLocalPorts(config: RunbookConfig, options: LocalPortsOptions): RehearsalPorts {
  const clock = options.clock ?? systemClock;
  const { env, log } = options;
  const store = new FileArtifactStore(options.storeDir);
  const processes = config.target.kind === 'process' ? new ProcessTarget(config.target, { env, log, clock }) : null;
  const hosts = config.target.kind === 'hosts' ? new LocalHostFleet(config.target, { env, log, clock }) : null;
  const target =
    processes ??
    (hosts && config.target.kind === 'hosts'
      ? new RollingHostsTarget(hosts, { kind: 'hosts', maxConcurrency: config.target.maxConcurrency, maxErrors: config.target.maxErrors }, clock)
      : commandTarget(config, env, log, clock));
  const database = config.database?.kind === 'postgres' ? config.database : null;
  const url = database ? requireEnv(database.urlEnv, env) : null;
  const ports: LocalPorts = {
    store,
    target,
    backups: database && url ? new PgBackups(database, { url, target: config.name, store, clock, binDir: options.binDir }) : null,
    restorer: database && url ? new PgRestorer(database, { url, store, clock, binDir: options.binDir }) : null,
    inspector: url ? pgInspector(url, database?.urlEnv) : null,
    ...(url ? { inspectorOf: (name: string) => pgInspector(otherDatabase(url, name), database?.urlEnv) } : {}),
    migrator: config.migrations?.kind === 'command' ? new CommandMigrator(config.migrations, { env, log, clock }) : null,
    alarms: config.alarms.kind === 'prometheus' ? new PrometheusAlarms(config.alarms, fetch, { clock }) : NO_ALARMS,
    secrets: new EnvSecretSource(env),
    notifier: new LocalNotifier(store, log, clock),
    metrics: new LogMetrics(config.name, log),
    metricQuery: localMetricQuery(config, env, clock),
    clock,
  };
  return { ports, processes, hosts };
}

function pgInspector(url: string, urlEnv: string | undefined): DatabaseInspector {
  return new PgInspector({ ...clientConfigOf(url), connectionTimeoutMillis: 10_000 }, parsePostgresUrl(url, urlEnv).safeUrl);
}

/** `url` pointed at `name`, which must not be the database `url` names: a drill inspects its copy, not the original. */
function otherDatabase(url: string, name: string): string {
  if (parsePostgresUrl(url).database === name) throw new InvalidInputError(`database "${name}" is the live database, not a drill's copy of it`);
  return withDatabase(url, name);
}

/** The rehearsal's metric providers; a `log-file` path is relative to the working directory unless rehearsal-config made it absolute. */
function localMetricQuery(config: RunbookConfig, env: NodeJS.ProcessEnv, clock: Clock): MetricQuery {
  return metricRouter('local', {
    prometheus: () => new PrometheusQuery({ secretRefs: config.analysis.secrets, secrets: new EnvSecretSource(env) }),
    http: () => new SmokeCheckMetric({ smokeTests: config.smokeTests, secrets: new EnvSecretSource(env), clock }),
    'log-file': () => new LogFileMetrics(process.cwd()),
  });
}

function commandTarget(config: RunbookConfig, env: NodeJS.ProcessEnv, log: (line: string) => void, clock: Clock): DeployTarget {
  if (config.target.kind !== 'command') throw new InvalidInputError(wrongPlace('target', config.target.kind, 'local'));
  return new CommandTarget(config.target, { env, log, clock });
}

/** A configuration without alarms watches none: the tasks never ask, and asking anyway fails closed. */
const NO_ALARMS: AlarmSource = {
  async states(names) {
    if (names.length === 0) return [];
    throw new AlarmStateUnavailableError(`alarms ${names.join(', ')} are CloudWatch alarms, which a rehearsal cannot read`);
  },
};
