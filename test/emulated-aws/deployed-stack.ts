import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { FunctionHost } from './function-host';
import type { BridgedTask, MotoControl, MotoServer } from './moto-server';
import { PLAN_STACK_OUTPUTS } from '../../core/release-plan';
import { STACK_OUTPUTS } from '../../lib/deploy-runbook-stack';
import { PROJECT_ROOT } from '../../lib/runbook-function';
import { findPostgresBinaries } from '../../local/postgres/binaries';
import { ACCOUNT, PLAN_STACK, REGION, type SynthesizedTier, stackName, type TierStackName } from './stacks';

type MotoCredentials = NonNullable<MotoControl['statesCredentials']>;

/** The tier's PostgreSQL client programs: they stand in for the backup task image's. */
const POSTGRES_BIN = findPostgresBinaries({ programs: ['pg_dump', 'pg_restore'] }).binDir;
/** The emulated network's resolver for a bridged task's Node containers (`NODE_OPTIONS=--import`). */
const DNS_PRELOAD = fileURLToPath(new URL('./tier-dns.mjs', import.meta.url));

/** Static keys for the set-up calls made before IAM is enforced; afterwards only real principals get in. */
const SETUP_CREDENTIALS = { accessKeyId: 'AKIASETUPSETUPSETUP0', secretAccessKey: 'setup' };

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Client settings for moto as a given principal. */
export function clientConfig(endpoint: string, credentials: AwsCredentials) {
  return { endpoint, region: REGION, credentials, forcePathStyle: true, maxAttempts: 1 };
}

/** A stack deployed into moto by its CloudFormation, its functions served by the host from cdk.out. */
export interface DeployedStack {
  readonly stackName: string;
  readonly stateMachineArn: string;
  /** The restore-approval activity (the RestoreApprovalActivityArn output; the plan stack's PlanApprovalActivityArn). */
  readonly restoreApprovalActivityArn: string;
  readonly bucketName: string;
  /** An administrator of the emulated account: the operator (and the CLI) act as this user. */
  readonly admin: AwsCredentials;
  /** Function folder (`deploy-target`) → the principal its role's credentials sign as. */
  readonly principals: Readonly<Record<string, string>>;
  readonly stateMachinePrincipal: string;
}

/** An empty zip: moto's CreateFunction wants an archive; the host runs the asset directory it came from. */
const EMPTY_ZIP = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);

/**
 * Deploys one synthesized stack into a freshly reset moto as `cdk deploy` would (bootstrap parameter, assets,
 * CreateStack with the template), registers each function with the host — its bundle directory, the
 * template's environment and timeout, and credentials of its own role — and then turns IAM enforcement on.
 */
export async function deployStack(moto: MotoServer, host: FunctionHost, tier: SynthesizedTier, name: TierStackName): Promise<DeployedStack> {
  const [stack] = await deployStacks(moto, host, tier, [name]);
  return stack;
}

/** The plan stack's outputs in the shape of a runbook stack's: its state machine, its bucket, its approval activity. */
const OUTPUTS = {
  runbook: { stateMachineArn: STACK_OUTPUTS.stateMachineArn, bucketName: STACK_OUTPUTS.bucketName, activityArn: STACK_OUTPUTS.restoreApprovalActivityArn },
  plan: { stateMachineArn: PLAN_STACK_OUTPUTS.stateMachineArn, bucketName: PLAN_STACK_OUTPUTS.bucketName, activityArn: PLAN_STACK_OUTPUTS.approvalActivityArn },
} as const;

/**
 * Deploys several synthesized stacks of one app, in order (an exporting stack before its importers), into one freshly
 * reset account. Each state machine's Lambda calls and service integrations are signed as its own role.
 */
export async function deployStacks(moto: MotoServer, host: FunctionHost, tier: SynthesizedTier, names: readonly (TierStackName | typeof PLAN_STACK)[]): Promise<DeployedStack[]> {
  await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
  await fetch(`${moto.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '1000000000' });
  moto.control({});
  moto.clearAuthorizations();
  const config = clientConfig(moto.endpoint, SETUP_CREDENTIALS);
  await new SSMClient(config).send(new PutParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version', Value: '30', Type: 'String' }));
  await new S3Client(config).send(new CreateBucketCommand({ Bucket: `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}` }));

  const deployed: Omit<DeployedStack, 'admin'>[] = [];
  const machines: Record<string, MotoCredentials> = {};
  const bridge: Record<string, BridgedTask> = {};
  for (const name of names) {
    const deployedTemplate = await deployTemplate(moto, host, tier, name, name === PLAN_STACK ? OUTPUTS.plan : OUTPUTS.runbook);
    machines[deployedTemplate.stack.stateMachineArn] = deployedTemplate.states;
    Object.assign(bridge, deployedTemplate.bridge);
    deployed.push(deployedTemplate.stack);
  }
  // The interpreter signs as the role of the state machine whose execution calls (moto/launch.py); RunTask of a
  // bridged task definition runs its containers locally.
  moto.control({ statesCredentials: Object.values(machines)[0], machineCredentials: machines, bridge });

  const iam = new IAMClient(config);
  await iam.send(new CreateUserCommand({ UserName: 'operator' }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: 'operator',
      PolicyName: 'administrator',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
    }),
  );
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'operator' }))).AccessKey;
  const admin = { accessKeyId: key?.AccessKeyId ?? '', secretAccessKey: key?.SecretAccessKey ?? '' };
  return deployed.map((stack) => ({ ...stack, admin }));
}

async function deployTemplate(
  moto: MotoServer,
  host: FunctionHost,
  tier: SynthesizedTier,
  name: TierStackName | typeof PLAN_STACK,
  outputs: (typeof OUTPUTS)[keyof typeof OUTPUTS],
): Promise<{ stack: Omit<DeployedStack, 'admin'>; states: MotoCredentials; bridge: Record<string, BridgedTask> }> {
  const config = clientConfig(moto.endpoint, SETUP_CREDENTIALS);
  const template = tier.templates[name];
  const stack = stackName(name);
  const s3 = new S3Client(config);
  const assetBucket = `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`;
  const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  // What cdk deploy uploads: each asset's object key and the cdk.out directory it is zipped from.
  const manifest = JSON.parse(readFileSync(join(tier.outdir, `${stack}.assets.json`), 'utf8')) as {
    files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }>;
  };
  const assetDirs = new Map(
    Object.values(manifest.files).flatMap((file) => Object.values(file.destinations).map((d) => [d.objectKey, join(tier.outdir, file.source.path)] as const)),
  );
  const assetDir = (resource: (typeof functions)[number][1]) => {
    const key = (resource.Properties.Code as { S3Key: string }).S3Key;
    const dir = assetDirs.get(key);
    if (!dir) throw new Error(`${stack}: no asset in ${stack}.assets.json is uploaded as ${key}`);
    return { key, dir };
  };
  for (const [, resource] of functions) {
    await s3.send(new PutObjectCommand({ Bucket: assetBucket, Key: assetDir(resource).key, Body: EMPTY_ZIP }));
  }
  // File assets no function runs (the backup task's uploader bundle) are uploaded as cdk deploy uploads them.
  const functionKeys = new Set(functions.map(([, resource]) => assetDir(resource).key));
  for (const [key, path] of assetDirs) {
    if (!functionKeys.has(key) && !statSync(path).isDirectory()) await s3.send(new PutObjectCommand({ Bucket: assetBucket, Key: key, Body: readFileSync(path) }));
  }

  const cfn = new CloudFormationClient(config);
  await cfn.send(new CreateStackCommand({ StackName: stack, TemplateBody: JSON.stringify(template), Capabilities: ['CAPABILITY_IAM'] }));
  const described = (await cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks?.[0];
  if (described?.StackStatus !== 'CREATE_COMPLETE') throw new Error(`${stack}: ${described?.StackStatus} ${described?.StackStatusReason ?? ''}\n${moto.log()}`);
  const output = (key: string) => described.Outputs?.find((o) => o.OutputKey === key)?.OutputValue ?? '';
  const physical = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: stack, NextToken: token }));
    for (const r of page.StackResourceSummaries ?? []) physical.set(r.LogicalResourceId ?? '', r.PhysicalResourceId ?? '');
    token = page.NextToken;
  } while (token);

  const sts = new STSClient(config);
  const assume = async (roleArn: string) => {
    const { Credentials: c, AssumedRoleUser: user } = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'tier' }));
    return { credentials: { accessKeyId: c?.AccessKeyId ?? '', secretAccessKey: c?.SecretAccessKey ?? '', sessionToken: c?.SessionToken ?? '' }, arn: user?.Arn ?? '' };
  };

  const lambda = new LambdaClient(config);
  const principals: Record<string, string> = {};
  for (const [logicalId, resource] of functions) {
    const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physical.get(logicalId) }));
    const role = await assume(fn.Role ?? '');
    const folder = /^deploy-runbook (\S+) task$/.exec(String(resource.Properties.Description))?.[1] ?? logicalId;
    principals[folder] = role.arn;
    host.register({
      name: fn.FunctionName ?? '',
      arn: fn.FunctionArn ?? '',
      taskRoot: assetDir(resource).dir,
      handler: fn.Handler ?? 'index.handler',
      timeoutSeconds: fn.Timeout ?? 3,
      memoryMb: fn.MemorySize ?? 128,
      environment: {
        ...fn.Environment?.Variables,
        AWS_ACCESS_KEY_ID: role.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: role.credentials.secretAccessKey,
        AWS_SESSION_TOKEN: role.credentials.sessionToken,
        // The emulated network's only way to AWS: every SDK client of the bundle talks to moto.
        AWS_ENDPOINT_URL: moto.endpoint,
      },
    });
  }

  // The stack's ECS task definitions, whose containers the tier runs (moto/launch.py): the containers sign as the
  // task role, their secrets are read as the execution role.
  const bridge: Record<string, BridgedTask> = {};
  const roleOf = async (value: unknown) => {
    const logicalId = (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
    return logicalId ? assume(`arn:aws:iam::${ACCOUNT}:role/${physical.get(logicalId)}`) : undefined;
  };
  for (const [, resource] of Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')) {
    const family = resource.Properties.Family as string | undefined;
    const [task, execution] = [await roleOf(resource.Properties.TaskRoleArn), await roleOf(resource.Properties.ExecutionRoleArn)];
    if (!family || !task || !execution) throw new Error(`${stack}: task definition ${family ?? '(no family)'} lacks a family, a task role or an execution role the tier can run it with`);
    bridge[family] = {
      localBin: POSTGRES_BIN,
      sdkDir: join(PROJECT_ROOT, 'node_modules'),
      endpoint: moto.endpoint,
      credentials: task.credentials,
      executionCredentials: execution.credentials,
      // The task's subnets reach what the functions' do: the same names resolve.
      hosts: host.hosts,
      dnsPreload: DNS_PRELOAD,
    };
    principals[`task:${family}`] = task.arn;
    principals[`task-execution:${family}`] = execution.arn;
  }

  const stateMachineArn = output(outputs.stateMachineArn);
  const machine = await new SFNClient(config).send(new DescribeStateMachineCommand({ stateMachineArn }));
  const states = await assume(machine.roleArn ?? '');
  return {
    stack: { stackName: stack, stateMachineArn, bucketName: output(outputs.bucketName), restoreApprovalActivityArn: output(outputs.activityArn), principals, stateMachinePrincipal: states.arn },
    states: states.credentials,
    bridge,
  };
}
