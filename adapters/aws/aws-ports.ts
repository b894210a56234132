import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { RDSClient } from '@aws-sdk/client-rds';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { type KindsIn, type Section, wrongPlace } from '../../config/kinds';
import type { AlarmsConfig, AnalysisConfig, DatabaseConfig, MigrationsConfig, RunbookConfig, SmokeTestsConfig, TargetConfig } from '../../config/schema';
import { InvalidInputError } from '../../core/errors';
import type { AlarmSource } from '../../core/ports/alarm-source';
import type { DatabaseBackups } from '../../core/ports/database-backups';
import type { DatabaseRestorer, ScratchRestorer } from '../../core/ports/database-restorer';
import type { DeployTarget } from '../../core/ports/deploy-target';
import type { MetricQuery } from '../../core/ports/metric-query';
import type { Migrator } from '../../core/ports/migrator';
import type { SecretSource } from '../../core/ports/secret-source';
import { metricRouter } from '../metric-router';
import { PrometheusQuery } from '../prometheus-query';
import { SmokeCheckMetric } from '../smoke-check-metric';
import { systemClock } from '../../core/ports/clock';
import { RollingHostsTarget } from '../../core/hosts/rolling-hosts';
import { describeTags, instancesTagged } from './ec2-instances';
import { SsmHostFleet } from './ssm-host-fleet';
import { apsSigner } from './aps-signer';
import { CloudWatchMetricQuery } from './cloudwatch-metrics';
import { LogsInsightsQuery } from './logs-insights';
import { AuroraClusterRestorer } from './aurora-restorer';
import { CloudWatchAlarmSource } from './cloudwatch-alarms';
import { EcsDeployTarget } from './ecs-deploy-target';
import { EcsMigrator } from './ecs-migrator';
import { HookDeployTarget } from './hook-deploy-target';
import { LambdaAliasDeployTarget } from './lambda-alias-deploy-target';
import { HookMigrator } from './hook-migrator';
import { AuroraClusterBackups, RdsInstanceBackups } from './rds-backups';
import type { S3Client } from '@aws-sdk/client-s3';
import { requireEnv } from '../../core/errors';
import { databaseEndpoint } from './database-connection';
import { backupTaskPlacement, describeReachable, type DiscardDrillCopy, EcsPgBackups, type EcsPgBackupsOptions, EcsPgRestorer } from './ecs-pg-backups';
import { postgresUrl } from '../local/pg-connection';
import { PgRestorer } from '../local/pg-restorer';
import { S3ArtifactStore } from './s3-artifact-store';
import { RdsInstanceRestorer } from './rds-restorer';
import { SnapshotWithLogicalCopy } from './snapshot-with-logical-copy';

/*
 * The AWS adapter of each configured kind: the counterpart of local/rehearsal/local-ports.ts. Each table is keyed
 * by the kinds config/kinds.ts says run on AWS, so a kind added there without its adapter fails the type check;
 * a kind that runs only in a rehearsal is refused with that table's message. Handlers import only the function
 * they need, and the bundler leaves the other adapters (and their SDK clients) out.
 */

/** A table of factories, one per kind of `S` that runs on AWS, each given its own section's type. */
type Factories<S extends Section, Config extends { kind: string }, Deps, Port> = {
  readonly [K in KindsIn<S, 'aws'>]: (section: Extract<Config, { kind: K }>, deps: Deps) => Port;
};

function choose<S extends Section, Config extends { kind: string }, Deps, Port>(section: S, config: Config, deps: Deps, table: Factories<S, Config, Deps, Port>): Port {
  const make = (table as Record<string, ((section: Config, deps: Deps) => Port) | undefined>)[config.kind];
  if (!make) throw new InvalidInputError(wrongPlace(section, config.kind, 'aws'));
  return make(config, deps);
}

export interface TargetClients {
  readonly ecs: ECSClient;
  readonly lambda: LambdaClient;
}

/** What an ssm-hosts target calls besides: the deploy-target and preflight functions have them, the migrations function not. */
export interface HostClients {
  readonly ssm: SSMClient;
  readonly ec2: EC2Client;
}

const TARGETS: Factories<'target', TargetConfig, TargetClients & HostClients, DeployTarget> = {
  ecs: (target, clients) => new EcsDeployTarget(clients.ecs, target),
  hook: (target, clients) => new HookDeployTarget(clients.lambda, target.functionArn),
  'ssm-hosts': (target, clients) => {
    const fleet = new SsmHostFleet(clients.ssm, target, () => instancesTagged(clients.ec2, target.tags), `running instances tagged ${describeTags(target.tags)}`);
    return new RollingHostsTarget(fleet, { kind: 'ssm-hosts', maxConcurrency: target.maxConcurrency, maxErrors: target.maxErrors }, systemClock);
  },
  'lambda-alias': (target, clients) => new LambdaAliasDeployTarget(clients.lambda, target),
};

/** The deploy target (the deploy-target and preflight functions). */
export function awsDeployTarget(target: TargetConfig, clients: TargetClients & HostClients): DeployTarget {
  return choose('target', target, clients, TARGETS);
}

interface MigratorDeps extends TargetClients {
  readonly target: TargetConfig;
  /** The runbook's deployment id: the migrations' idempotency key. */
  readonly deploymentId: string;
}

const MIGRATORS: Factories<'migrations', MigrationsConfig, MigratorDeps, Migrator> = {
  'ecs-task': (migrations, { ecs, target, deploymentId }) => {
    if (target.kind !== 'ecs') throw new InvalidInputError(`migrations.kind: "ecs-task" migrations need an "ecs" target (got "${target.kind}")`);
    return new EcsMigrator(ecs, target, migrations, deploymentId);
  },
  hook: (migrations, { lambda, deploymentId }) => new HookMigrator(lambda, migrations.functionArn, deploymentId),
};

/** The migrator (the migrations function). */
export function awsMigrator(config: Pick<RunbookConfig, 'target' | 'migrations'>, deploymentId: string, clients: TargetClients): Migrator {
  const { migrations, target } = config;
  if (migrations === null) throw new InvalidInputError('config.migrations: the migrations function ran but no migrations are configured (got null)');
  return choose('migrations', migrations, { ...clients, target, deploymentId }, MIGRATORS);
}

/** One configured database's pre-deploy backups and restorer. */
export interface AwsDatabase {
  readonly backups: DatabaseBackups;
  readonly restorer: DatabaseRestorer;
  /** The restore drill's (config/restore-drill.ts): null for RDS and Aurora, whose snapshots are not drilled. */
  readonly scratch: ScratchRestorer | null;
}

/** What the database adapters need: RDS for snapshots; ECS, S3 and the connection secret for logical backups. */
export interface DatabaseClients {
  readonly rds: RDSClient;
  /** Made on first use: only `postgres` needs them. */
  readonly ecs: () => ECSClient;
  readonly s3: () => S3Client;
  readonly secrets: () => SecretSource;
  /** The runbook target: logical backups live under `backups/<target>/`. */
  readonly target: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** How the backup task is started and followed for a database with logical backups (`postgres`, or RDS/Aurora with `logicalBackup`). */
function logicalBackupOptions(database: DatabaseConfig, clients: DatabaseClients): EcsPgBackupsOptions {
  const { connection } = database;
  if (!connection) throw new InvalidInputError(`database.connection: logical backups of '${database.kind}' on AWS need a Secrets Manager connection (got nothing)`);
  const env = clients.env ?? process.env;
  return {
    ecs: clients.ecs(),
    store: new S3ArtifactStore(clients.s3(), requireEnv('RUNBOOK_BUCKET', env)),
    placement: () => backupTaskPlacement(env),
    target: clients.target,
    // Connecting is the check that the database is reachable from the configured subnets, before any backup.
    describe: async () => {
      return describeReachable(await databaseEndpoint(connection, clients.secrets()));
    },
    clock: systemClock,
  };
}

/**
 * Drops a drill's copy over the function's own connection (the secret read when it is needed): PgRestorer's
 * discard, the same checks as in a rehearsal (the name this drill derives, its marker comment), no pg program run.
 */
function discardFromFunction(database: Extract<DatabaseConfig, { kind: 'postgres' }>, clients: DatabaseClients): DiscardDrillCopy {
  return async (snapshot, state) => {
    const { connection } = database;
    if (!connection) throw new InvalidInputError(`database.connection: dropping a drill's copy on AWS needs a Secrets Manager connection (got nothing)`);
    const { client } = await databaseEndpoint(connection, clients.secrets());
    const url = postgresUrl({ host: client.host ?? '', port: client.port ?? 5432, user: client.user ?? '', password: typeof client.password === 'string' ? client.password : '', database: client.database ?? '', sslmode: connection.sslmode });
    // The store holds no part in a discard: the dump is not read.
    const store = new S3ArtifactStore(clients.s3(), requireEnv('RUNBOOK_BUCKET', clients.env ?? process.env));
    return new PgRestorer(database, { url, store, clock: systemClock }).discardScratch(snapshot, state);
  };
}

/** The snapshots, with a logical copy beside each when `database.logicalBackup` asks for one. */
function snapshotsOf(database: Extract<DatabaseConfig, { kind: 'rds-instance' | 'aurora-cluster' }>, snapshots: DatabaseBackups, clients: DatabaseClients): DatabaseBackups {
  return database.logicalBackup === true ? new SnapshotWithLogicalCopy(snapshots, new EcsPgBackups(logicalBackupOptions(database, clients))) : snapshots;
}

const DATABASES: Factories<'database', DatabaseConfig, DatabaseClients, AwsDatabase> = {
  // The snapshot is what a rollback restores, with or without a logical copy beside it.
  'rds-instance': (database, clients) => ({
    backups: snapshotsOf(database, new RdsInstanceBackups(clients.rds, database), clients),
    restorer: new RdsInstanceRestorer(clients.rds, database),
    scratch: null,
  }),
  'aurora-cluster': (database, clients) => ({
    backups: snapshotsOf(database, new AuroraClusterBackups(clients.rds, database), clients),
    restorer: new AuroraClusterRestorer(clients.rds, database),
    scratch: null,
  }),
  postgres: (database, clients) => {
    const options = logicalBackupOptions(database, clients);
    const restorer = new EcsPgRestorer(options, discardFromFunction(database, clients));
    return { backups: new EcsPgBackups(options), restorer, scratch: restorer };
  },
};

/** The database's backups and restorer (the database-snapshot, restore-database and preflight functions). */
export function awsDatabase(database: DatabaseConfig | null, clients: DatabaseClients): AwsDatabase {
  if (database === null) throw new InvalidInputError('config.database: a database function ran but no database is configured (got null)');
  return choose('database', database, clients, DATABASES);
}

const ALARM_SOURCES: Factories<'alarms', AlarmsConfig, CloudWatchClient, AlarmSource> = {
  cloudwatch: (_alarms, cloudwatch) => new CloudWatchAlarmSource(cloudwatch),
};

/** The alarm source (the evaluate-alarms and preflight functions). */
export function awsAlarms(alarms: AlarmsConfig, cloudwatch: CloudWatchClient): AlarmSource {
  return choose('alarms', alarms, cloudwatch, ALARM_SOURCES);
}

export interface MetricClients {
  readonly cloudwatch: CloudWatchClient;
  /** Made on first use: only Logs Insights metrics need it. */
  readonly logs: () => CloudWatchLogsClient;
  /** Reads the secrets of Prometheus headers and of the smoke checks an http metric re-runs. */
  readonly secrets: SecretSource;
}

/** The analysis metrics' queries (the evaluate-alarms and preflight functions): one adapter per provider, made when a metric needs it. */
export function awsMetricQuery(config: { readonly analysis: Pick<AnalysisConfig, 'secrets'>; readonly smokeTests: SmokeTestsConfig }, clients: MetricClients): MetricQuery {
  return metricRouter('aws', {
    prometheus: () => new PrometheusQuery({ secretRefs: config.analysis.secrets, secrets: clients.secrets, signer: apsSigner() }),
    http: () => new SmokeCheckMetric({ smokeTests: config.smokeTests, secrets: clients.secrets, clock: systemClock }),
    cloudwatch: () => new CloudWatchMetricQuery(clients.cloudwatch),
    logs: () => new LogsInsightsQuery(clients.logs()),
  });
}
