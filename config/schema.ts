import { z } from 'zod';
import { historyProblem, timeoutProblem } from './budgets';
import { drillDatabaseProblem, drillScheduleProblem, drillTimezoneProblem } from './restore-drill';
import { apsWorkspaceOf, canSucceed, parseCondition, parseSchedule } from './analysis';
import { type HostCommand, placeholderProblem } from './host-commands';
import { IMAGE_REPOSITORY } from './image-reference';
import { metadataAddressProblem } from './metadata-addresses';
import { MetricName } from './metric-name';
import { SqlCheckName } from './sql-check-name';
import { templateRefsOf } from './template-syntax';
import { presetSteps, TRAFFIC_PRESET_FORMS, trafficStepProblems } from './traffic';
import { EVERY_EVENT_AUDIENCE, NOTIFICATION_EVENTS } from './notification-topics';

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
const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+$/, 'must be an IAM role ARN');
const seconds = (min: number, max: number) => z.number().int().min(min).max(max);
const nonEmpty = z.string().min(1).max(2048);

const snsTopicArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, 'must be an SNS topic ARN')
  // A FIFO topic refuses a Publish without a message group id, and the notifications send none.
  .refine((arn) => !arn.endsWith('.fifo'), 'must be a standard SNS topic: a FIFO topic needs a message group id, which the notifications do not send');

/** Where people hear about deployments: one topic for every event, and topics per audience for the events each wants. */
export const Notifications = z
  .strictObject({
    /** SNS topic ARN that receives every event (start, success, abort, rollback, rollback failure, approval requests). */
    topicArn: snsTopicArn.optional(),
    /** Topics per audience (support, stakeholders, on-call), each receiving only the events it lists. */
    topics: z
      .array(
        z.strictObject({
          topicArn: snsTopicArn,
          /** Who reads the topic; sent as the `audience` message attribute, which subscriptions can filter on. */
          audience: z
            .string()
            .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be 1-40 lowercase letters, digits or hyphens, starting with a letter')
            .refine((name) => name !== EVERY_EVENT_AUDIENCE, `is reserved for notifications.topicArn, which receives every event`),
          events: z.array(z.enum(NOTIFICATION_EVENTS)).min(1).max(NOTIFICATION_EVENTS.length),
        }),
      )
      .max(10)
      .default([]),
  })
  .superRefine((notifications, ctx) => {
    const seen = new Map<string, string>(notifications.topicArn ? [[notifications.topicArn, 'notifications.topicArn']] : []);
    const audiences = new Map<string, number>();
    notifications.topics.forEach((topic, index) => {
      const first = seen.get(topic.topicArn);
      if (first) ctx.addIssue({ code: 'custom', path: ['topics', index, 'topicArn'], message: `is already ${first}: a topic is named once, with every event it receives` });
      else seen.set(topic.topicArn, `notifications.topics[${index}].topicArn`);
      const other = audiences.get(topic.audience);
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['topics', index, 'audience'], message: `duplicate audience: notifications.topics[${other}] is already for '${topic.audience}'` });
      else audiences.set(topic.audience, index);
      const twice = topic.events.filter((event, at) => topic.events.indexOf(event) !== at);
      if (twice.length > 0) ctx.addIssue({ code: 'custom', path: ['topics', index, 'events'], message: `names ${twice.join(', ')} twice` });
    });
  })
  .prefault({});

/** ValidateInput receives the whole configuration as its input, which Step Functions caps at 256 KiB; the definition holds it, by section, a few times over. */
export const MAX_CONFIG_BYTES = 64 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parsedUrl(text: string): URL | null {
  return URL.canParse(text) ? new URL(text) : null;
}

/**
 * An http(s) URL without a user name or password (a configuration holds references to secrets, never
 * secrets) and away from the metadata endpoints that hand out the caller's own credentials.
 */
const httpUrl = (instead: string) =>
  z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .refine((text) => {
      const url = parsedUrl(text);
      return url === null || (url.username === '' && url.password === '');
    }, `must not contain a user name or password: ${instead}`)
    .superRefine((text, ctx) => {
      const problem = metadataAddressProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/** A key ending in `.$` inside Parameters is read by Step Functions as a path, and the configuration sits in a Pass state's Parameters. */
const STATE_PATH_KEY = /\.\$$/;

function statePathKeys(value: unknown, at: PropertyKey[] = []): PropertyKey[][] {
  if (Array.isArray(value)) return value.flatMap((item, index) => statePathKeys(item, [...at, index]));
  if (!isRecord(value)) return [];
  return Object.entries(value).flatMap(([name, item]) => [...(STATE_PATH_KEY.test(name) ? [[...at, name]] : []), ...statePathKeys(item, [...at, name])]);
}

/** Free-form JSON the user writes (a request body, an expected value): any JSON, except keys Step Functions would evaluate. */
function withoutStatePathKeys<T extends z.ZodType>(schema: T): T {
  return schema.superRefine((value, ctx) => {
    for (const path of statePathKeys(value)) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: 'keys ending in ".$" are read as JSONPath by Step Functions (the configuration is part of the state machine definition); rename the key',
      });
    }
  });
}

/**
 * Options for a cross-field rule: it runs unless one of `fields` is itself invalid, so it is reported
 * together with mistakes elsewhere instead of after they are fixed.
 */
function unlessInvalid(...fields: string[]): { when: (payload: z.core.ParsePayload) => boolean } {
  return { when: (payload) => isRecord(payload.value) && !payload.issues.some((issue) => fields.includes(String(issue.path?.[0]))) };
}

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
  passRoleArns: z.array(roleArn).min(1).max(4),
  /** When set, an input image must come from this repository (e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop`). */
  imageRepository: z
    .string()
    .max(256)
    .regex(IMAGE_REPOSITORY, 'must be an image repository without a tag or digest, such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api')
    .optional(),
});

export const HookTarget = z.strictObject({
  kind: z.literal('hook'),
  /** A Lambda answering `{action: "current" | "deploy" | "rollback" | "status"}`. */
  functionArn: lambdaArn,
});

/** How a lambda-alias target shifts the alias: a CodeDeploy-shaped preset or explicit steps. */
const Traffic = z.union([
  z.string().refine((name) => presetSteps(name) !== null, `must be ${TRAFFIC_PRESET_FORMS}, or {"steps": [...]}`),
  z
    .strictObject({
      steps: z
        .array(
          z.strictObject({
            /** The new version's share of the alias's traffic during this step. */
            percent: z.number().gt(0, 'must be more than 0').max(100, 'must be at most 100'),
            /** How long this step is baked before the next; left out on the last step (the bake decides). */
            minutes: z.number().gt(0, 'must be more than 0').max(1440, 'must be at most 1440').optional(),
          }),
        )
        .min(1)
        .max(20),
    })
    .superRefine((traffic, ctx) => {
      for (const problem of trafficStepProblems(traffic.steps)) {
        ctx.addIssue({ code: 'custom', path: ['steps', problem.index, problem.field], message: problem.message });
      }
    }),
]);

/**
 * A Lambda function's alias: Deploy updates the function's code (`image`: an S3 object of `codeBucket` or an image
 * of `imageRepository`) and publishes a version; the alias then moves to it in `traffic` steps.
 */
export const LambdaAliasTarget = z.strictObject({
  kind: z.literal('lambda-alias'),
  /** The function's name (not its ARN): IAM is scoped to it and its versions. */
  functionName: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a Lambda function name (letters, digits, _ or -, up to 64)'),
  /** The alias callers invoke; it must exist (Preflight reads the version it points to: the rollback target). */
  alias: z.string().regex(/^(?![0-9]+$)[A-Za-z0-9_-]{1,128}$/, 'must be an alias name (letters, digits, _ or -, not only digits)'),
  /** A zip-packaged function: the input `image` is `s3://<codeBucket>/<key>`. */
  codeBucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')
    .optional(),
  /** A container-image function: the input `image` is `<imageRepository>:<version>`. */
  imageRepository: z
    .string()
    .max(256)
    .regex(IMAGE_REPOSITORY, 'must be an image repository without a tag or digest, such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-fn')
    .optional(),
  /** @default AllAtOnce */
  traffic: Traffic.default('AllAtOnce'),
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

/** A shell command run on each host; only the placeholders HOST_COMMAND_PLACEHOLDERS allows for it. */
const hostCommand = (field: HostCommand) =>
  z
    .string()
    .min(1)
    .max(4096)
    .superRefine((text, ctx) => {
      const problem = placeholderProblem(field, text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/** How many hosts a batch holds: a count, or a percentage of the fleet (rounded up, at least one host). */
const maxConcurrency = z.union([
  z.number().int().min(1).max(1000),
  z.string().regex(/^(100|[1-9][0-9]?)%$/, 'must be a count of hosts such as 2, or a percentage of the fleet such as "25%"'),
]);

/** The rolling fields both hosts targets share. */
const rolling = {
  /** Hosts deployed at once: each batch is checked before the next starts. */
  maxConcurrency: maxConcurrency.default(1),
  /** Hosts that may fail (their command or their ready check) before the deployment stops and rolls back. */
  maxErrors: z.number().int().min(0).max(1000).default(0),
};

const tagKey = z.string().regex(/^(?!aws:)[A-Za-z0-9 _.:/=+@-]{1,128}$/, 'must be an EC2 tag key: 1-128 letters, digits, spaces or _ . : / = + @ - (not starting with aws:)');
const tagValue = z.string().regex(/^[A-Za-z0-9 _.:/=+@-]{0,256}$/, 'must be an EC2 tag value: up to 256 letters, digits, spaces or _ . : / = + @ -');

/**
 * EC2 (or SSM-managed) instances, selected by tags, each running the three commands through SSM Run Command
 * (`AWS-RunShellScript`), in batches.
 */
export const SsmHostsTarget = z.strictObject({
  kind: z.literal('ssm-hosts'),
  /** Running instances carrying every one of these tags are the fleet, e.g. `{"app": "shop-api", "env": "prod"}`. */
  tags: z.record(tagKey, tagValue).refine((tags) => Object.keys(tags).length >= 1 && Object.keys(tags).length <= 5, 'must name 1 to 5 tags'),
  /** Installs the release: `{{version}}`, `{{image}}`. */
  deploy: hostCommand('deploy'),
  /** Reinstalls the version Preflight read on the hosts: `{{version}}`. */
  rollback: hostCommand('rollback'),
  /** Prints the running version as its last line of output. */
  current: hostCommand('current'),
  /** Run on each host of a batch once its command succeeded; exit 0 means ready (`{{version}}`). @default none: the command's exit code decides */
  ready: hostCommand('ready').optional(),
  ...rolling,
  /** How long one command may run on a host before SSM stops it. */
  commandTimeoutSeconds: seconds(30, 28_800).default(600),
});

/** Rehearsal only: several local app processes (the demo app), one per "host", deployed in batches as ssm-hosts are. */
export const HostsTarget = z
  .strictObject({
    kind: z.literal('hosts'),
    /** argv of each host's process; `{{version}}` is substituted, `PORT` set to the host's port. */
    command: z.array(z.string().min(1)).min(1),
    hosts: z
      .array(z.strictObject({ name: identifier, port: z.number().int().min(1).max(65535) }))
      .min(1)
      .max(20),
    /** Path polled on each host of a batch: it must answer 2xx for the batch to pass. */
    readyPath: z.string().startsWith('/').default('/health'),
    env: z.record(key, z.string()).default({}),
    cwd: z.string().optional(),
    ...rolling,
  })
  .superRefine((target, ctx) => {
    for (const field of ['name', 'port'] as const) {
      const seen = new Set<unknown>();
      target.hosts.forEach((host, index) => {
        if (seen.has(host[field])) ctx.addIssue({ code: 'custom', path: ['hosts', index, field], message: `duplicate host ${field} ${JSON.stringify(host[field])}` });
        seen.add(host[field]);
      });
    }
    if (typeof target.maxConcurrency === 'number' && target.maxConcurrency > target.hosts.length) {
      ctx.addIssue({ code: 'custom', path: ['maxConcurrency'], message: `is larger than the fleet: ${target.hosts.length} host(s) in target.hosts` });
    }
  });

export const Target = z.discriminatedUnion('kind', [EcsTarget, HookTarget, SsmHostsTarget, LambdaAliasTarget, CommandTarget, ProcessTarget, HostsTarget]);

export const RestorePolicy = z.enum(['never', 'when-migrations-ran', 'always']);

/** EC2 ids: the prefix and 8 or 17 lowercase hex digits. */
const ec2Id = (prefix: string, example: string) =>
  z.string().regex(new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`), `must be an id such as ${example}`);

/**
 * Where the functions that need network reach run (lib/network.ts lists them): the smoke test, the functions
 * that connect to the database, and the backup runner. The subnets must reach the database, the smoke-tested
 * endpoints and the AWS APIs those functions call (a NAT gateway or VPC endpoints).
 */
export const Network = z
  .strictObject({
    vpcId: ec2Id('vpc', 'vpc-0a1b2c3d4e5f67890'),
    /** Private subnets of that VPC; Lambda takes at most 16. */
    subnetIds: z.array(ec2Id('subnet', 'subnet-0a1b2c3d4e5f67890')).min(1).max(16),
    /** Security groups of that VPC that let the functions out to the database and the endpoints; Lambda takes at most 5. */
    securityGroupIds: z.array(ec2Id('sg', 'sg-0a1b2c3d4e5f67890')).min(1).max(5),
  })
  .superRefine((network, ctx) => {
    for (const field of ['subnetIds', 'securityGroupIds'] as const) {
      network[field].forEach((id, index) => {
        if (network[field].indexOf(id) !== index) ctx.addIssue({ code: 'custom', path: [field, index], message: `repeats ${id}` });
      });
    }
  });

/**
 * How the functions (and the backup runner) connect to the database on AWS. The secret holds the JSON that
 * RDS-managed and CDK `DatabaseSecret` secrets hold: `{host, port, username, password, dbname}`; the fields
 * here fill in what it lacks (an RDS-managed master secret holds only username and password) and win over it.
 */
export const DatabaseConnection = z.strictObject({
  /** Secrets Manager secret name or ARN. */
  secretsManager: awsName,
  host: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'must be a host name or IPv4 address').optional(),
  port: z.number().int().min(1).max(65535).optional(),
  /** The database name (the secret's `dbname`). */
  database: z.string().min(1).max(63).optional(),
  /**
   * TLS as libpq's sslmode names it: `verify-full` (default) checks the server's certificate against Node's CAs
   * plus the RDS CAs the Lambda runtime ships and its host name; `require` encrypts without checking who
   * answers (a self-managed server with a private CA); `disable` sends everything, password included, in clear.
   */
  sslmode: z.enum(['verify-full', 'require', 'disable']).default('verify-full'),
});

const databaseCommon = {
  /**
   * The connection the SQL checks, the data fingerprints and (for `postgres`) the logical backups use on AWS.
   * Required for `postgres` on AWS; a rehearsal reads `urlEnv` instead.
   */
  connection: DatabaseConnection.optional(),
  /** When the rollback restores the pre-deploy snapshot. */
  restorePolicy: RestorePolicy.default('when-migrations-ran'),
  /**
   * A person approves a restore before it starts; a rejection or timeout means no restore. Required unless
   * the configuration says `required: false`: a restore discards every write since the snapshot, and any
   * caller allowed to start a deployment could otherwise cause one by deploying a failing release.
   */
  restoreApproval: z
    .strictObject({
      required: z.boolean().default(true),
      timeoutMinutes: z.number().int().min(1).max(10_080).default(60),
    })
    .prefault({}),
  /** Manual snapshots that must stay free under the account quota after ours is taken. */
  snapshotQuotaHeadroom: z.number().int().min(0).max(1000).default(1),
};

/** Grants and IAM policies for a restore name the key itself: an alias ARN would not match them. */
const kmsKeyArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'must be a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/<key id>, not an alias');

/** A container image reference as ECS pulls it: `registry/repository:tag` or `@sha256:` digest. */
const containerImage = z.string().regex(/^[a-z0-9][a-z0-9._\/-]*(:[A-Za-z0-9._-]{1,128})?(@sha256:[0-9a-f]{64})?$/, 'must be an image reference such as public.ecr.aws/docker/library/postgres:17');

/**
 * The ECS Fargate task that takes and restores logical backups on AWS (lib/pg-backup-task.ts): pg_dump and
 * pg_restore run in `postgresImage`, the upload in `nodeImage`. Nothing is built: both are pulled as they are.
 */
export const BackupTask = z.strictObject({
  /** pg_dump must be at least the server's major version: pin the image to it or newer. */
  postgresImage: containerImage.default('public.ecr.aws/docker/library/postgres:17'),
  /** A Node.js image with the AWS SDK for JavaScript v3 in /var/runtime/node_modules (the Lambda base image): the bootstrap fetches the uploader with it. */
  nodeImage: containerImage.default('public.ecr.aws/lambda/nodejs:22'),
  /** Fargate CPU units and memory of the task (a valid Fargate pair). */
  cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]).default(1024),
  memoryMiB: z.number().int().min(512).max(30_720).default(2048),
});

/**
 * RDS and Aurora: a logical copy beside each pre-deploy snapshot. The same backup task as for `postgres` streams
 * `pg_dump -Fc` of the instance's or cluster's endpoint (`connection`) into the bucket, verified with `pg_restore
 * --list`; the snapshot stays what a rollback restores, the dump is a portable copy (another account, region,
 * engine version, or a single table). Needs `connection` and `network` (the task's subnets).
 */
const logicalCopy = {
  /** @default false: snapshots only */
  logicalBackup: z.boolean().optional(),
  /** Where the logical copy runs (only with `logicalBackup: true`). @default the postgres kind's defaults */
  backupTask: BackupTask.optional(),
};

export const RdsInstanceDatabase = z.strictObject({
  kind: z.literal('rds-instance'),
  instanceIdentifier: dbIdentifier,
  /** KMS key of the encrypted database: restoring its snapshot needs grants on it. */
  kmsKeyArn: kmsKeyArn.optional(),
  ...logicalCopy,
  ...databaseCommon,
});

export const AuroraClusterDatabase = z.strictObject({
  kind: z.literal('aurora-cluster'),
  /**
   * At most 40 characters: the writer (`<cluster>-<n>`) is kept as `<writer>-failed-<timestamp>`, which must still
   * start with `<cluster>-` after RDS's 63-character limit for the restore's IAM to cover it.
   */
  clusterIdentifier: dbIdentifier.max(40, 'must be at most 40 characters: the writer `<cluster>-<n>` is kept as `<writer>-failed-<timestamp>`, and that name must fit 63 characters and still start with `<cluster>-`'),
  /** KMS key of the encrypted database: restoring its snapshot needs grants on it. */
  kmsKeyArn: kmsKeyArn.optional(),
  ...logicalCopy,
  ...databaseCommon,
});

/** Any reachable PostgreSQL, self-managed or RDS: pg_dump / pg_restore. On AWS it needs `connection`. */
export const PostgresDatabase = z.strictObject({
  kind: z.literal('postgres'),
  /** Rehearsal: the environment variable holding the connection URL; the rehearsal sets it to the server it starts. */
  urlEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).default('DATABASE_URL'),
  /** AWS: where the logical backups run (the network's subnets, the connection's secret). */
  backupTask: BackupTask.prefault({}),
  ...databaseCommon,
});

export const Database = z.discriminatedUnion('kind', [RdsInstanceDatabase, AuroraClusterDatabase, PostgresDatabase]);

/** When a SQL check runs: before anything changes, after the migrations (before the smoke tests), after a restore. */
export const SqlCheckPhase = z.enum(['preflight', 'after-migrations', 'after-restore']);

/** A table of schema `public` (or `schema.table`), as a fingerprint names it. */
const tableName = z.string().regex(/^([A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'must be a table name such as messages or billing.invoices');

/**
 * A read-only assertion on the database: the first column of the first row `sql` returns (or, for `exists`, whether
 * it returns a row). It runs in `BEGIN READ ONLY` with a statement timeout: a query that writes is refused by the
 * database and fails the check.
 */
export const SqlCheck = z.strictObject({
  name: SqlCheckName,
  sql: z.string().min(1).max(10_000),
  expect: z.union([
    z.strictObject({ equals: z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]) }),
    z.strictObject({ atLeast: z.number() }),
    z.strictObject({ atMost: z.number() }),
    z.strictObject({ exists: z.boolean() }),
  ]),
  when: z.array(SqlCheckPhase).min(1).max(3),
});

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

/** A simple JSONPath: `$.a.b`, `$.items[0].id`; no wildcards or filters, so it points at one value. */
const jsonPath = z.string().regex(/^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*$/, 'must be a simple JSONPath such as $.data.items[0].id');

export const JsonAssertion = z
  .strictObject({
    path: jsonPath,
    equals: withoutStatePathKeys(z.json()).optional(),
    exists: z.boolean().optional(),
    /** A regular expression, matched as written: templates are not expanded in it. */
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
    path: z
      .string()
      .max(2048)
      .regex(/^\/(?!\/)/, 'must be a path starting with a single / such as /api/health: it is appended to smokeTests.baseUrl, which holds the scheme and host'),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name'), z.string().max(4096)).default({}),
    /** A JSON body (sent as application/json) or a string. */
    body: withoutStatePathKeys(z.union([z.string().max(65_536), z.record(z.string(), z.json()), z.array(z.json())])).optional(),
    expect: z
      .strictObject({
        status: z.union([httpStatus, z.array(httpStatus).min(1)]).default(200),
        json: z.array(JsonAssertion).max(32).default([]),
        /** Matched as written: templates are not expanded in it. */
        bodyContains: z.string().max(1024).optional(),
        /** The seeds' latency budget: 200-500 ms for a health check. */
        maxLatencyMs: z.number().int().min(1).max(120_000).optional(),
      })
      .prefault({}),
    /** Values taken from this response for later checks: `{"token": "$.token"}` → `{{vars.token}}`. */
    capture: z.record(key, jsonPath).default({}),
    retries: z.number().int().min(0).max(10).default(0),
    retryDelayMs: z.number().int().min(0).max(60_000).default(1000),
  })
  .superRefine((check, ctx) => {
    // fetch refuses a body on GET and HEAD, and a HEAD response has no body to judge.
    if (check.body !== undefined && (check.method === 'GET' || check.method === 'HEAD')) {
      ctx.addIssue({ code: 'custom', path: ['body'], message: `a ${check.method} request cannot carry a body; set method to POST, PUT, PATCH or DELETE` });
    }
    if (check.method === 'HEAD' && (check.expect.json.length > 0 || check.expect.bodyContains !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['expect'], message: 'a HEAD response has no body: expect.json and expect.bodyContains could never pass' });
    }
  });

export const SmokeTests = z
  .strictObject({
    baseUrl: httpUrl('declare the credential in smokeTests.secrets and send it in a header with {{secrets.NAME}}').refine((text) => {
      const url = parsedUrl(text);
      return url === null || (url.search === '' && url.hash === '');
    }, 'must not have a query string or fragment: each check appends its path to it'),
    /** Independent checks run this many at a time. */
    concurrency: z.number().int().min(1).max(32).default(4),
    requestTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    secrets: z.record(key, SecretRef).default({}),
    checks: z.array(SmokeCheck).min(1).max(50),
  });

/**
 * Check names are unique; each `{{secrets.X}}` is declared and each `{{vars.X}}` captured by an earlier
 * check. It reads the checks defensively, so it also runs when some of their fields are invalid.
 */
function checkNamesAndTemplates(smoke: { checks: unknown[]; secrets: Record<string, unknown> }, ctx: z.core.$RefinementCtx): void {
  const names = new Map<string, number>();
  const capturedBy = new Map<string, number>();
  smoke.checks.forEach((check, index) => {
    if (!isRecord(check) || !isRecord(check.capture)) return;
    for (const name of Object.keys(check.capture)) if (!capturedBy.has(name)) capturedBy.set(name, index);
  });
  smoke.checks.forEach((check, index) => {
    if (!isRecord(check)) return;
    if (typeof check.name === 'string') {
      const first = names.get(check.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['smokeTests', 'checks', index, 'name'], message: `duplicate check name: smokeTests.checks[${first}] is already called '${check.name}'` });
      } else {
        names.set(check.name, index);
      }
    }
    for (const ref of templateRefs(check)) {
      const path = ['smokeTests', 'checks', index, ...ref.at];
      if (ref.scope === 'secrets' && !Object.hasOwn(smoke.secrets, ref.name)) {
        ctx.addIssue({ code: 'custom', path, message: `uses {{secrets.${ref.name}}} but smokeTests.secrets has no '${ref.name}'` });
      }
      const producer = capturedBy.get(ref.name);
      if (ref.scope === 'vars' && (producer === undefined || producer >= index)) {
        const first =
          producer === undefined
            ? ''
            : producer === index
              ? ": this check captures it from its own response, which arrives only after the request is sent"
              : `: it is first captured by smokeTests.checks[${producer}], which runs after this one`;
        ctx.addIssue({ code: 'custom', path, message: `uses {{vars.${ref.name}}} but no earlier check captures '${ref.name}'${first}` });
      }
    }
    for (const at of literalFields(check)) {
      if (templateRefsOf(at.text).length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['smokeTests', 'checks', index, ...at.at],
          message: 'templates are not expanded here, so it would be matched literally; compare expanded values with expect.json and equals',
        });
      }
    }
  });
}


/** A string found in a check, with its path inside the check. */
interface Located {
  readonly at: PropertyKey[];
  readonly text: string;
}

function stringsIn(value: unknown, at: PropertyKey[]): Located[] {
  if (typeof value === 'string') return [{ at, text: value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => stringsIn(item, [...at, index]));
  if (isRecord(value)) return Object.entries(value).flatMap(([key, item]) => stringsIn(item, [...at, key]));
  return [];
}

/** The strings the smoke test expands templates in: path, header values, body and expected JSON values. */
function expandedFields(check: Record<string, unknown>): Located[] {
  const json = isRecord(check.expect) && Array.isArray(check.expect.json) ? check.expect.json : [];
  return [
    ...stringsIn(check.path, ['path']),
    ...stringsIn(check.headers, ['headers']),
    ...stringsIn(check.body, ['body']),
    ...json.flatMap((assertion, index) => (isRecord(assertion) ? stringsIn(assertion.equals, ['expect', 'json', index, 'equals']) : [])),
  ];
}

/** The strings compared as written: `expect.bodyContains` and each `expect.json[].matches`. */
function literalFields(check: Record<string, unknown>): Located[] {
  if (!isRecord(check.expect)) return [];
  const json = Array.isArray(check.expect.json) ? check.expect.json : [];
  return [
    ...stringsIn(check.expect.bodyContains, ['expect', 'bodyContains']),
    ...json.flatMap((assertion, index) => (isRecord(assertion) ? stringsIn(assertion.matches, ['expect', 'json', index, 'matches']) : [])),
  ];
}

/** `{{secrets.X}}` and `{{vars.X}}` references in the fields a check expands, each with where it sits in the check. */
export function templateRefs(check: Record<string, unknown>): { scope: 'secrets' | 'vars'; name: string; at: PropertyKey[] }[] {
  return expandedFields(check).flatMap(({ at, text }) =>
    templateRefsOf(text).flatMap((ref) => (ref.scope === 'version' ? [] : [{ scope: ref.scope, name: ref.name, at }])),
  );
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
  metricsUrl: httpUrl('serve the rehearsal metrics without authentication'),
  rules: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(255),
        /** `error-ratio`: 5xx / all requests; `latency-p95`: milliseconds, from the duration histogram. */
        metric: z.enum(['error-ratio', 'latency-p95']),
        threshold: z.number().nonnegative(),
        /** Requests needed in the window before the rule can fire. */
        minRequests: z.number().int().min(0).default(10),
      }).superRefine((rule, ctx) => {
        if (rule.metric === 'error-ratio' && rule.threshold >= 1) {
          ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'an error-ratio threshold is a fraction (0.01 = 1 %); 1 or more could never fire' });
        }
      }),
    )
    .default([]),
  preexisting: PreexistingAlarms.default('report'),
});

export const Alarms = z.discriminatedUnion('kind', [CloudWatchAlarms, PrometheusAlarms]);

/** A condition of a metric: `result <= 0.01`, `result <= baseline * 1.2` (config/analysis.ts reads it). */
const condition = z
  .string()
  .max(200)
  .superRefine((text, ctx) => {
    try {
      parseCondition(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

const headerName = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name');

/** Where a metric's number comes from; config/kinds.ts says which providers run on AWS and which in a rehearsal. */
export const MetricProvider = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('prometheus'),
    /** The server's base URL: the HTTP query API is `<url>/api/v1/query`. For Amazon Managed Service for Prometheus, the workspace URL. */
    url: httpUrl('send the credential in headers with {{secrets.NAME}}'),
    /** PromQL answering one number (the first sample of the result is used). */
    query: z.string().min(1).max(4096),
    /** Sent with each query; `{{secrets.NAME}}` expands to a secret of analysis.secrets. */
    headers: z.record(headerName, z.string().max(4096)).default({}),
    /** Sign each query with the function's credentials (SigV4, service `aps`): Amazon Managed Service for Prometheus. */
    sigv4: z.boolean().default(false),
  }).superRefine((provider, ctx) => {
    if (provider.sigv4 && apsWorkspaceOf(provider.url) === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `with sigv4: true must be an Amazon Managed Service for Prometheus workspace URL, https://aps-workspaces.<region>.amazonaws.com/workspaces/<workspace id>: the function is granted aps:QueryMetrics on that workspace only`,
      });
    }
  }),
  z.strictObject({
    kind: z.literal('cloudwatch'),
    /** A metric math expression (`m1 / m2 * 100`) over `metrics`, or the id of the one metric to read. */
    expression: z.string().min(1).max(2048).optional(),
    /** The metrics the expression uses, by id (GetMetricData's ids: a lowercase letter, then letters, digits or _). */
    metrics: z
      .record(
        z.string().regex(/^[a-z][A-Za-z0-9_]{0,254}$/, 'must be a GetMetricData id: a lowercase letter followed by letters, digits or _'),
        z.strictObject({
          namespace: z.string().min(1).max(255),
          metricName: z.string().min(1).max(255),
          dimensions: z.record(z.string().min(1).max(255), z.string().min(1).max(1024)).default({}),
          /** A statistic (`Average`, `Sum`, `Maximum`…) or a percentile (`p95`). */
          stat: z.string().regex(/^(SampleCount|Average|Sum|Minimum|Maximum|p\d{1,2}(\.\d+)?|tm\d{1,2}|tc\d{1,2}|ts\d{1,2}|wm\d{1,2})$/, 'must be a statistic such as Average, Sum, Maximum or a percentile such as p95'),
        }),
      )
      .refine((metrics) => Object.keys(metrics).length > 0, 'must name at least one metric'),
  })
    .superRefine((provider, ctx) => {
      const ids = Object.keys(provider.metrics);
      if (provider.expression === undefined && ids.length > 1) {
        ctx.addIssue({ code: 'custom', path: ['expression'], message: `is needed with more than one metric (${ids.join(', ')}): the expression combining them, or the id of the one to read` });
      }
      if (provider.expression !== undefined && !ids.includes(provider.expression) && ids.includes('result')) {
        ctx.addIssue({ code: 'custom', path: ['metrics', 'result'], message: "'result' is the id the expression's value is read under: name this metric otherwise" });
      }
    }),
  z.strictObject({
    kind: z.literal('logs'),
    /** CloudWatch Logs groups the Logs Insights query reads. */
    logGroupNames: z.array(z.string().regex(/^[A-Za-z0-9._/#-]{1,512}$/, 'must be a log group name')).min(1).max(50),
    /** A Logs Insights query whose first row's first number is the value, such as `filter @message like /ERROR/ | stats count()`. */
    query: z.string().min(1).max(10_000),
  }),
  z.strictObject({
    kind: z.literal('http'),
    /** smokeTests.checks re-run at each measurement, by name (a check they capture values from runs too); the value is how many of them failed. @default every check */
    checks: z.array(z.string().min(1).max(64)).min(1).max(50).optional(),
  }),
  z.strictObject({
    kind: z.literal('log-file'),
    /** A log whose lines start with an ISO 8601 time; relative to the rehearsal's working directory. */
    path: z.string().min(1).max(1024),
    /** Lines matching this regular expression in the window are counted. */
    pattern: z.string().min(1).max(512).refine(isRegex, 'is not a valid regular expression'),
  }),
]);

export const AnalysisMetric = z
  .strictObject({
    name: MetricName,
    provider: MetricProvider,
    /** The seconds each measurement covers, ending when it is taken (CloudWatch, Logs and log-file providers; PromQL says its own range). */
    windowSeconds: seconds(10, 86_400).default(300),
    /** Met means the measurement passes. */
    successCondition: condition.optional(),
    /** Met means the measurement fails. With both conditions, meeting neither is inconclusive. */
    failureCondition: condition.optional(),
    /** A measurement without data: counted as a failure (fail closed), a success, or reported as inconclusive. */
    noData: z.enum(['failure', 'success', 'inconclusive']).default('failure'),
    /** Failed measurements tolerated; one more fails the metric. */
    failureLimit: z.number().int().min(0).max(100).default(0),
    /** Query errors in a row tolerated; one more fails the metric. */
    consecutiveErrorLimit: z.number().int().min(0).max(100).default(4),
    /** Seconds into the bake before the first measurement. */
    initialDelaySeconds: seconds(0, 86_400).default(0),
    /** Measured and reported, never deciding. */
    dryRun: z.boolean().default(false),
  })
  .refine((metric) => metric.successCondition !== undefined || metric.failureCondition !== undefined, {
    message: 'needs a successCondition or a failureCondition: without one, no measurement could fail or pass',
    path: ['successCondition'],
  })
  .superRefine((metric, ctx) => {
    if (metric.successCondition === undefined || metric.failureCondition === undefined) return;
    let conditions;
    try {
      conditions = [parseCondition(metric.successCondition), parseCondition(metric.failureCondition)] as const;
    } catch {
      return; // already refused, in the parser's words
    }
    if (!canSucceed(...conditions)) {
      ctx.addIssue({
        code: 'custom',
        path: ['successCondition'],
        message: `can never be met: every value meeting it also meets failureCondition "${metric.failureCondition}", which is judged first, so no measurement could pass`,
      });
    }
  });

/** Numbers that decide a release, beside the alarms: measured before the deploy (the baseline) and at checkpoints of the bake. */
export const Analysis = z
  .strictObject({
    metrics: z.array(AnalysisMetric).max(20).default([]),
    /** When the bake measures, from its start: `2m, 5m, 15m, every 5m`. @default at every bake evaluation */
    checkpoints: z
      .string()
      .max(256)
      .superRefine((text, ctx) => {
        try {
          parseSchedule(text);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .optional(),
    /** Secrets the providers' headers use, by name. */
    secrets: z.record(key, SecretRef).default({}),
    /**
     * After a release, the metrics measured again every `everyMinutes` through the rollback window (or `untilHours`), by an
     * EventBridge schedule and without holding the lock: a failed checkpoint rolls the release back as a firing alarm would.
     */
    watch: z
      .strictObject({
        /** Minutes between two checkpoints (the schedule's rate): 60 measures hourly, as the seeds do for 8 h. */
        everyMinutes: z.number().int().min(5).max(1440),
        /** Hours after the release the watch ends. @default rollbackWindowHours */
        untilHours: z.number().positive().max(168).optional(),
      })
      .optional(),
  })
  .superRefine((analysis, ctx) => {
    const names = new Set<string>();
    analysis.metrics.forEach((metric, index) => {
      if (names.has(metric.name)) ctx.addIssue({ code: 'custom', path: ['metrics', index, 'name'], message: `duplicate metric name '${metric.name}'` });
      names.add(metric.name);
      if (metric.provider.kind !== 'prometheus') return;
      for (const [header, value] of Object.entries(metric.provider.headers)) {
        for (const ref of templateRefsOf(value)) {
          if (ref.scope !== 'secrets' || !Object.hasOwn(analysis.secrets, ref.name)) {
            const what = ref.scope === 'secrets' ? `{{secrets.${ref.name}}} but analysis.secrets has no '${ref.name}'` : 'a template other than {{secrets.NAME}}';
            ctx.addIssue({ code: 'custom', path: ['metrics', index, 'provider', 'headers', header], message: `uses ${what}` });
          }
        }
      }
    });
  });

export const RunbookConfig = z
  .strictObject({
    /** The deployment target's name: the lock, ledger, snapshot and report keys derive from it. */
    name: identifier,
    description: z.string().max(512).optional(),
    target: Target,
    database: Database.nullable().default(null),
    /** Subnets and security groups for the functions that need network reach (AWS only). @default outside any VPC */
    network: Network.optional(),
    migrations: Migrations.nullable().default(null),
    /** Read-only SQL assertions on the database (they need a database; on AWS its connection). */
    checks: z
      .strictObject({
        sql: z.array(SqlCheck).max(50).default([]),
        /** Each check's statement_timeout. */
        statementTimeoutSeconds: seconds(1, 600).default(30),
      })
      .prefault({}),
    backup: z
      .strictObject({
        /** What a restore is compared with: recorded before the pre-deploy backup, compared after a restore. */
        fingerprint: z
          .strictObject({
            /** Tables whose row counts are recorded. @default every table of schema public */
            tables: z.array(tableName).min(1).max(200).optional(),
            /** Tables also checksummed (md5 of every row in primary-key order): equal checksums, equal rows. */
            checksumTables: z.array(tableName).max(50).default([]),
          })
          .prefault({}),
        /**
         * The restore drill before every deployment (Well-Architected REL09, seed 004's test restore): the fresh
         * backup is restored into a scratch database beside the live one, compared with the fingerprint, checked
         * with the after-restore SQL checks, then dropped; a failure aborts the deployment before anything is deployed.
         */
        testRestore: z.boolean().default(false),
        /** AWS: an EventBridge Scheduler expression starting a drill on its own, e.g. `rate(7 days)` or `cron(0 3 ? * MON *)`. @default none */
        drillSchedule: z
          .string()
          .max(256)
          .superRefine((text, ctx) => {
            const problem = drillScheduleProblem(text);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .optional(),
        /** The IANA time zone a cron() drillSchedule is read in, e.g. `Europe/Paris`. @default UTC */
        drillScheduleTimezone: z.string().min(1).max(64).optional(),
      })
      .superRefine((backup, ctx) => {
        if (backup.drillScheduleTimezone === undefined) return;
        const problem = drillTimezoneProblem(backup.drillScheduleTimezone, backup.drillSchedule);
        if (problem) ctx.addIssue({ code: 'custom', path: ['drillScheduleTimezone'], message: problem });
      })
      .prefault({}),
    smokeTests: SmokeTests,
    alarms: Alarms.prefault({ kind: 'cloudwatch' }),
    analysis: Analysis.prefault({}),
    bake: z
      .strictObject({
        /** How long alarms are watched after the smoke tests pass (the seeds watch the first 30 minutes). */
        durationSeconds: seconds(0, 86_400).default(600),
        pollSeconds: seconds(5, 3600).default(60),
      })
      .prefault({}),
    /** After a release, an alarm within this many hours rolls it back (the seeds' 8-hour decision point). 0 disables. */
    rollbackWindowHours: z.number().min(0).max(168).default(8),
    /**
     * A person decides before an automatic rollback of a release that runs everywhere (failed smoke tests, data gate or
     * bake; a later alarm or watch checkpoint): `deploy-runbook approve` rolls it back, `--reject` keeps it; without an
     * answer within `timeoutMinutes`, `onTimeout` decides. @default not asked: the rollback starts at once
     */
    rollbackApproval: z
      .strictObject({
        required: z.boolean().default(false),
        timeoutMinutes: z.number().int().min(1).max(10_080).default(30),
        /** What happens when nobody answers in time (or nobody could be asked): roll back, or keep the new version. */
        onTimeout: z.enum(['rollback', 'keep']).default('rollback'),
      })
      .prefault({}),
    notifications: Notifications,
    polling: z
      .strictObject({
        // Together with the bake and a restore approval, these fit the default timeout (see config/budgets.ts).
        snapshot: polling(30, 120),
        deployment: polling(15, 80),
        migrations: polling(15, 120),
        restore: polling(30, 180),
      })
      .prefault({}),
    /** The state machine gives up after this long; it bounds the lock lease too. */
    executionTimeoutMinutes: z.number().int().min(5).max(1440).default(360),
    lock: z
      .strictObject({
        /** A lease past this age is stale and can be taken over. @default executionTimeoutMinutes + 5 */
        leaseMinutes: z.number().int().min(5).max(10_080).optional(),
        /**
         * IAM roles of the people who may clear a stuck lock by writing `locks/<name>.json`; the bucket refuses
         * writes to `locks/` from anyone else but the lock function. @default none
         */
        operatorRoleArns: z.array(roleArn).max(10).default([]),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.lock.leaseMinutes !== undefined && config.lock.leaseMinutes < config.executionTimeoutMinutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['lock', 'leaseMinutes'],
        message: `must be at least executionTimeoutMinutes (${config.executionTimeoutMinutes}): a shorter lease could be taken over while the execution still runs`,
      });
    }
  }, unlessInvalid('lock', 'executionTimeoutMinutes'))
  .superRefine((config, ctx) => {
    if (config.migrations?.kind === 'ecs-task' && config.target.kind !== 'ecs') {
      ctx.addIssue({
        code: 'custom',
        path: ['migrations', 'kind'],
        message: `'ecs-task' migrations run a task of the target's ECS service, but target.kind is '${config.target.kind}'; use 'hook' migrations`,
      });
    }
  }, unlessInvalid('migrations', 'target'))
  .superRefine((config, ctx) => {
    const { target } = config;
    if (target.kind !== 'lambda-alias' || (target.codeBucket === undefined) !== (target.imageRepository === undefined)) return;
    ctx.addIssue({
      code: 'custom',
      path: ['target', target.codeBucket === undefined ? 'codeBucket' : 'imageRepository'],
      message:
        target.codeBucket === undefined
          ? 'a lambda-alias target needs codeBucket (a zip function: the input image is s3://<codeBucket>/<key>) or imageRepository (an image function) (got neither)'
          : `give codeBucket or imageRepository, not both: a function is packaged one way (got codeBucket "${target.codeBucket}" and imageRepository "${target.imageRepository}")`,
    });
  }, unlessInvalid('target'))
  .superRefine((config, ctx) => {
    const names = new Set<string>();
    config.checks.sql.forEach((check, index) => {
      if (names.has(check.name)) ctx.addIssue({ code: 'custom', path: ['checks', 'sql', index, 'name'], message: `duplicate SQL check name '${check.name}'` });
      names.add(check.name);
    });
    if (config.checks.sql.length > 0 && config.database === null) {
      ctx.addIssue({ code: 'custom', path: ['checks', 'sql'], message: 'SQL checks run against the database, but database is not configured' });
    }
  }, unlessInvalid('checks', 'database'))
  .superRefine((config, ctx) => {
    for (const field of ['testRestore', 'drillSchedule'] as const) {
      const asked = field === 'testRestore' ? config.backup.testRestore : config.backup.drillSchedule !== undefined;
      const problem = asked ? drillDatabaseProblem(config.database) : null;
      if (problem) ctx.addIssue({ code: 'custom', path: ['backup', field], message: problem });
    }
  }, unlessInvalid('backup', 'database'))
  .superRefine((config, ctx) => {
    if (config.bake.durationSeconds > 0 && config.bake.pollSeconds > config.bake.durationSeconds) {
      ctx.addIssue({ code: 'custom', path: ['bake', 'pollSeconds'], message: `must not exceed bake.durationSeconds (${config.bake.durationSeconds})` });
    }
  }, unlessInvalid('bake'))
  .superRefine((config, ctx) => {
    const { metrics, checkpoints } = config.analysis;
    if (metrics.length === 0) return;
    const { durationSeconds } = config.bake;
    if (durationSeconds === 0) {
      ctx.addIssue({ code: 'custom', path: ['bake', 'durationSeconds'], message: `must be more than 0 when analysis.metrics are configured: they are measured during the bake` });
      return;
    }
    const late = checkpoints === undefined ? undefined : parseSchedule(checkpoints).offsetsSeconds.find((offset) => offset > durationSeconds);
    if (late !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['analysis', 'checkpoints'], message: `a checkpoint at ${late}s comes after the bake's end (bake.durationSeconds ${durationSeconds}): it would never be measured` });
    }
    const checkNames = new Set(config.smokeTests.checks.map((check) => check.name));
    metrics.forEach((metric, index) => {
      if (metric.provider.kind === 'http') {
        for (const [at, name] of (metric.provider.checks ?? []).entries()) {
          if (!checkNames.has(name)) {
            ctx.addIssue({ code: 'custom', path: ['analysis', 'metrics', index, 'provider', 'checks', at], message: `names no smoke check: it is not one of smokeTests.checks (${[...checkNames].join(', ')})` });
          }
        }
      }
      if (metric.initialDelaySeconds >= durationSeconds) {
        ctx.addIssue({ code: 'custom', path: ['analysis', 'metrics', index, 'initialDelaySeconds'], message: `must be less than bake.durationSeconds (${durationSeconds}): the metric would never be measured` });
      }
    });
  }, unlessInvalid('bake', 'analysis', 'smokeTests'))
  .superRefine((config, ctx) => {
    const { watch, metrics } = config.analysis;
    if (watch === undefined) return;
    const path = ['analysis', 'watch'];
    if (!metrics.some((metric) => !metric.dryRun)) {
      const what = metrics.length === 0 ? 'analysis.metrics is empty' : `every metric of analysis.metrics is dryRun (${metrics.map((metric) => metric.name).join(', ')})`;
      ctx.addIssue({ code: 'custom', path, message: `needs an analysis metric that decides: ${what}, so no checkpoint could fail` });
    }
    const { rollbackWindowHours } = config;
    if (rollbackWindowHours === 0) {
      ctx.addIssue({ code: 'custom', path, message: 'needs rollbackWindowHours > 0: a failed checkpoint rolls back only inside the rollback window, and it is 0' });
      return;
    }
    const untilHours = watch.untilHours ?? rollbackWindowHours;
    if (untilHours > rollbackWindowHours) {
      ctx.addIssue({ code: 'custom', path: [...path, 'untilHours'], message: `must not exceed rollbackWindowHours (${rollbackWindowHours}): past the window a failed checkpoint could not roll back` });
    } else if (watch.everyMinutes > untilHours * 60) {
      ctx.addIssue({ code: 'custom', path: [...path, 'everyMinutes'], message: `must not exceed the watch's ${untilHours * 60} min (untilHours ${untilHours}, or rollbackWindowHours): no checkpoint would come before it ends` });
    }
  }, unlessInvalid('analysis', 'rollbackWindowHours'))
  .superRefine((config, ctx) => {
    const late = timeoutProblem(config);
    if (late) ctx.addIssue({ code: 'custom', path: ['executionTimeoutMinutes'], message: late });
    const long = historyProblem(config);
    if (long) ctx.addIssue({ code: 'custom', path: [long.field], message: long.message });
  }, unlessInvalid('database', 'migrations', 'bake', 'polling', 'executionTimeoutMinutes', 'backup', 'rollbackApproval'))
  // Judged on the whole configuration with the other cross-field rules; SmokeTests itself checks shapes only.
  .superRefine((config, ctx) => checkNamesAndTemplates(config.smokeTests, ctx), {
    when: ({ value }) => isRecord(value) && isRecord(value.smokeTests) && Array.isArray(value.smokeTests.checks) && isRecord(value.smokeTests.secrets),
  })
  .superRefine((config, ctx) => {
    const bytes = Buffer.byteLength(JSON.stringify(config));
    if (bytes > MAX_CONFIG_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `the configuration is ${bytes} bytes of JSON with defaults filled in; at most ${MAX_CONFIG_BYTES} fit, as it travels in every state's input`,
      });
    }
  }, unlessInvalid())
  .transform((config) => ({
    ...config,
    lock: { ...config.lock, leaseMinutes: config.lock.leaseMinutes ?? config.executionTimeoutMinutes + 5 },
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
export type BackupTaskConfig = z.output<typeof BackupTask>;
export type DatabaseConnectionConfig = z.output<typeof DatabaseConnection>;
export type NetworkConfig = z.output<typeof Network>;
export type SqlCheck = z.output<typeof SqlCheck>;
export type SqlCheckPhase = z.output<typeof SqlCheckPhase>;
export type ChecksConfig = RunbookConfig['checks'];
export type BackupConfig = RunbookConfig['backup'];
export type MigrationsConfig = z.output<typeof Migrations>;
export type AlarmsConfig = z.output<typeof Alarms>;
export type AnalysisConfig = z.output<typeof Analysis>;
export type AnalysisMetric = z.output<typeof AnalysisMetric>;
export type WatchConfig = NonNullable<AnalysisConfig['watch']>;
export type MetricProvider = z.output<typeof MetricProvider>;
