import { Fn } from 'aws-cdk-lib';
import { type ISecurityGroup, type ISubnet, type IVpc, SecurityGroup, Subnet, type SubnetSelection, Vpc } from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { NetworkConfig, RunbookConfig } from '../config/schema';
import { takesLogicalBackups } from '../config/kinds';
import { LAMBDA_CA_BUNDLE } from '../adapters/aws/database-connection';
import { ResourceArns } from './resource-arns';
import type { TaskGrant } from './task-permissions';

/** The configured VPC, subnets and security groups as CDK objects: for a function (`vpc`, `vpcSubnets`, `securityGroups`) or an ECS task. */
export interface RunbookNetwork {
  readonly vpc: IVpc;
  readonly subnets: readonly ISubnet[];
  /** The subnets as a selection (`vpcSubnets` of a function, `subnets` of an ECS task). */
  readonly vpcSubnets: SubnetSelection;
  readonly securityGroups: readonly ISecurityGroup[];
  /** What a Lambda function's role needs to run in these subnets (the runtime's network interfaces). */
  readonly lambdaGrants: readonly TaskGrant[];
}

/**
 * The configuration's `network` as imported CDK objects, created under `scope` with ids starting with `id`. Nothing
 * is looked up at synth time and nothing is created in the account: the VPC, subnets and security groups are the
 * user's. The security groups are imported immutable, so no construct adds rules to them.
 */
export function runbookNetwork(scope: Construct, id: string, network: NetworkConfig): RunbookNetwork {
  // The subnets are selected by id: the VPC's zones (the region's, unresolved) and route tables are never read.
  const vpc = Vpc.fromVpcAttributes(scope, `${id}Vpc`, { vpcId: network.vpcId, availabilityZones: Fn.getAzs() });
  const subnets = network.subnetIds.map((subnetId) => Subnet.fromSubnetId(scope, `${id}${subnetId}`, subnetId));
  const securityGroups = network.securityGroupIds.map((groupId) => SecurityGroup.fromSecurityGroupId(scope, `${id}${groupId}`, groupId, { mutable: false }));
  return { vpc, subnets, vpcSubnets: { subnets }, securityGroups, lambdaGrants: lambdaVpcGrants(scope, network) };
}

/** The task functions that connect to the database (SQL checks, fingerprints): they get its CA bundle and its secret. */
const DATABASE_FOLDERS = ['data-checks'] as const;

/**
 * Every task function that connects to the database: the SQL checks, and with logical backups Preflight (an unreachable
 * database stops the deployment there) and the snapshot function, which connect as the backup task will before starting
 * it and to verify the dump; for `postgres` the restore function too (it names the database the task replaces).
 */
export function databaseFolders(config: Partial<Pick<RunbookConfig, 'database'>>): string[] {
  const logical = takesLogicalBackups(config.database);
  return [...DATABASE_FOLDERS, ...(logical ? ['preflight', 'database-snapshot'] : []), ...(config.database?.kind === 'postgres' ? ['restore-database'] : [])];
}

/**
 * The task functions that need network reach, placed in `network` when it is configured: the smoke test (internal
 * endpoints), the functions that connect to the database, and the preflight and evaluate-alarms functions when an
 * `http` analysis metric re-runs smoke checks from them.
 */
export function networkFolders(config: Pick<RunbookConfig, 'analysis'> & Partial<Pick<RunbookConfig, 'database'>>): string[] {
  const rerunsSmokeChecks = config.analysis.metrics.some((metric) => metric.provider.kind === 'http');
  const folders = ['smoke-test', ...databaseFolders(config), ...(rerunsSmokeChecks ? ['preflight', 'evaluate-alarms'] : [])];
  return [...new Set(folders)];
}

/** The environment of a function that connects to the database: the Lambda runtime's CA bundle (with the RDS CAs) trusted. */
export const DATABASE_CLIENT_ENVIRONMENT = { NODE_EXTRA_CA_CERTS: LAMBDA_CA_BUNDLE } as const;

/**
 * The EC2 actions of AWS's AWSLambdaVPCAccessExecutionRole, written inline and scoped to the configured subnets,
 * security groups and VPC where EC2 allows it: Lambda calls them with the function's role to manage the function's
 * network interfaces.
 */
export const LAMBDA_VPC_IAM = {
  createNetworkInterface: 'ec2:CreateNetworkInterface',
  deleteNetworkInterface: 'ec2:DeleteNetworkInterface',
  assignPrivateIpAddresses: 'ec2:AssignPrivateIpAddresses',
  unassignPrivateIpAddresses: 'ec2:UnassignPrivateIpAddresses',
  describeNetworkInterfaces: 'ec2:DescribeNetworkInterfaces',
  describeSubnets: 'ec2:DescribeSubnets',
} as const;

function lambdaVpcGrants(scope: Construct, network: NetworkConfig): TaskGrant[] {
  const arns = new ResourceArns(scope);
  const interfaces = arns.ec2('network-interface', '*');
  const reason = 'Lambda names the network interfaces it creates for the function when it creates them';
  return [
    {
      actions: [LAMBDA_VPC_IAM.createNetworkInterface],
      resources: [interfaces, ...network.subnetIds.map((id) => arns.ec2('subnet', id)), ...network.securityGroupIds.map((id) => arns.ec2('security-group', id))],
      wildcardReason: `${reason}; only in the configured subnets and security groups`,
    },
    {
      actions: [LAMBDA_VPC_IAM.deleteNetworkInterface, LAMBDA_VPC_IAM.assignPrivateIpAddresses, LAMBDA_VPC_IAM.unassignPrivateIpAddresses],
      resources: [interfaces],
      conditions: { ArnEquals: { 'ec2:Vpc': arns.ec2('vpc', network.vpcId) } },
      wildcardReason: `${reason}; only interfaces in the configured VPC (ec2:Vpc condition)`,
    },
    {
      actions: [LAMBDA_VPC_IAM.describeNetworkInterfaces, LAMBDA_VPC_IAM.describeSubnets],
      resources: ['*'],
      wildcardReason: 'ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets have no resource-level permissions',
    },
  ];
}
