import { PROMETHEUS_ADDRESS } from './rehearsal-places';

/**
 * Which kind of each configuration section runs where: on AWS (the stack's functions) or in a local rehearsal.
 * The one table that configuration problems, their messages and the choice of adapters come from.
 */
export const KINDS = {
  target: {
    ecs: { runs: 'aws', label: 'an ECS service' },
    hook: { runs: 'aws', label: 'a hook Lambda' },
    'ssm-hosts': { runs: 'aws', label: 'EC2 instances by SSM Run Command' },
    'lambda-alias': { runs: 'aws', label: "a Lambda function's alias, shifted in steps" },
    process: { runs: 'local', label: 'a local process' },
    command: { runs: 'local', label: 'shell commands' },
    hosts: { runs: 'local', label: 'several local app processes in batches' },
  },
  database: {
    'rds-instance': { runs: 'aws', label: 'an RDS instance' },
    'aurora-cluster': { runs: 'aws', label: 'an Aurora cluster' },
    // On AWS it needs database.connection (databaseProblems); a rehearsal starts its own server.
    postgres: { runs: 'both', label: 'any reachable PostgreSQL (pg_dump / pg_restore)' },
  },
  migrations: {
    'ecs-task': { runs: 'aws', label: 'an ECS task' },
    hook: { runs: 'aws', label: 'a hook Lambda' },
    command: { runs: 'local', label: 'a shell command' },
  },
  alarms: {
    cloudwatch: { runs: 'aws', label: 'CloudWatch alarms' },
    prometheus: { runs: 'local', label: "rules over the app's Prometheus /metrics" },
  },
  /** `analysis.metrics[].provider`: where a metric's number comes from. */
  metricProvider: {
    prometheus: { runs: 'both', label: 'PromQL over a Prometheus HTTP API' },
    cloudwatch: { runs: 'aws', label: 'CloudWatch GetMetricData' },
    logs: { runs: 'aws', label: 'a CloudWatch Logs Insights query' },
    http: { runs: 'both', label: 'the smoke checks, re-run' },
    'log-file': { runs: 'local', label: 'lines of a local log file' },
  },
} as const;

/** Where a kind runs. */
export type Place = 'aws' | 'local';
export type Section = keyof typeof KINDS;

/** The kinds of `S` that run in `P` (or in both places), as a type: an adapter table keyed by it must cover each of them. */
export type KindsIn<S extends Section, P extends Place> = {
  [K in keyof (typeof KINDS)[S]]: (typeof KINDS)[S][K] extends { runs: P | 'both' } ? K : never;
}[keyof (typeof KINDS)[S]];

/** Where each way of naming a smoke-test secret can be read from. */
export const SECRET_SOURCES = {
  secretsManager: { runs: 'aws', label: 'Secrets Manager, {"secretsManager": "name or ARN", "jsonKey"?}' },
  // On AWS the environment holds the function's own credentials: no secret may come from it there.
  env: { runs: 'local', label: 'the environment, {"env": "NAME"}' },
} as const;

const PLACE_NAME: Record<Place, string> = { aws: 'on AWS', local: 'in a local rehearsal (deploy-runbook rehearse)' };

function runsIn(runs: Place | 'both', place: Place): boolean {
  return runs === place || runs === 'both';
}

function kindsIn(section: Section, place: Place): string[] {
  return Object.entries(KINDS[section])
    .filter(([, kind]) => runsIn(kind.runs, place))
    .map(([name]) => name);
}

function quoted(names: readonly string[]): string {
  return names.map((name) => `'${name}'`).join(' or ');
}

/** The message for a kind used where it cannot run, naming the kinds that can: `target.kind: 'process' (…) runs only …`. */
export function wrongPlace(section: Section, kind: string, place: Place, field = `${section}.kind`): string {
  const entry = (KINDS[section] as Record<string, { runs: Place | 'both'; label: string } | undefined>)[kind];
  const what = entry ? `'${kind}' (${entry.label}) runs only ${PLACE_NAME[entry.runs === 'both' ? place : entry.runs]}` : `'${kind}' is not a kind deploy-runbook knows`;
  const optional = section === 'target' ? '' : ', or leave it out';
  return `${field}: ${what}; ${PLACE_NAME[place]} use ${quoted(kindsIn(section, place))}${optional} (got "${kind}")`;
}

/** What a section of a configuration looks like to this table. */
interface Sections {
  readonly target: { readonly kind: string };
  readonly database: { readonly kind: string; readonly connection?: object; readonly logicalBackup?: boolean; readonly backupTask?: object } | null;
  readonly migrations: { readonly kind: string } | null;
  readonly alarms: { readonly kind: string; readonly names?: readonly string[] };
  readonly smokeTests: { readonly secrets: Readonly<Record<string, object>> };
  readonly network?: object;
  readonly checks?: { readonly sql: readonly object[] };
  readonly backup?: { readonly testRestore: boolean; readonly drillSchedule?: string };
  readonly analysis?: { readonly metrics: readonly { readonly provider: { readonly kind: string; readonly url?: string } }[]; readonly secrets: Readonly<Record<string, object>> };
}

/** Every part of `config` that cannot run in `place`, one line per field, each naming the value received. */
export function placeProblems(config: Sections, place: Place): string[] {
  const problems: string[] = [];
  for (const section of Object.keys(KINDS).filter((name) => name !== 'metricProvider') as Exclude<Section, 'metricProvider'>[]) {
    const value = config[section];
    if (value === null) continue;
    // Watching no CloudWatch alarm needs no AWS: a rehearsal of such a configuration simply watches nothing.
    if (section === 'alarms' && place === 'local' && value.kind === 'cloudwatch' && (config.alarms.names ?? []).length === 0) continue;
    const entry = (KINDS[section] as Record<string, { runs: Place | 'both' } | undefined>)[value.kind];
    if (!entry || !runsIn(entry.runs, place)) problems.push(wrongPlace(section, value.kind, place));
  }
  if (place === 'aws' && config.database?.kind === 'postgres' && config.database.connection === undefined) {
    problems.push(
      `database.connection: 'postgres' on AWS reaches the database through a Secrets Manager secret holding {host, port, username, password, dbname} (the RDS secret format); set database.connection to {"secretsManager": "name or ARN"} (got nothing)`,
    );
  }
  if (place === 'aws' && config.database?.kind === 'postgres' && config.network === undefined) {
    problems.push(
      `network: 'postgres' on AWS is backed up by an ECS Fargate task, which runs in subnets that reach the database; set network to {"vpcId", "subnetIds", "securityGroupIds"} (got nothing)`,
    );
  }
  const kind = config.database?.kind;
  if (place === 'aws' && (kind === 'rds-instance' || kind === 'aurora-cluster') && config.database) {
    const { logicalBackup, connection, backupTask } = config.database;
    if (logicalBackup === true && connection === undefined) {
      problems.push(
        `database.connection: database.logicalBackup: true dumps ${KINDS.database[kind].label} with pg_dump, which connects through a Secrets Manager secret holding {host, port, username, password, dbname}; set database.connection to {"secretsManager": "name or ARN"} (got nothing)`,
      );
    }
    if (logicalBackup === true && config.network === undefined) {
      problems.push(
        `network: database.logicalBackup: true runs pg_dump in an ECS Fargate task, in subnets that reach the database; set network to {"vpcId", "subnetIds", "securityGroupIds"} (got nothing)`,
      );
    }
    // The drill's copy is never public: the checks must run where the source's subnets and security groups reach it.
    // A scheduled drill (drillSchedule) restores the same private copy as one before a deploy (testRestore).
    const drill = config.backup?.testRestore ? 'backup.testRestore' : config.backup?.drillSchedule !== undefined ? 'backup.drillSchedule' : null;
    if (drill !== null && config.network === undefined) {
      problems.push(
        `network: ${drill} restores ${KINDS.database[kind].label}'s snapshot into a scratch copy without public access, in the source's subnets and security groups; the data checks reach it only from inside the VPC; set network to {"vpcId", "subnetIds", "securityGroupIds"} (got nothing)`,
      );
    }
    if (logicalBackup !== true && backupTask !== undefined) {
      problems.push(`database.backupTask: only used with database.logicalBackup: true, which is ${JSON.stringify(logicalBackup ?? false)}; remove it or set logicalBackup to true (got ${JSON.stringify(backupTask)})`);
    }
  }
  // backup.testRestore and backup.drillSchedule run on AWS (the backup task's drill-restore, lib/drill-schedule.ts; RDS and
  // Aurora: adapters/aws/rds-drill.ts); which databases a drill can restore is the schema's rule (drillDatabaseProblem).
  // A postgres database without a connection is named once, above.
  if (place === 'aws' && (config.checks?.sql.length ?? 0) > 0 && config.database !== null && config.database.kind !== 'postgres' && config.database.connection === undefined) {
    problems.push(
      `database.connection: the SQL checks (checks.sql) connect to the database, on AWS through a Secrets Manager secret holding {host, port, username, password, dbname}; set database.connection to {"secretsManager": "name or ARN"} (got nothing)`,
    );
  }
  config.analysis?.metrics.forEach(({ provider }, index) => {
    const entry = (KINDS.metricProvider as Record<string, { runs: Place | 'both' } | undefined>)[provider.kind];
    if (!entry || !runsIn(entry.runs, place)) problems.push(wrongPlace('metricProvider', provider.kind, place, `analysis.metrics[${index}].provider.kind`));
    if (place === 'aws' && provider.url?.includes(PROMETHEUS_ADDRESS)) {
      problems.push(
        `analysis.metrics[${index}].provider.url: ${PROMETHEUS_ADDRESS} is the Prometheus a local rehearsal starts; on AWS give your Prometheus' URL or an Amazon Managed Service for Prometheus workspace URL (got ${JSON.stringify(provider.url)})`,
      );
    }
  });
  for (const [field, secrets] of [['smokeTests', config.smokeTests.secrets] as const, ['analysis', config.analysis?.secrets ?? {}] as const]) {
    for (const [name, ref] of Object.entries(secrets)) {
      const problem = secretSourceProblem(ref, place);
      if (problem) problems.push(`${field}.secrets.${name}: ${problem}`);
    }
  }
  return problems;
}

/**
 * Whether the database gets logical backups (pg_dump by the backup task, lib/pg-backup-task.ts) on AWS: `postgres`
 * always (they are its backups), RDS and Aurora with `logicalBackup: true` (a copy beside the snapshot).
 */
export function takesLogicalBackups(database: { readonly kind: string; readonly logicalBackup?: boolean } | null | undefined): boolean {
  return database?.kind === 'postgres' || database?.logicalBackup === true;
}

/** Why a secret reference cannot be read in `place`, naming the way that can; null when it can. */
export function secretSourceProblem(ref: object, place: Place): string | null {
  const [source] = Object.keys(ref) as (keyof typeof SECRET_SOURCES)[];
  const known = SECRET_SOURCES[source];
  if (!known || known.runs === place) return null;
  const usable = Object.values(SECRET_SOURCES).find((s) => s.runs === place)?.label;
  return `${source} secrets are read only ${PLACE_NAME[known.runs]}; ${PLACE_NAME[place]} name the secret with ${usable} (got ${JSON.stringify(ref)})`;
}
