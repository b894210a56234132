import { join } from 'node:path';
import { ArnFormat, AssetHashType, BundlingOutput, DockerImage, Stack, Validations } from 'aws-cdk-lib';
import { Cluster, ContainerImage, ContainerInsights, CpuArchitecture, FargateTaskDefinition, LogDrivers, OperatingSystemFamily, Secret as EcsSecret } from 'aws-cdk-lib/aws-ecs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { BackupTask, type BackupTaskConfig, type DatabaseConfig } from '../config/schema';
import { ECS_PG_BACKUPS_IAM } from '../adapters/aws/ecs-pg-backups';
import { TASK_REQUEST_ENV } from '../adapters/aws/backup-task-request';
import { SIDECAR_SCRIPT, WORK_DIR_ENV } from '../adapters/aws/pg-sidecar';
import { S3_ARTIFACT_STORE_IAM as S3 } from '../adapters/aws/s3-artifact-store';
import { acknowledgeWildcardResources } from './nag-acknowledgements';
import type { RunbookNetwork } from './network';
import { PROJECT_ROOT } from './runbook-function';
import type { TaskGrant } from './task-permissions';

/** The Node container: its exit code is the task's outcome, and RunTask's override gives it the request. */
export const UPLOADER_CONTAINER = 'uploader';
/** The container running pg_dump / pg_restore (adapters/aws/pg-sidecar.ts). */
export const POSTGRES_CONTAINER = 'postgres';
/** Where both containers mount the task's shared volume (the FIFOs, never the dump: it streams through). */
export const WORK_DIR = '/dump-work';
/** The uploader bundle's file name, in the asset and in the work directory. */
export const BUNDLE_FILE = 'pg-backup-task.mjs';

/**
 * The Node container's command (`node -e`): fetch the uploader bundle (a CDK file asset) with the AWS SDK the
 * image ships, then import it. `TASK_SDK_DIR` names another node_modules where the SDK lives (the tier's).
 */
export const BOOTSTRAP = [
  "const path=require('path');",
  "const {S3Client,GetObjectCommand}=require(path.join(process.env.TASK_SDK_DIR||'/var/runtime/node_modules','@aws-sdk/client-s3'));",
  `const file=path.join(process.env.${WORK_DIR_ENV},'${BUNDLE_FILE}');`,
  'new S3Client({}).send(new GetObjectCommand({Bucket:process.env.TASK_BUNDLE_BUCKET,Key:process.env.TASK_BUNDLE_KEY}))',
  '.then((r)=>r.Body.transformToByteArray())',
  ".then((bytes)=>{require('fs').writeFileSync(file,bytes);return import(require('url').pathToFileURL(file).href);})",
  ".catch((e)=>{console.log(JSON.stringify({level:'ERROR',message:'the backup task could not fetch its bundle',error:String(e&&e.message||e)}));process.exit(2);});",
].join('');

// ESM output still meets CommonJS dependencies that call require(): give them one.
const REQUIRE_BANNER = "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

export interface PgBackupTaskProps {
  /** A `postgres` database, or an RDS instance / Aurora cluster with `logicalBackup: true`: its connection and task settings. */
  readonly database: Pick<DatabaseConfig, 'kind' | 'connection'> & { readonly backupTask?: BackupTaskConfig };
  /** The runbook's name: the task writes under `backups/<target>/` only. */
  readonly target: string;
  readonly bucket: IBucket;
  readonly network: RunbookNetwork;
  readonly logRetention: RetentionDays;
}

/**
 * The ECS Fargate task that takes and restores logical backups of a `postgres` database on AWS: a stock
 * PostgreSQL image runs pg_dump / pg_restore, a stock Node.js image runs the uploader (adapters/aws/pg-backup-task.ts,
 * bundled here with esbuild into a file asset: `cdk deploy` builds no image and needs no Docker). Both read the
 * connection from the secret; the dump streams between them through FIFOs on the task's volume.
 */
export class PgBackupTask extends Construct {
  readonly cluster: Cluster;
  readonly taskDefinition: FargateTaskDefinition;
  /** What the snapshot function needs: start and follow the task, read its meta, write its task record. */
  readonly snapshotGrants: readonly TaskGrant[];
  /** What the restore function needs: start and follow the task, read its outcome. */
  readonly restoreGrants: readonly TaskGrant[];
  /** The placement the database functions read from `PG_BACKUP_TASK` (adapters/aws/ecs-pg-backups.ts). */
  readonly placement: { cluster: string; taskDefinition: string; container: string; subnets: string[]; securityGroups: string[] };

  constructor(scope: Construct, id: string, props: PgBackupTaskProps) {
    super(scope, id);
    const { database, bucket, network } = props;
    const connection = database.connection;
    if (!connection) throw new Error(`database.connection is required for logical backups of a ${database.kind} database on AWS`);
    const settings = database.backupTask ?? BackupTask.parse({});

    this.cluster = new Cluster(this, 'Cluster', { vpc: network.vpc, containerInsightsV2: ContainerInsights.ENABLED });
    this.taskDefinition = new FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: settings.cpu,
      memoryLimitMiB: settings.memoryMiB,
      runtimePlatform: { cpuArchitecture: CpuArchitecture.X86_64, operatingSystemFamily: OperatingSystemFamily.LINUX },
      volumes: [{ name: 'work' }],
    });

    const bundle = new Asset(this, 'UploaderBundle', {
      path: join(PROJECT_ROOT, 'adapters', 'aws'),
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never pulled: the local bundling below always succeeds, so Docker is not needed.
        image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22'),
        outputType: BundlingOutput.SINGLE_FILE,
        local: {
          tryBundle(outputDir: string) {
            buildSync({
              entryPoints: [join(PROJECT_ROOT, 'adapters', 'aws', 'pg-backup-task-main.ts')],
              outfile: join(outputDir, BUNDLE_FILE),
              bundle: true,
              platform: 'node',
              format: 'esm',
              target: 'node20',
              minify: true,
              keepNames: true,
              banner: { js: REQUIRE_BANNER },
              // pg's optional native binding is never used.
              external: ['pg-native'],
              logLevel: 'error',
            });
            return true;
          },
        },
      },
    });

    const secret: ISecret = connection.secretsManager.startsWith('arn:')
      ? Secret.fromSecretCompleteArn(this, 'ConnectionSecret', connection.secretsManager)
      : Secret.fromSecretNameV2(this, 'ConnectionSecret', connection.secretsManager);
    // The configuration's host, port and database win over the secret's (as for the functions); the rest come from it.
    const fromSecret: Record<string, EcsSecret> = {
      PGUSER: EcsSecret.fromSecretsManager(secret, 'username'),
      PGPASSWORD: EcsSecret.fromSecretsManager(secret, 'password'),
      ...(connection.host === undefined && { PGHOST: EcsSecret.fromSecretsManager(secret, 'host') }),
      ...(connection.host === undefined && connection.port === undefined && { PGPORT: EcsSecret.fromSecretsManager(secret, 'port') }),
      ...(connection.database === undefined && { PGDATABASE: EcsSecret.fromSecretsManager(secret, 'dbname') }),
    };
    const configured: Record<string, string> = {
      [WORK_DIR_ENV]: WORK_DIR,
      // An unreachable database fails the dump in 10 s instead of hanging on the TCP connect.
      PGCONNECT_TIMEOUT: '10',
      PGSSLMODE: connection.sslmode,
      // verify-full checks the server against the image's CA store (libpq 16+) and Node's plus the RDS CAs the Lambda image ships.
      ...(connection.sslmode === 'verify-full' && { PGSSLROOTCERT: 'system', NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' }),
      ...(connection.host !== undefined && { PGHOST: connection.host, PGPORT: String(connection.port ?? 5432) }),
      ...(connection.host === undefined && connection.port !== undefined && { PGPORT: String(connection.port) }),
      ...(connection.database !== undefined && { PGDATABASE: connection.database }),
    };
    const logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention });
    const mount = { containerPath: WORK_DIR, sourceVolume: 'work', readOnly: false };

    const postgres = this.taskDefinition.addContainer(POSTGRES_CONTAINER, {
      image: ContainerImage.fromRegistry(settings.postgresImage),
      // The uploader decides the outcome; this container is stopped when it exits.
      essential: false,
      entryPoint: ['sh', '-c'],
      command: [SIDECAR_SCRIPT],
      environment: configured,
      secrets: fromSecret,
      logging: LogDrivers.awsLogs({ logGroup, streamPrefix: POSTGRES_CONTAINER }),
    });
    postgres.addMountPoints(mount);
    const uploader = this.taskDefinition.addContainer(UPLOADER_CONTAINER, {
      image: ContainerImage.fromRegistry(settings.nodeImage),
      essential: true,
      entryPoint: ['node'],
      command: ['-e', BOOTSTRAP],
      environment: { ...configured, RUNBOOK_BUCKET: bucket.bucketName, TASK_BUNDLE_BUCKET: bundle.s3BucketName, TASK_BUNDLE_KEY: bundle.s3ObjectKey },
      secrets: fromSecret,
      logging: LogDrivers.awsLogs({ logGroup, streamPrefix: UPLOADER_CONTAINER }),
    });
    uploader.addMountPoints(mount);

    // The task role: its own prefix of the bucket, and the bundle. Reading the secret is the execution role's (ECS injects it).
    const prefix = `backups/${props.target}/`;
    const objects = bucket.arnForObjects(`${prefix}*`);
    const taskRole = this.taskDefinition.taskRole;
    taskRole.addToPrincipalPolicy(new PolicyStatement({ actions: [S3.getObject, S3.putObject, S3.abortMultipartUpload], resources: [objects] }));
    taskRole.addToPrincipalPolicy(new PolicyStatement({ actions: [S3.listBucket], resources: [bucket.bucketArn], conditions: { StringLikeIfExists: { 's3:prefix': [`${prefix}*`] } } }));
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: [S3.getObject], resources: [Stack.of(this).formatArn({ service: 's3', region: '', account: '', resource: bundle.s3BucketName, resourceName: bundle.s3ObjectKey })] }),
    );
    const objectsReason = `dumps, metas and restore outcomes are named per snapshot under ${prefix} (backups/<target>/<snapshot id>.*)`;
    acknowledgeWildcardResources(taskRole, [{ resource: objects, reason: objectsReason }]);
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'the environment holds no secret: the work directory, timeouts, TLS mode, bucket and bundle names; the credentials come from Secrets Manager through `secrets`',
    });

    const stack = Stack.of(this);
    const tasks = stack.formatArn({ service: 'ecs', resource: 'task', resourceName: `${this.cluster.clusterName}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const roles = [taskRole.roleArn, ...(this.taskDefinition.executionRole ? [this.taskDefinition.executionRole.roleArn] : [])];
    const runAndFollow: TaskGrant[] = [
      { actions: [ECS_PG_BACKUPS_IAM.runTask], resources: [this.taskDefinition.taskDefinitionArn], conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } } },
      { actions: [ECS_PG_BACKUPS_IAM.describeTasks], resources: [tasks], wildcardReason: 'task ids in the backup cluster are assigned when the backup task starts' },
      { actions: [ECS_PG_BACKUPS_IAM.passRoles], resources: roles, conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } } },
      // Without ListBucket, S3 answers 403 instead of 404 for a meta not written yet.
      { actions: [S3.listBucket], resources: [bucket.bucketArn], conditions: { StringLikeIfExists: { 's3:prefix': [`${prefix}*`] } } },
    ];
    this.snapshotGrants = [...runAndFollow, { actions: [S3.getObject, S3.putObject], resources: [objects], wildcardReason: objectsReason }];
    this.restoreGrants = [...runAndFollow, { actions: [S3.getObject], resources: [objects], wildcardReason: objectsReason }];
    this.placement = {
      cluster: this.cluster.clusterArn,
      taskDefinition: this.taskDefinition.taskDefinitionArn,
      container: UPLOADER_CONTAINER,
      subnets: network.subnets.map((subnet) => subnet.subnetId),
      securityGroups: network.securityGroups.map((group) => group.securityGroupId),
    };
  }
}

/** The request environment variable the uploader reads (re-exported for the tier's bridge). */
export { TASK_REQUEST_ENV };
