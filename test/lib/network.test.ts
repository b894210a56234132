import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import type { RunbookConfigInput } from '../../config/schema';
import { networkFolders, runbookNetwork } from '../../lib/network';
import { databaseConnectionGrants } from '../../lib/task-permissions';
import { analysisInput, arn, config, exampleInput, resources, synth, taskStatements } from './fixtures';

const NETWORK = { vpcId: 'vpc-0a1b2c3d4e5f67890', subnetIds: ['subnet-0a1b2c3d4e5f67890', 'subnet-1a2b3c4d'], securityGroupIds: ['sg-0a1b2c3d4e5f67890', 'sg-1a2b3c4d'] };
const placedInput: RunbookConfigInput = { ...exampleInput, network: NETWORK };

let placedSynth: ReturnType<typeof synth> | undefined;
/** The runbook with `network`, synthesized once for the tests that only read it. */
function placed(): ReturnType<typeof synth> {
  placedSynth ??= synth({ config: placedInput });
  return placedSynth;
}

/** The VpcConfig of each function of the template, by its folder (the function's description names it). */
function vpcConfigs(input: RunbookConfigInput): Record<string, unknown> {
  const { template } = input === placedInput ? placed() : synth({ config: input });
  return Object.fromEntries(
    Object.values(resources(template))
      .filter((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('deploy-runbook '))
      .map((r) => [String(r.Properties.Description).replace(/^deploy-runbook (.*) task$/, '$1'), r.Properties.VpcConfig]),
  );
}

const EXPECTED_VPC_CONFIG = { SubnetIds: NETWORK.subnetIds, SecurityGroupIds: NETWORK.securityGroupIds };

// The first synthesis loads much of aws-cdk-lib, which takes a while on a cold, busy fork.
describe('network placement', { timeout: 90_000 }, () => {
  it('places only the smoke test and the function that reads the database in the configured subnets and security groups', () => {
    const placed = Object.entries(vpcConfigs(placedInput)).filter(([, vpc]) => vpc !== undefined);
    expect(placed.sort()).toEqual([
      ['data-checks', EXPECTED_VPC_CONFIG],
      ['smoke-test', EXPECTED_VPC_CONFIG],
    ]);
  });

  it("lets the database function trust the Lambda runtime's CA bundle, which holds the RDS CAs, and read only the connection secret", () => {
    const input = { ...placedInput, database: { ...exampleInput.database, connection: { secretsManager: 'shop/prod/db' } } } as RunbookConfigInput;
    const s = synth({ config: input });
    const fn = Object.values(resources(s.template)).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description === 'deploy-runbook data-checks task');
    expect((fn?.Properties.Environment as { Variables: Record<string, unknown> }).Variables.NODE_EXTRA_CA_CERTS).toBe('/var/runtime/ca-cert.pem');
    const secrets = taskStatements(s, 'data-checks').filter((statement) => statement.Action.includes('secretsmanager:GetSecretValue'));
    expect(secrets).toEqual([{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [arn('secretsmanager', 'secret:shop/prod/db-??????')] }]);
  });

  it('also places preflight and evaluate-alarms when an http analysis metric re-runs smoke checks from them', () => {
    const input = {
      ...analysisInput,
      network: NETWORK,
      analysis: { ...analysisInput.analysis, metrics: [{ name: 'failing-checks', provider: { kind: 'http' }, failureCondition: 'result > 0' }] },
    } as RunbookConfigInput;
    const placed = Object.entries(vpcConfigs(input))
      .filter(([, vpc]) => vpc !== undefined)
      .map(([folder]) => folder)
      .sort();
    expect(placed).toEqual(['data-checks', 'evaluate-alarms', 'preflight', 'smoke-test']);
    expect(networkFolders(config(input)).sort()).toEqual(placed);
  });

  it('places nothing in a VPC without a network configuration', () => {
    expect(Object.values(vpcConfigs(exampleInput)).filter((vpc) => vpc !== undefined)).toEqual([]);
  });

  it('creates no VPC, subnet or security group, and adds no rule to the given groups', () => {
    const { template } = placed();
    const types = Object.values(resources(template)).map((r) => r.Type);
    expect(types.filter((type) => type.startsWith('AWS::EC2::'))).toEqual([]);
  });

  it("gives the placed function's role the network-interface permissions, scoped to the configured subnets, groups and VPC", () => {
    const s = placed();
    const ec2 = taskStatements(s, 'smoke-test').filter((statement) => statement.Action.some((action) => action.startsWith('ec2:')));
    expect(ec2).toEqual([
      {
        Effect: 'Allow',
        Action: ['ec2:CreateNetworkInterface'],
        Resource: [
          arn('ec2', 'network-interface/*'),
          arn('ec2', 'subnet/subnet-0a1b2c3d4e5f67890'),
          arn('ec2', 'subnet/subnet-1a2b3c4d'),
          arn('ec2', 'security-group/sg-0a1b2c3d4e5f67890'),
          arn('ec2', 'security-group/sg-1a2b3c4d'),
        ],
      },
      {
        Effect: 'Allow',
        Action: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        Resource: [arn('ec2', 'network-interface/*')],
        Condition: { ArnEquals: { 'ec2:Vpc': arn('ec2', 'vpc/vpc-0a1b2c3d4e5f67890') } },
      },
      { Effect: 'Allow', Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'], Resource: ['*'] },
    ]);
    // The other functions stay outside the VPC and get none of it.
    expect(taskStatements(s, 'deploy-target').flatMap((statement) => statement.Action).filter((action) => action.startsWith('ec2:'))).toEqual([]);
  });

  it('creates the function after its role policy: Lambda checks the network-interface permissions when it creates the function', () => {
    const s = placed();
    const fn = s.stack.runbook.functions['smoke-test'];
    const template = s.template.toJSON() as { Resources: Record<string, { DependsOn?: string[] }> };
    const dependsOn = template.Resources[s.stack.getLogicalId(fn.node.defaultChild as never)].DependsOn ?? [];
    expect(dependsOn.some((id) => /SmokeTestFunctionRoleDefaultPolicy/.test(id))).toBe(true);
  });

  it('hands the imported network to other constructs through the runbook', () => {
    const { stack } = placed();
    const network = stack.runbook.network;
    expect(network?.vpc.vpcId).toBe(NETWORK.vpcId);
    expect(network?.subnets.map((subnet) => subnet.subnetId)).toEqual(NETWORK.subnetIds);
    expect(network?.securityGroups.map((group) => group.securityGroupId)).toEqual(NETWORK.securityGroupIds);
    expect(network?.vpc.selectSubnets(network.vpcSubnets).subnetIds).toEqual(NETWORK.subnetIds);
  });

  it('can be imported on its own, for a construct outside the runbook', () => {
    const stack = new Stack(new App(), 'Other');
    const network = runbookNetwork(stack, 'Db', NETWORK);
    expect(network.securityGroups).toHaveLength(2);
    expect(network.lambdaGrants.flatMap((grant) => grant.actions)).toContain('ec2:CreateNetworkInterface');
  });
});

describe('databaseConnectionGrants', () => {
  it('reads exactly the connection secret, by name (any suffix) or by ARN', () => {
    const stack = new Stack(new App(), 'Grants', { env: { account: '123456789012', region: 'eu-west-1' } });
    const byName = config({ ...exampleInput, database: { ...exampleInput.database, connection: { secretsManager: 'shop/prod/db' } } } as RunbookConfigInput);
    expect(databaseConnectionGrants(stack, byName)).toEqual([
      { actions: ['secretsmanager:GetSecretValue'], resources: [`arn:${stack.partition}:secretsmanager:eu-west-1:123456789012:secret:shop/prod/db-??????`] },
    ]);
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/prod/db-AbCdEf';
    const byArn = config({ ...exampleInput, database: { ...exampleInput.database, connection: { secretsManager: secretArn } } } as RunbookConfigInput);
    expect(databaseConnectionGrants(stack, byArn)).toEqual([{ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }]);
    expect(databaseConnectionGrants(stack, config(exampleInput))).toEqual([]);
  });
});
