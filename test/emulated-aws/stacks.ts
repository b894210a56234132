import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { App, Duration } from 'aws-cdk-lib';
import type { RunbookConfigInput } from '../../config/schema';
import { DeployRunbookStack } from '../../lib/deploy-runbook-stack';
import { ReleasePlanStack } from '../../lib/release-plan-stack';
import { PROJECT_ROOT } from '../../lib/runbook-function';

/** The emulated account: moto's default account, one region. */
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

/** The app the smoke tests reach: a name the functions' emulated network resolves to the test's fake app. */
export const APP_HOST = 'shop-api.tier.test';
export const APP_PORT = 8080;
export const IMAGE_REPOSITORY = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/shop-api`;
export const TOPIC_NAME = 'shop-deployments';
export const SMOKE_SECRET = 'shop/prod/smoke-user';
/** The postgres stack's connection secret: {host, port, username, password, dbname} of the tier's PostgreSQL. */
export const PG_SECRET = 'shop/prod/db';
/**
 * The rdscopy stack's connection secret, in the format RDS's own secrets have: {engine, host, port, username,
 * password, dbname, dbInstanceIdentifier}, the host being the instance's endpoint as moto describes it.
 */
export const RDS_SECRET = 'shop/prod/rds';
/**
 * Every endpoint name moto gives RDS instances and clusters (`<id>.aaaaaaaaaa.<region>.rds.amazonaws.com`,
 * `<id>.cluster-….rds.amazonaws.com`): the emulated network resolves them to the throwaway PostgreSQL's address, for
 * the functions and for a bridged task's processes (tier-dns.mjs, moto/launch.py). The port is the instance's own:
 * a test creates the instance with the server's port.
 */
export const RDS_ENDPOINTS = '*.rds.amazonaws.com';
export const ALARMS = ['shop-api-5xx-rate', 'shop-api-p95-latency'] as const;
export const PASS_ROLES = [`arn:aws:iam::${ACCOUNT}:role/shop-api-task`, `arn:aws:iam::${ACCOUNT}:role/shop-api-execution`] as const;

/** What the analysis stack measures: a CloudWatch namespace, a log group, a Prometheus behind a bearer token. */
export const METRIC_NAMESPACE = 'ShopApi';
export const LOG_GROUP = '/ecs/shop-api';
export const PROMETHEUS_HOST = 'prometheus.tier.test';
export const PROMETHEUS_PORT = 9090;
export const PROMETHEUS_SECRET = 'shop/prod/prometheus-token';
/** An Amazon Managed Service for Prometheus workspace: signed queries the tier cannot answer (see analysis.test.ts). */
export const APS_WORKSPACE_URL = `https://aps-workspaces.${REGION}.amazonaws.com/workspaces/ws-tier-0001`;

/** A configuration the way a team on ECS + RDS writes it, pointed at resources the tier creates in moto. */
function shopConfig(name: string, database: RunbookConfigInput['database']): RunbookConfigInput {
  return {
    name,
    target: {
      kind: 'ecs',
      cluster: 'shop-prod',
      service: 'shop-api',
      container: 'api',
      family: 'shop-api',
      passRoleArns: [...PASS_ROLES],
      imageRepository: IMAGE_REPOSITORY,
    },
    database,
    migrations: { kind: 'ecs-task', command: ['npm', 'run', 'migrate'] },
    smokeTests: {
      baseUrl: `http://${APP_HOST}:${APP_PORT}`,
      secrets: { SMOKE_PASSWORD: { secretsManager: SMOKE_SECRET, jsonKey: 'password' } },
      checks: [
        { name: 'health', path: '/health', expect: { json: [{ path: '$.status', equals: 'healthy' }, { path: '$.version', equals: '{{version}}' }] } },
        {
          name: 'login',
          method: 'POST',
          path: '/api/auth/login',
          body: { email: 'smoke-test@example.com', password: '{{secrets.SMOKE_PASSWORD}}' },
          expect: { json: [{ path: '$.token', exists: true }] },
          capture: { token: '$.token' },
        },
        { name: 'profile with token', path: '/api/users/me', headers: { Authorization: 'Bearer {{vars.token}}' }, expect: { json: [{ path: '$.email', equals: 'smoke-test@example.com' }] } },
        { name: 'protected without token', path: '/api/users/me', expect: { status: 401 } },
      ],
    },
    alarms: { kind: 'cloudwatch', names: [...ALARMS], preexisting: 'report' },
    // Six evaluations; Wait states are compressed by moto/launch.py, the count is what matters.
    bake: { durationSeconds: 30, pollSeconds: 5 },
    // moto/launch.py compresses the execution timeout like Wait states, but not the work between them: the
    // longest allowed (86.4 s in the tier) is one no scenario's real work nears. The `timeout` stack shortens it.
    executionTimeoutMinutes: 1440,
    rollbackWindowHours: 8,
    notifications: { topicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:${TOPIC_NAME}` },
    polling: {
      snapshot: { intervalSeconds: 1, maxAttempts: 30 },
      deployment: { intervalSeconds: 1, maxAttempts: 30 },
      migrations: { intervalSeconds: 1, maxAttempts: 30 },
      restore: { intervalSeconds: 1, maxAttempts: 60 },
    },
  };
}

/**
 * The seeds' thresholds as analysis metrics, one per provider that runs on AWS: the 5xx ratio by metric math over
 * two CloudWatch metrics, ERROR lines counted by Logs Insights, p95 latency from a Prometheus that wants a bearer
 * token from Secrets Manager (compared with the baseline), and a dry-run metric on a managed Prometheus workspace.
 */
function withAnalysis(config: RunbookConfigInput): RunbookConfigInput {
  return {
    ...config,
    analysis: {
      // Two measurements in the six-evaluation bake: the third evaluation and the last.
      checkpoints: '15s, 30s',
      // Hourly after the release, through the 8 h rollback window: the scenario starts the checkpoints itself.
      watch: { everyMinutes: 60 },
      secrets: { PROMETHEUS_TOKEN: { secretsManager: PROMETHEUS_SECRET, jsonKey: 'token' } },
      metrics: [
        {
          name: 'error-rate',
          provider: {
            kind: 'cloudwatch',
            expression: 'errors / requests',
            metrics: {
              errors: { namespace: METRIC_NAMESPACE, metricName: 'Errors5xx', dimensions: { Service: 'shop-api' }, stat: 'Sum' },
              requests: { namespace: METRIC_NAMESPACE, metricName: 'Requests', dimensions: { Service: 'shop-api' }, stat: 'Sum' },
            },
          },
          windowSeconds: 300,
          failureCondition: 'result > 0.01',
        },
        {
          name: 'error-lines',
          provider: { kind: 'logs', logGroupNames: [LOG_GROUP], query: 'filter @message like /ERROR/ | stats count() as errors' },
          windowSeconds: 300,
          failureCondition: 'result > 5',
          // Logs Insights answers no row when no line matched.
          noData: 'success',
        },
        {
          name: 'p95-latency',
          provider: {
            kind: 'prometheus',
            url: `http://${PROMETHEUS_HOST}:${PROMETHEUS_PORT}`,
            query: 'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{job="shop-api"}[5m])) by (le))',
            headers: { Authorization: 'Bearer {{secrets.PROMETHEUS_TOKEN}}' },
          },
          successCondition: 'result <= baseline * 1.5',
        },
        {
          name: 'managed-p99',
          provider: { kind: 'prometheus', url: APS_WORKSPACE_URL, query: 'histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))', sigv4: true },
          successCondition: 'result <= 2',
          dryRun: true,
        },
      ],
    },
  };
}

/** The lambda-alias stack's function, its alias, and the bucket CI uploads its zip packages to. */
export const FUNCTION_NAME = 'shop-fn';
export const FUNCTION_ALIAS = 'live';
export const CODE_BUCKET = 'shop-artifacts';

/**
 * A serverless team: the function behind an alias, 10 % for a quarter of a minute (three evaluations), then 100 %
 * baked as configured. No database, no migrations; at 10 % most requests still reach v1, so the health check
 * here does not compare the version.
 */
function lambdaConfig(): RunbookConfigInput {
  const config = shopConfig('shop', null);
  const [health, ...others] = config.smokeTests.checks;
  return {
    ...config,
    target: { kind: 'lambda-alias', functionName: FUNCTION_NAME, alias: FUNCTION_ALIAS, codeBucket: CODE_BUCKET, traffic: { steps: [{ percent: 10, minutes: 0.25 }, { percent: 100 }] } },
    migrations: null,
    smokeTests: { ...config.smokeTests, checks: [{ ...health, expect: { json: [{ path: '$.status', equals: 'healthy' }] } }, ...others] },
  };
}

/** The tags the hosts stack selects its EC2 instances by. */
export const HOST_TAGS = { app: 'shop-api', env: 'prod' } as const;
/** The staging stack's: the one instance of the same app the hosts stack must leave alone. */
export const STAGING_HOST_TAGS = { ...HOST_TAGS, env: 'staging' } as const;

/**
 * A team on EC2 instances: the three commands and a tag, run by SSM Run Command one host at a time, each checked
 * ready before the next. `tier-host …` is what the tier's fake hosts run (moto/launch.py). No database: this stack
 * proves the target. The fake app answers as the ECS service, which this stack never changes: its health check
 * judges the status only.
 */
function onHosts(config: RunbookConfigInput, tags: Record<string, string> = HOST_TAGS): RunbookConfigInput {
  const [health, ...checks] = config.smokeTests.checks;
  return {
    ...config,
    target: {
      kind: 'ssm-hosts',
      tags: { ...tags },
      deploy: 'tier-host deploy {{version}}',
      rollback: 'tier-host rollback {{version}}',
      current: 'tier-host current',
      ready: 'tier-host ready {{version}}',
      maxConcurrency: 1,
      maxErrors: 0,
    },
    migrations: null,
    smokeTests: { ...config.smokeTests, checks: [{ ...health, expect: { json: [{ path: '$.status', equals: 'healthy' }] } }, ...checks] },
  };
}

/** The subnets and security group of the stacks whose functions and task reach a database (moto checks none of them). */
const TIER_NETWORK = { vpcId: 'vpc-0a1b2c3d4e5f67890', subnetIds: ['subnet-0a1b2c3d4e5f67890'], securityGroupIds: ['sg-0a1b2c3d4e5f67890'] };

/**
 * What an RDS or Aurora drill checks on its copy (the rdsdrill and auroradrill stacks): 'no order lost in transit'
 * runs on restored copies only, so a row the source holds (the copy's endpoint reaches the same server) fails a drill.
 */
const RDS_DRILL = {
  checks: {
    sql: [
      { name: 'customers kept', sql: 'SELECT count(*) FROM customers', expect: { atLeast: 300 }, when: ['preflight', 'after-restore'] },
      { name: 'no order lost in transit', sql: "SELECT count(*) FROM orders WHERE status = 'lost'", expect: { equals: 0 }, when: ['after-restore'] },
    ],
  },
  backup: { fingerprint: { checksumTables: ['orders', 'settings'] } },
} satisfies Pick<RunbookConfigInput, 'checks' | 'backup'>;

/** The `postgres` stack's configuration (TIER_STACKS says what it is), which the `drill` stack extends. */
const POSTGRES_SHOP = {
  ...shopConfig('shop', { kind: 'postgres', connection: { secretsManager: PG_SECRET, sslmode: 'disable' }, restorePolicy: 'always', restoreApproval: { required: false } }),
  network: TIER_NETWORK,
  checks: {
    sql: [
      { name: 'customers kept', sql: 'SELECT count(*) FROM customers', expect: { atLeast: 300 }, when: ['preflight', 'after-restore'] },
      { name: 'every order has a status', sql: 'SELECT count(*) FROM orders WHERE status IS NULL', expect: { equals: 0 }, when: ['after-migrations'] },
    ],
  },
  // A weekly restore drill (drill-schedule.test.ts reads the schedule back and starts what it would start).
  backup: { fingerprint: { checksumTables: ['orders', 'settings'] }, drillSchedule: 'cron(0 3 ? * MON *)', drillScheduleTimezone: 'Europe/Paris' },
  // The scenarios change data while the fake migration task runs (5 s real): checks a hundredth of a minute apart
  // outlast it, where 30 one-second checks (0.3 s at this file's time scale) could run out before it ended.
  polling: { ...shopConfig('shop', null).polling, migrations: { intervalSeconds: 60, maxAttempts: 30 } },
} satisfies RunbookConfigInput;

/** The stacks the tier deploys, by name: each is one configuration a team could write. */
export const TIER_STACKS = {
  /** ECS + RDS PostgreSQL instance; the database is restored when migrations ran, without approval. */
  instance: shopConfig('shop', { kind: 'rds-instance', instanceIdentifier: 'shop-db', restorePolicy: 'when-migrations-ran', restoreApproval: { required: false } }),
  /** The same, but a person approves each restore (deploy-runbook approve). */
  approval: shopConfig('shop', { kind: 'rds-instance', instanceIdentifier: 'shop-db', restorePolicy: 'always', restoreApproval: { required: true, timeoutMinutes: 30 } }),
  /**
   * The approval stack with the default execution timeout, 6 hours: 21.6 s in the tier, well after the
   * restore starts waiting for a person and long before that wait (30 minutes, not compressed) times out.
   */
  timeout: { ...shopConfig('shop', { kind: 'rds-instance', instanceIdentifier: 'shop-db', restorePolicy: 'always', restoreApproval: { required: true, timeoutMinutes: 30 } }), executionTimeoutMinutes: 360 },
  /**
   * A person decides before an automatic rollback (issue 12, item 4), and without an answer the release is kept; no
   * restore, so the scenarios are about the app alone.
   */
  rollback: {
    ...shopConfig('shop', { kind: 'rds-instance', instanceIdentifier: 'shop-db', restorePolicy: 'never', restoreApproval: { required: false } }),
    rollbackApproval: { required: true, timeoutMinutes: 30, onTimeout: 'keep' },
  },
  /** ECS + Aurora PostgreSQL cluster, restored on every rollback. */
  aurora: shopConfig('shop', { kind: 'aurora-cluster', clusterIdentifier: 'shop-cluster', restorePolicy: 'always', restoreApproval: { required: false } }),
  /**
   * Analysis metrics from CloudWatch, Logs Insights and Prometheus deciding beside the alarms; restores are the
   * other stacks' business, so a rollback here redeploys the app only.
   */
  analysis: withAnalysis(shopConfig('shop', { kind: 'rds-instance', instanceIdentifier: 'shop-db', restorePolicy: 'never', restoreApproval: { required: false } })),
  /** A Lambda function behind an alias, shifted in a canary step. */
  lambda: lambdaConfig(),
  /** EC2 instances tagged app=shop-api, env=prod, deployed by SSM Run Command in batches of one (issue 12). */
  hosts: onHosts(shopConfig('shop', null)),
  /** The same app's staging environment: the instance tagged env=staging, its own runbook (issue 13's release plans). */
  staging: onHosts(shopConfig('shop-staging', null), STAGING_HOST_TAGS),
  /**
   * ECS + a self-managed PostgreSQL (the tier's throwaway server on 127.0.0.1) reached through a secret: logical
   * backups and restores by the stack's ECS task, whose containers moto/launch.py runs locally; SQL checks (the
   * seeded shop of test/local/postgres/fixtures.ts) in Preflight, as the gate after migrations and after a restore.
   */
  postgres: POSTGRES_SHOP,
  /**
   * The postgres stack with the restore drill before every deploy (backup.testRestore) instead of a schedule, issue 11
   * item 5: the backup task restores each fresh dump into `shop_drill_<ts>`, the data-checks function checks that copy,
   * the restore function drops it. 'no order lost in transit' runs on restored copies only: a row the live database
   * holds makes the drill fail.
   */
  drill: {
    ...POSTGRES_SHOP,
    checks: { sql: [...POSTGRES_SHOP.checks.sql, { name: 'no order lost in transit', sql: "SELECT count(*) FROM orders WHERE status = 'lost'", expect: { equals: 0 }, when: ['after-restore'] }] },
    backup: { fingerprint: POSTGRES_SHOP.backup.fingerprint, testRestore: true },
    // The task's pg_restore takes seconds of real time: checks 0.6 s apart at the drill file's time scale outlast it.
    polling: { ...POSTGRES_SHOP.polling, snapshot: { intervalSeconds: 60, maxAttempts: 60 }, restore: { intervalSeconds: 60, maxAttempts: 60 } },
  },
  /**
   * ECS + an RDS PostgreSQL instance with a logical copy beside each snapshot (database.logicalBackup): the backup task
   * dumps the instance's endpoint (from RDS_SECRET), which the emulated network resolves to the tier's throwaway
   * PostgreSQL. The snapshot stays what a rollback restores, so every rollback restores it.
   */
  rdscopy: {
    ...shopConfig('shop', {
      kind: 'rds-instance',
      instanceIdentifier: 'shop-db',
      logicalBackup: true,
      // The throwaway server speaks no TLS; an RDS instance would be reached with verify-full.
      connection: { secretsManager: RDS_SECRET, sslmode: 'disable' },
      restorePolicy: 'always',
      restoreApproval: { required: false },
    }),
    network: TIER_NETWORK,
    // The snapshot is available at once in moto, the dump when the task has stored and listed it (real processes):
    // checks 0.6 s apart at that file's time scale (1/100) leave the task 18 s.
    polling: { ...shopConfig('shop', null).polling, snapshot: { intervalSeconds: 60, maxAttempts: 30 } },
  },
  /**
   * ECS + an RDS PostgreSQL instance drilled on demand (`{action: drill}`, issue 11 item 5): the fresh snapshot is
   * restored into `shop-db-drill-<ts>`, the data-checks function checks that copy through RDS_SECRET's credentials at
   * the copy's endpoint (resolved, as every `*.rds.amazonaws.com` name, to the tier's throwaway PostgreSQL), the
   * restore function deletes it. No logical backup: the snapshot is what is drilled.
   */
  rdsdrill: {
    ...shopConfig('shop', {
      kind: 'rds-instance',
      instanceIdentifier: 'shop-db',
      connection: { secretsManager: RDS_SECRET, sslmode: 'disable' },
      restorePolicy: 'always',
      restoreApproval: { required: false },
    }),
    network: TIER_NETWORK,
    ...RDS_DRILL,
  },
  /**
   * ECS + an Aurora PostgreSQL cluster drilled on demand (`{action: drill}`) AND with a logical copy beside each cluster
   * snapshot (database.logicalBackup): one stack for both, as a team would configure it (aurora-drill.test.ts). The
   * drill restores the fresh cluster snapshot into the cluster `shop-cluster-drill-<ts>` with one writer of that name,
   * the data-checks function checks it at the copy's cluster endpoint, the restore function deletes the writer then
   * the cluster; the backup task dumps the cluster's endpoint (from RDS_SECRET). Every `*.rds.amazonaws.com` name
   * resolves to the tier's throwaway PostgreSQL, and moto's cluster has its port.
   */
  auroradrill: {
    ...shopConfig('shop', {
      kind: 'aurora-cluster',
      clusterIdentifier: 'shop-cluster',
      logicalBackup: true,
      connection: { secretsManager: RDS_SECRET, sslmode: 'disable' },
      restorePolicy: 'always',
      restoreApproval: { required: false },
    }),
    network: TIER_NETWORK,
    ...RDS_DRILL,
    // The dump is real processes: as in the rdscopy stack, snapshot checks 0.6 s apart at the file's time scale.
    polling: { ...shopConfig('shop', null).polling, snapshot: { intervalSeconds: 60, maxAttempts: 30 } },
  },
} satisfies Record<string, RunbookConfigInput>;
export type TierStackName = keyof typeof TIER_STACKS;

/** The release plan stack (lib/release-plan-stack.ts) over the staging and hosts runbooks: a plan's stages are those two. */
export const PLAN_STACK = 'plans';
/** The runbooks the plan stack may start, as stage names of the tier's plans: staging first, then production. */
export const PLAN_RUNBOOKS = { staging: 'staging', production: 'hosts' } as const satisfies Record<string, TierStackName>;

export function stackName(name: TierStackName | typeof PLAN_STACK): string {
  return `DeployRunbook-tier-${name}`;
}

/** What one synthesis produced: the cloud assembly directory and each stack's template. */
export interface SynthesizedTier {
  readonly outdir: string;
  readonly templates: Readonly<Record<TierStackName | typeof PLAN_STACK, TemplateJson>>;
}

export interface TemplateJson {
  readonly Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
  readonly [key: string]: unknown;
}

/** Inputs of a synthesis: when none of these files changes, the cached cloud assembly is still the one `cdk synth` would write. */
const SOURCES = ['lib', 'core', 'adapters', 'lambdas', 'statemachines', 'config', 'package-lock.json', 'test/emulated-aws/stacks.ts'];

function sourceHash(): string {
  const hash = createHash('sha256');
  const visit = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry));
    } else {
      hash.update(relative(PROJECT_ROOT, path)).update(readFileSync(path));
    }
  };
  for (const source of SOURCES) visit(join(PROJECT_ROOT, source));
  return hash.digest('hex').slice(0, 16);
}

/**
 * Synthesizes the tier's stacks the way `bin/app.ts` does (functions bundled by esbuild into cdk.out), once for
 * a given source tree: concurrent test files wait for the one that synthesizes, and later runs reuse its output.
 */
export async function synthesizeTier(): Promise<SynthesizedTier> {
  const root = join(PROJECT_ROOT, '.tmp', 'emulated-aws');
  const outdir = join(root, `cdk.out-${sourceHash()}`);
  const done = join(outdir, 'tier-synth.done');
  const lock = `${outdir}.lock`;
  mkdirSync(root, { recursive: true });
  const deadline = Date.now() + 300_000;
  while (!existsSync(done)) {
    try {
      mkdirSync(lock);
    } catch {
      // Another test file is synthesizing the same sources; a lock older than 5 minutes was left by a crash.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs! > 300_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    try {
      const staging = `${outdir}.staging`;
      rmSync(staging, { recursive: true, force: true });
      const app = new App({ outdir: staging });
      const env = { account: ACCOUNT, region: REGION };
      const runbooks = new Map<string, DeployRunbookStack>();
      for (const [name, config] of Object.entries(TIER_STACKS)) {
        runbooks.set(name, new DeployRunbookStack(app, stackName(name as TierStackName), { config, env }));
      }
      // A user's app: the plan stack given the runbooks of the same app (their ARNs, names and buckets are exported to it).
      // A week's timeout: 604.8 s in the tier, far beyond a plan's real work (its children's Lambda calls are not compressed).
      new ReleasePlanStack(app, stackName(PLAN_STACK), {
        env,
        runbooks: Object.values(PLAN_RUNBOOKS).map((name) => runbooks.get(name)!.runbook),
        executionTimeout: Duration.days(7),
      });
      app.synth();
      writeFileSync(join(staging, 'tier-synth.done'), new Date().toISOString());
      rmSync(outdir, { recursive: true, force: true });
      renameSync(staging, outdir);
      // Assemblies of older sources are never read again.
      for (const old of readdirSync(root).filter((entry) => /^cdk\.out-[0-9a-f]+$/.test(entry) && join(root, entry) !== outdir)) {
        rmSync(join(root, old), { recursive: true, force: true });
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  const templates = Object.fromEntries(
    [...Object.keys(TIER_STACKS), PLAN_STACK].map((name) => [name, JSON.parse(readFileSync(join(outdir, `${stackName(name as TierStackName)}.template.json`), 'utf8'))]),
  ) as Record<TierStackName | typeof PLAN_STACK, TemplateJson>;
  return { outdir, templates };
}
