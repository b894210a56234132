import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CreateSecurityGroupCommand, DescribeSubnetsCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, CreateServiceCommand, DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateAliasCommand, CreateFunctionCommand, DeleteFunctionCommand, GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient, PublishVersionCommand } from '@aws-sdk/client-lambda';
import {
  CreateDBClusterCommand,
  CreateDBInstanceCommand,
  DeleteDBClusterCommand,
  DeleteDBClusterSnapshotCommand,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type AwsCredentials, clientConfig } from './deployed-stack';
import {
  ALARMS,
  APP_HOST,
  APP_PORT,
  CODE_BUCKET,
  FUNCTION_ALIAS,
  FUNCTION_NAME,
  HOST_TAGS,
  IMAGE_REPOSITORY,
  PASS_ROLES,
  SMOKE_SECRET,
  STAGING_HOST_TAGS,
  TIER_STACKS,
  type TierStackName,
  TOPIC_NAME,
} from './stacks';

/** How the fake app behaves while a version (image tag) serves. */
export interface AppVersion {
  /** Status of `/health`. @default 200 */
  readonly healthStatus?: number;
  /** Alarms this version sets to ALARM as soon as it serves a request (a regression the bake sees). */
  readonly firesAlarms?: readonly string[];
  /** Runs once, before this version answers its first request: a change the analysis metrics see (data, log lines). */
  readonly onServe?: () => Promise<void>;
}

/**
 * The team's application as the smoke tests reach it: it answers as the version the ECS service runs, read
 * from moto on each request, so a deploy or a rollback changes what the next smoke test sees.
 */
export class FakeApp {
  readonly address = `127.${randomInt(1, 255)}.${randomInt(0, 255)}.${randomInt(1, 255)}`;
  /** The smoke-test user's password, stored in Secrets Manager; a canary: it must never appear in an output. */
  readonly password = `pw-${randomBytes(12).toString('hex')}`;
  readonly requests: { readonly path: string; readonly version: string }[] = [];
  versions: Readonly<Record<string, AppVersion>> = {};
  private readonly tokens = new Set<string>();
  private readonly fired = new Set<string>();
  private server?: Server;
  private clients?: { ecs: ECSClient; cloudwatch: CloudWatchClient; lambda: LambdaClient };
  /** The lambda-alias stack: the app answers as the alias routes (see `aliasVersion`). */
  servesAlias = false;
  private aliasRequests = 0;
  private aliasWeights = '';

  async listen(): Promise<void> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: Error) => response.writeHead(502).end(error.message));
    });
    await new Promise<void>((resolve) => this.server?.listen(APP_PORT, this.address, resolve));
  }

  /** Reads the running version through `credentials` (the operator's) at `endpoint`. */
  connect(endpoint: string, credentials: AwsCredentials): void {
    this.clients = {
      ecs: new ECSClient(clientConfig(endpoint, credentials)),
      cloudwatch: new CloudWatchClient(clientConfig(endpoint, credentials)),
      lambda: new LambdaClient(clientConfig(endpoint, credentials)),
    };
    this.servesAlias = false;
    this.forget();
  }

  /**
   * Forgets what the previous scenario did to the app: the versions' behaviour, the requests, the alarms already
   * fired, the tokens handed out and the alias routing's count. The stack and the operator's clients stay.
   */
  forget(): void {
    this.versions = {};
    this.requests.length = 0;
    this.fired.clear();
    this.tokens.clear();
    [this.aliasWeights, this.aliasRequests] = ['', 0];
  }

  get hosts(): Record<string, string> {
    return { [APP_HOST]: this.address };
  }

  /** The image tag serving traffic: the new deployment's once its rollout completed, the old one's until then. */
  async servingVersion(): Promise<string> {
    const { ecs } = this.clients ?? {};
    if (!ecs) throw new Error('FakeApp.connect was not called');
    if (this.servesAlias) return this.aliasVersion();
    const service = (await ecs.send(new DescribeServicesCommand({ cluster: 'shop-prod', services: ['shop-api'] }))).services?.[0];
    const deployments = service?.deployments ?? [];
    const primary = deployments.find((d) => d.status === 'PRIMARY');
    const serving = primary?.rolloutState === 'COMPLETED' ? primary : (deployments.find((d) => d.status === 'ACTIVE') ?? primary);
    const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: serving?.taskDefinition }));
    const image = taskDefinition?.containerDefinitions?.[0]?.image ?? '';
    return image.slice(image.lastIndexOf(':') + 1);
  }

  /**
   * The release the alias routes this request to, named by its version's description: with an additional weight
   * w, one request in round(1/w) goes to that version, the first one after the weights changed included (so a
   * canary step is served by the new version at once).
   */
  private async aliasVersion(): Promise<string> {
    const { lambda } = this.clients ?? {};
    const alias = await lambda!.send(new GetAliasCommand({ FunctionName: FUNCTION_NAME, Name: FUNCTION_ALIAS }));
    const weights = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
    const key = JSON.stringify(weights);
    if (key !== this.aliasWeights) [this.aliasWeights, this.aliasRequests] = [key, 0];
    const [extra, weight] = weights[0] ?? [];
    const routed = extra !== undefined && this.aliasRequests++ % Math.max(1, Math.round(1 / (weight ?? 1))) === 0 ? extra : alias.FunctionVersion;
    const configuration = await lambda!.send(new GetFunctionConfigurationCommand({ FunctionName: FUNCTION_NAME, Qualifier: routed }));
    return /^deploy-runbook (\S+) /.exec(configuration.Description ?? '')?.[1] ?? `version ${routed}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const version = await this.servingVersion();
    const behaviour = this.versions[version] ?? {};
    const path = request.url ?? '/';
    this.requests.push({ path, version });
    if (behaviour.onServe && !this.fired.has(`serve:${version}`)) {
      this.fired.add(`serve:${version}`);
      await behaviour.onServe();
    }
    for (const alarm of behaviour.firesAlarms ?? []) {
      if (this.fired.has(alarm)) continue;
      this.fired.add(alarm);
      await this.clients?.cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'ALARM', StateReason: `${version} answers 5xx` }));
    }
    const body = await new Promise<string>((resolve) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      request.on('end', () => resolve(text));
    });
    const json = (status: number, value: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    if (path === '/health') return json(behaviour.healthStatus ?? 200, { status: (behaviour.healthStatus ?? 200) === 200 ? 'healthy' : 'failing', version });
    if (path === '/api/auth/login' && request.method === 'POST') {
      const { password } = JSON.parse(body || '{}') as { password?: string };
      if (password !== this.password) return json(401, { error: 'bad credentials' });
      const token = `tok-${randomBytes(16).toString('hex')}`;
      this.tokens.add(token);
      return json(200, { token });
    }
    if (path === '/api/users/me') {
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      return token && this.tokens.has(token) ? json(200, { email: 'smoke-test@example.com' }) : json(401, { error: 'unauthorized' });
    }
    return json(404, { error: 'not found' });
  }
}

/** The existing resources a configuration names, created in moto before IAM is enforced. */
export interface World {
  /** Reads what the runbook published to its topic (through an SQS subscription). */
  notifications(): Promise<{ subject?: string; message: string }[]>;
  /** Reads the subscription empty and forgets every notification read so far: the next scenario's are its own. */
  clearNotifications(): Promise<void>;
  /** The image tag the service's task definition had at the start. */
  readonly initialImage: string;
  /** The ARN of that task definition (revision 1 of its family). */
  readonly initialTaskDefinition: string;
  /** For an ssm-hosts stack: the instances carrying its tags, sorted by id (the order its batches follow), and one that does not. */
  readonly instances: { readonly tagged: readonly string[]; readonly other: string | null };
}

export const IMAGE = (tag: string) => `${IMAGE_REPOSITORY}:${tag}`;

/** What a scenario decides about the world before it is created. */
export interface WorldOptions {
  /**
   * The port of the stack's RDS instance or Aurora cluster (their create calls' Port), e.g. the throwaway
   * PostgreSQL's: their endpoint names resolve to 127.0.0.1 in the emulated network (stacks.ts RDS_ENDPOINTS), and
   * an instance restored from their snapshots keeps the port. @default the engine's, 5432
   */
  readonly databasePort?: number;
}

/** Creates the ECS service (running v1), the database, the alarms (OK), the topic and the smoke-test secret. */
export async function createWorld(endpoint: string, credentials: AwsCredentials, stack: TierStackName, app: FakeApp, options: WorldOptions = {}): Promise<World> {
  const config = clientConfig(endpoint, credentials);
  const ecs = new ECSClient(config);
  await ecs.send(new CreateClusterCommand({ clusterName: 'shop-prod' }));
  const registered = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'shop-api',
      taskRoleArn: PASS_ROLES[0],
      executionRoleArn: PASS_ROLES[1],
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      containerDefinitions: [{ name: 'api', image: IMAGE('v1'), essential: true, cpu: 256, memory: 512, portMappings: [{ containerPort: 8080 }] }],
    }),
  );
  // A Fargate service runs in the default VPC's subnets; the migrations task must run there too.
  const ec2 = new EC2Client(config);
  const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }))).Subnets ?? [];
  const group = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'shop-api', Description: 'shop-api tasks', VpcId: subnets[0]?.VpcId }));
  await ecs.send(
    new CreateServiceCommand({
      cluster: 'shop-prod',
      serviceName: 'shop-api',
      taskDefinition: registered.taskDefinition?.taskDefinitionArn,
      desiredCount: 2,
      launchType: 'FARGATE',
      networkConfiguration: {
        awsvpcConfiguration: { subnets: subnets.slice(0, 2).map((s) => s.SubnetId ?? ''), securityGroups: [group.GroupId ?? ''], assignPublicIp: 'DISABLED' },
      },
    }),
  );

  // Three instances carrying the hosts stack's tags, and one of the same app in another environment it must leave alone.
  const instances: { tagged: string[]; other: string | null } = { tagged: [], other: null };
  if (TIER_STACKS[stack].target.kind === 'ssm-hosts') {
    const launch = async (count: number, tags: Record<string, string>) => {
      const run = await ec2.send(
        new RunInstancesCommand({
          ImageId: 'ami-12c6146b',
          InstanceType: 't4g.small',
          MinCount: count,
          MaxCount: count,
          TagSpecifications: [{ ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
        }),
      );
      return (run.Instances ?? []).map((instance) => instance.InstanceId ?? '');
    };
    instances.tagged = (await launch(3, HOST_TAGS)).sort();
    [instances.other] = await launch(1, STAGING_HOST_TAGS);
  }

  await createDatabase(new RDSClient(config), stack, options);

  const cloudwatch = new CloudWatchClient(config);
  for (const name of ALARMS) {
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: name,
        Namespace: 'ShopApi',
        MetricName: name,
        Statistic: 'Average',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: name, StateValue: 'OK', StateReason: 'steady' }));
  }

  const sns = new SNSClient(config);
  const sqs = new SQSClient(config);
  const topicArn = (await sns.send(new CreateTopicCommand({ Name: TOPIC_NAME }))).TopicArn;
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'deployments-inbox' }))).QueueUrl ?? '';
  const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));

  await new SecretsManagerClient(config).send(new CreateSecretCommand({ Name: SMOKE_SECRET, SecretString: JSON.stringify({ password: app.password }) }));
  app.connect(endpoint, credentials);
  if (TIER_STACKS[stack].target.kind === 'lambda-alias') {
    await createAliasedFunction(config);
    app.servesAlias = true;
  }

  const received: { subject?: string; message: string }[] = [];
  const notifications = async () => {
    for (;;) {
      const page = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!page.Messages?.length) return received;
      for (const message of page.Messages) {
        const envelope = JSON.parse(message.Body ?? '{}') as { Subject?: string; Message?: string };
        received.push({ subject: envelope.Subject, message: envelope.Message ?? '' });
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  };
  return {
    initialImage: IMAGE('v1'),
    initialTaskDefinition: registered.taskDefinition?.taskDefinitionArn ?? '',
    instances,
    notifications,
    async clearNotifications() {
      await notifications();
      received.length = 0;
    },
  };
}

/** The zip package CI uploads for a release (its bytes only matter to the code hash). */
export const PACKAGE = (tag: string) => `s3://${CODE_BUCKET}/${tag}/function.zip`;

/** The lambda-alias stack's function: v1 published as version 1 (described as the runbook describes its versions), the alias on it; v2's package uploaded. */
async function createAliasedFunction(config: ReturnType<typeof clientConfig>): Promise<void> {
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: CODE_BUCKET }));
  for (const tag of ['v1', 'v2']) {
    await s3.send(new PutObjectCommand({ Bucket: CODE_BUCKET, Key: `${tag}/function.zip`, Body: `package of ${tag}` }));
  }
  const role = await new IAMClient(config).send(
    new CreateRoleCommand({
      RoleName: FUNCTION_ROLE,
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
    }),
  );
  await publishInitialFunction(config, role.Role?.Arn ?? '');
}

const FUNCTION_ROLE = 'shop-fn';

/** Creates the function from v1's package, publishes it as version 1 and points the alias at it. */
async function publishInitialFunction(config: ReturnType<typeof clientConfig>, roleArn: string): Promise<void> {
  const lambda = new LambdaClient(config);
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: FUNCTION_NAME,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: roleArn,
      Code: { S3Bucket: CODE_BUCKET, S3Key: 'v1/function.zip' },
    }),
  );
  const v1 = await lambda.send(new PublishVersionCommand({ FunctionName: FUNCTION_NAME, Description: 'deploy-runbook v1 initial' }));
  await lambda.send(new CreateAliasCommand({ FunctionName: FUNCTION_NAME, Name: FUNCTION_ALIAS, FunctionVersion: v1.Version }));
}

/**
 * The lambda-alias stack's function as `createWorld` left it, for the next scenario on a stack deployed once: the
 * function (its versions and alias with it) deleted and created again, version 1 alone, the alias on it.
 */
export async function resetAliasedFunction(endpoint: string, credentials: AwsCredentials): Promise<void> {
  const config = clientConfig(endpoint, credentials);
  await new LambdaClient(config).send(new DeleteFunctionCommand({ FunctionName: FUNCTION_NAME }));
  const role = await new IAMClient(config).send(new GetRoleCommand({ RoleName: FUNCTION_ROLE }));
  await publishInitialFunction(config, role.Role?.Arn ?? '');
}

/** The stack's RDS instance, or its Aurora cluster with one writer, as the world creates them. */
async function createDatabase(rds: RDSClient, stack: TierStackName, options: WorldOptions): Promise<void> {
  const database = TIER_STACKS[stack].database;
  if (database?.kind === 'rds-instance') {
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: database.instanceIdentifier,
        Engine: 'postgres',
        EngineVersion: '16.4',
        DBInstanceClass: 'db.t4g.micro',
        AllocatedStorage: 20,
        Port: options.databasePort,
        MasterUsername: 'shop',
        MasterUserPassword: 'not-a-real-password',
      }),
    );
  } else if (database?.kind === 'aurora-cluster') {
    await rds.send(
      new CreateDBClusterCommand({
        DBClusterIdentifier: database.clusterIdentifier,
        Engine: 'aurora-postgresql',
        EngineVersion: '16.4',
        Port: options.databasePort,
        MasterUsername: 'shop',
        MasterUserPassword: 'not-a-real-password',
      }),
    );
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: `${database.clusterIdentifier}-1`,
        DBClusterIdentifier: database.clusterIdentifier,
        Engine: 'aurora-postgresql',
        DBInstanceClass: 'db.r6g.large',
      }),
    );
  }
}

/**
 * RDS as `createWorld` left it, for the next scenario on a stack deployed once: every instance, cluster and snapshot
 * deleted (a restore's copy under the original name, the failed one it kept renamed, the snapshots a deploy took,
 * with their tags), then the stack's database created again under its name with its settings (`options`, as the
 * deploy's world had them). A stack without an RDS database has none to reset.
 */
export async function resetDatabase(endpoint: string, credentials: AwsCredentials, stack: TierStackName, options: WorldOptions = {}): Promise<void> {
  const kind = TIER_STACKS[stack].database?.kind;
  if (kind !== 'rds-instance' && kind !== 'aurora-cluster') return;
  const rds = new RDSClient(clientConfig(endpoint, credentials));
  // Instances first: a cluster with members cannot be deleted. Deleting an instance deletes its automated snapshots.
  for (const instance of (await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []) {
    const DBInstanceIdentifier = instance.DBInstanceIdentifier ?? '';
    if (instance.DeletionProtection) await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier, DeletionProtection: false, ApplyImmediately: true }));
    await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }));
  }
  for (const cluster of (await rds.send(new DescribeDBClustersCommand({}))).DBClusters ?? []) {
    const DBClusterIdentifier = cluster.DBClusterIdentifier ?? '';
    if (cluster.DeletionProtection) await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier, DeletionProtection: false, ApplyImmediately: true }));
    await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier, SkipFinalSnapshot: true }));
  }
  for (const snapshot of (await rds.send(new DescribeDBSnapshotsCommand({}))).DBSnapshots ?? []) {
    await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshot.DBSnapshotIdentifier }));
  }
  for (const snapshot of (await rds.send(new DescribeDBClusterSnapshotsCommand({}))).DBClusterSnapshots ?? []) {
    await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: snapshot.DBClusterSnapshotIdentifier }));
  }
  await createDatabase(rds, stack, options);
}
