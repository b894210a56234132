import { z } from 'zod';

/**
 * The one configuration of a deploy-runbook target. The CDK construct, the Lambdas, the CLI and the
 * rehearsal all parse it with this schema, so a field means the same thing everywhere.
 */

const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/, 'must be 2-40 lowercase letters, digits or hyphens, starting with a letter');

/** User-chosen keys end up as JSON keys inside the state machine: nothing that could read as a JSONPath. */
const key = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must be a letter followed by up to 63 letters, digits, _ or -');

const awsName = z.string().min(1).max(255).regex(/^[A-Za-z0-9/_.:-]+$/, 'must be a name or ARN (letters, digits, / _ . : -)');
const lambdaArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$/, 'must be a Lambda function ARN');
const dbIdentifier = z
  .string()
  .regex(/^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,61}[A-Za-z0-9]$/, 'must be an RDS identifier: a letter, then letters, digits or single hyphens (max 63)');
const seconds = (min: number, max: number) => z.number().int().min(min).max(max);
const nonEmpty = z.string().min(1).max(2048);

const polling = (intervalSeconds: number, maxAttempts: number) =>
  z
    .strictObject({
      /** Seconds between two status checks. */
      intervalSeconds: seconds(1, 3600).default(intervalSeconds),
      /** Checks before the wait is given up as timed out. */
      maxAttempts: z.number().int().min(1).max(10_000).default(maxAttempts),
    })
    .prefault({});

export const EcsTarget = z.strictObject({
  kind: z.literal('ecs'),
  /** Cluster name or ARN. */
  cluster: awsName,
  /** Service name or ARN. */
  service: awsName,
  /** The container whose image the deployment replaces. */
  container: z.string().min(1).max(255),
  /** Task definition family of the service: new revisions are registered in it (and IAM is scoped to it). */
  family: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, 'must be a task definition family name'),
  /** Task role and execution role ARNs the task definition uses: registering a revision passes them (iam:PassRole). */
  passRoleArns: z.array(z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+$/, 'must be an IAM role ARN')).min(1).max(4),
  /** When set, an input image must come from this repository (e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop`). */
  imageRepository: z.string().min(1).max(256).optional(),
});

export const HookTarget = z.strictObject({
  kind: z.literal('hook'),
  /** A Lambda answering `{action: "current" | "deploy" | "rollback" | "status"}`. */
  functionArn: lambdaArn,
});

/** Rehearsal only: shell commands; `{{version}}` and `{{image}}` are substituted. */
export const CommandTarget = z.strictObject({
  kind: z.literal('command'),
  deploy: nonEmpty,
  rollback: nonEmpty,
  /** Prints the running version on stdout. */
  current: nonEmpty,
  cwd: z.string().optional(),
});

/** Rehearsal only: a local HTTP process started once per version (the demo app). */
export const ProcessTarget = z.strictObject({
  kind: z.literal('process'),
  /** argv of the process; `{{version}}` is substituted. */
  command: z.array(z.string().min(1)).min(1),
  port: z.number().int().min(1).max(65535),
  /** Path polled until it answers 2xx after a (re)start. */
  readyPath: z.string().startsWith('/').default('/health'),
  env: z.record(key, z.string()).default({}),
  cwd: z.string().optional(),
});

export const Target = z.discriminatedUnion('kind', [EcsTarget, HookTarget, CommandTarget, ProcessTarget]);

export const RestorePolicy = z.enum(['never', 'when-migrations-ran', 'always']);

const databaseCommon = {
  /** When the rollback restores the pre-deploy snapshot. */
  restorePolicy: RestorePolicy.default('when-migrations-ran'),
  /** A person approves a restore before it starts; a rejection or timeout means no restore. */
  restoreApproval: z
    .strictObject({
      required: z.boolean().default(false),
      timeoutMinutes: z.number().int().min(1).max(10_080).default(60),
    })
    .prefault({}),
  /** Manual snapshots that must stay free under the account quota after ours is taken. */
  snapshotQuotaHeadroom: z.number().int().min(0).max(1000).default(1),
};

const kmsKeyArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'must be a KMS key ARN');

export const RdsInstanceDatabase = z.strictObject({
  kind: z.literal('rds-instance'),
  instanceIdentifier: dbIdentifier,
  /** KMS key of the encrypted database: restoring its snapshot needs grants on it. */
  kmsKeyArn: kmsKeyArn.optional(),
  ...databaseCommon,
});

export const AuroraClusterDatabase = z.strictObject({
  kind: z.literal('aurora-cluster'),
  clusterIdentifier: dbIdentifier,
  /** KMS key of the encrypted database: restoring its snapshot needs grants on it. */
  kmsKeyArn: kmsKeyArn.optional(),
  ...databaseCommon,
});

/** Rehearsal (or any reachable PostgreSQL): pg_dump / pg_restore. */
export const PostgresDatabase = z.strictObject({
  kind: z.literal('postgres'),
  /** Environment variable holding the connection URL; the rehearsal sets it to the server it starts. */
  urlEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).default('DATABASE_URL'),
  ...databaseCommon,
});

export const Database = z.discriminatedUnion('kind', [RdsInstanceDatabase, AuroraClusterDatabase, PostgresDatabase]);

export const EcsTaskMigrations = z.strictObject({
  kind: z.literal('ecs-task'),
  /** Command override for the container, e.g. `["npm", "run", "migrate"]`. */
  command: z.array(z.string().min(1)).min(1).max(64),
  /** Container to run it in. @default the target's container */
  container: z.string().min(1).max(255).optional(),
});

export const HookMigrations = z.strictObject({
  kind: z.literal('hook'),
  functionArn: lambdaArn,
});

export const CommandMigrations = z.strictObject({
  kind: z.literal('command'),
  command: nonEmpty,
  cwd: z.string().optional(),
});

export const Migrations = z.discriminatedUnion('kind', [EcsTaskMigrations, HookMigrations, CommandMigrations]);

export const SecretRef = z.union([
  z.strictObject({
    /** Secrets Manager secret name or ARN. */
    secretsManager: awsName,
    /** For a JSON secret, the key to read. */
    jsonKey: z.string().min(1).max(256).optional(),
  }),
  z.strictObject({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name') }),
]);

export const JsonAssertion = z
  .strictObject({
    /** A simple JSONPath: `$.a.b`, `$.items[0].id`. */
    path: z.string().regex(/^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*$/, 'must be a simple JSONPath such as $.data.items[0].id'),
    equals: z.json().optional(),
    exists: z.boolean().optional(),
    matches: z.string().max(512).optional(),
  })
  .refine((a) => [a.equals, a.exists, a.matches].filter((x) => x !== undefined).length === 1, {
    message: 'needs exactly one of equals, exists, matches',
  })
  .refine((a) => a.matches === undefined || isRegex(a.matches), { message: 'matches is not a valid regular expression' });

function isRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const httpStatus = z.number().int().min(100).max(599);

export const SmokeCheck = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/, 'must be 1-64 letters, digits, spaces or _ . : -'),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    /** Appended to `baseUrl`; templates `{{secrets.X}}`, `{{vars.X}}`, `{{version}}` are expanded. */
    path: z.string().startsWith('/').max(2048),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name'), z.string().max(4096)).default({}),
    /** A JSON body (sent as application/json) or a string. */
    body: z.union([z.string().max(65_536), z.record(z.string(), z.json()), z.array(z.json())]).optional(),
    expect: z
      .strictObject({
        status: z.union([httpStatus, z.array(httpStatus).min(1)]).default(200),
        json: z.array(JsonAssertion).max(32).default([]),
        bodyContains: z.string().max(1024).optional(),
        /** The seeds' latency budget: 200-500 ms for a health check. */
        maxLatencyMs: z.number().int().min(1).max(120_000).optional(),
      })
      .prefault({}),
    /** Values taken from this response for later checks: `{"token": "$.token"}` → `{{vars.token}}`. */
    capture: z.record(key, z.string().regex(/^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*$/)).default({}),
    retries: z.number().int().min(0).max(10).default(0),
    retryDelayMs: z.number().int().min(0).max(60_000).default(1000),
  });

export const SmokeTests = z
  .strictObject({
    baseUrl: z.url({ protocol: /^https?$/ }),
    /** Independent checks run this many at a time. */
    concurrency: z.number().int().min(1).max(32).default(4),
    requestTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    secrets: z.record(key, SecretRef).default({}),
    checks: z.array(SmokeCheck).min(1).max(50),
  })
  .superRefine((smoke, ctx) => {
    const names = new Set<string>();
    const captured = new Set<string>();
    smoke.checks.forEach((check, index) => {
      if (names.has(check.name)) {
        ctx.addIssue({ code: 'custom', path: ['checks', index, 'name'], message: `duplicate check name '${check.name}'`, input: check.name });
      }
      names.add(check.name);
      for (const ref of templateRefs(check)) {
        if (ref.scope === 'secrets' && !(ref.name in smoke.secrets)) {
          ctx.addIssue({ code: 'custom', path: ['checks', index], message: `uses {{secrets.${ref.name}}} but smokeTests.secrets has no '${ref.name}'`, input: ref.name });
        }
        if (ref.scope === 'vars' && !captured.has(ref.name)) {
          ctx.addIssue({ code: 'custom', path: ['checks', index], message: `uses {{vars.${ref.name}}} but no earlier check captures '${ref.name}'`, input: ref.name });
        }
      }
      for (const name of Object.keys(check.capture)) captured.add(name);
    });
  });

/** `{{scope.name}}` references in a check's path, headers and body. */
export function templateRefs(check: { path: string; headers: Record<string, string>; body?: unknown }): { scope: string; name: string }[] {
  const text = [check.path, ...Object.values(check.headers), check.body === undefined ? '' : JSON.stringify(check.body)].join('\n');
  return [...text.matchAll(/\{\{\s*(secrets|vars)\.([A-Za-z][A-Za-z0-9_-]*)\s*\}\}/g)].map((m) => ({ scope: m[1], name: m[2] }));
}

export const PreexistingAlarms = z.enum(['report', 'block']);

export const CloudWatchAlarms = z.strictObject({
  kind: z.literal('cloudwatch'),
  /** Alarm names watched during the bake and, after it, for the rollback window. */
  names: z.array(z.string().min(1).max(255)).max(100).default([]),
  /** An alarm already in ALARM before the deploy: `report` it and go on, or `block` the deploy. */
  preexisting: PreexistingAlarms.default('report'),
});

/** Rehearsal: alarms computed from the app's Prometheus `/metrics`. */
export const PrometheusAlarms = z.strictObject({
  kind: z.literal('prometheus'),
  metricsUrl: z.url({ protocol: /^https?$/ }),
  rules: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(255),
        /** `error-ratio`: 5xx / all requests; `latency-p95`: milliseconds, from the duration histogram. */
        metric: z.enum(['error-ratio', 'latency-p95']),
        threshold: z.number().nonnegative(),
        /** Requests needed in the window before the rule can fire. */
        minRequests: z.number().int().min(0).default(10),
      }),
    )
    .default([]),
  preexisting: PreexistingAlarms.default('report'),
});

export const Alarms = z.discriminatedUnion('kind', [CloudWatchAlarms, PrometheusAlarms]);

export const RunbookConfig = z
  .strictObject({
    /** The deployment target's name: the lock, ledger, snapshot and report keys derive from it. */
    name: identifier,
    description: z.string().max(512).optional(),
    target: Target,
    database: Database.nullable().default(null),
    migrations: Migrations.nullable().default(null),
    smokeTests: SmokeTests,
    alarms: Alarms.prefault({ kind: 'cloudwatch' }),
    bake: z
      .strictObject({
        /** How long alarms are watched after the smoke tests pass (the seeds watch the first 30 minutes). */
        durationSeconds: seconds(0, 86_400).default(600),
        pollSeconds: seconds(5, 3600).default(60),
      })
      .prefault({}),
    /** After a release, an alarm within this many hours rolls it back (the seeds' 8-hour decision point). 0 disables. */
    rollbackWindowHours: z.number().min(0).max(168).default(8),
    notifications: z
      .strictObject({
        /** SNS topic ARN for success, rollback and rollback-failure messages. */
        topicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'must be an SNS topic ARN').optional(),
      })
      .prefault({}),
    polling: z
      .strictObject({
        snapshot: polling(30, 240),
        deployment: polling(15, 120),
        migrations: polling(15, 240),
        restore: polling(30, 360),
      })
      .prefault({}),
    /** The state machine gives up after this long; it bounds the lock lease too. */
    executionTimeoutMinutes: z.number().int().min(5).max(1440).default(360),
    lock: z
      .strictObject({
        /** A lease past this age is stale and can be taken over. @default executionTimeoutMinutes + 5 */
        leaseMinutes: z.number().int().min(5).max(10_080).optional(),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.lock.leaseMinutes !== undefined && config.lock.leaseMinutes < config.executionTimeoutMinutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['lock', 'leaseMinutes'],
        input: config.lock.leaseMinutes,
        message: `must be at least executionTimeoutMinutes (${config.executionTimeoutMinutes}): a shorter lease could be taken over while the execution still runs`,
      });
    }
    if (config.migrations?.kind === 'ecs-task' && config.target.kind !== 'ecs') {
      ctx.addIssue({ code: 'custom', path: ['migrations', 'kind'], input: 'ecs-task', message: "'ecs-task' migrations need an 'ecs' target" });
    }
    if (config.bake.durationSeconds > 0 && config.bake.pollSeconds > config.bake.durationSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['bake', 'pollSeconds'],
        input: config.bake.pollSeconds,
        message: `must not exceed bake.durationSeconds (${config.bake.durationSeconds})`,
      });
    }
  })
  .transform((config) => ({
    ...config,
    lock: { leaseMinutes: config.lock.leaseMinutes ?? config.executionTimeoutMinutes + 5 },
  }));

/** The configuration as written in the JSON file. */
export type RunbookConfigInput = z.input<typeof RunbookConfig>;
/** The configuration with every default filled in: what the state machine carries. */
export type RunbookConfig = z.output<typeof RunbookConfig>;
export type SmokeCheck = z.output<typeof SmokeCheck>;
export type SmokeTestsConfig = z.output<typeof SmokeTests>;
export type SecretRef = z.output<typeof SecretRef>;
export type JsonAssertion = z.output<typeof JsonAssertion>;
export type TargetConfig = z.output<typeof Target>;
export type DatabaseConfig = z.output<typeof Database>;
export type MigrationsConfig = z.output<typeof Migrations>;
export type AlarmsConfig = z.output<typeof Alarms>;
