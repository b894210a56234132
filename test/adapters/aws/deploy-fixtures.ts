import type { Service, TaskDefinition } from '@aws-sdk/client-ecs';
import { parseConfig } from '../../../config/load';
import type { RunbookConfig } from '../../../config/schema';
import exampleConfig from '../../../config/example.json';
import type { Clock } from '../../../core/ports/clock';
import type { DeployHandle, Deployment } from '../../../core/model';
import { deploymentFor } from '../../support/builders';

/** Shared by the deploy-target, migrations and preflight tests: the example ECS service and its task definition. */

export const region = 'eu-west-1';
export const testCredentials = { accessKeyId: 'AKIDTESTONLY', secretAccessKey: 'test-secret-not-real' };

export const NOW = new Date('2025-06-01T10:05:00.000Z');
export const fixedClock: Clock = { now: () => NOW };

export const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api';
export const TD41 = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:41';
export const TD42 = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:42';
export const OLD_DEPLOYMENT = 'ecs-svc/1111111111111111111';
export const NEW_DEPLOYMENT = 'ecs-svc/2222222222222222222';
export const HOOK_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:shop-deploy-hook';

export function config(overrides: Record<string, unknown> = {}): RunbookConfig {
  return parseConfig({ ...exampleConfig, ...overrides });
}

export type EcsTarget = Extract<RunbookConfig['target'], { kind: 'ecs' }>;
export const ecsTarget = config().target as EcsTarget;

export const deployment: Deployment = deploymentFor(
  { id: 'arn:aws:states:eu-west-1:123456789012:execution:shop-api:release-v1.5.0', name: 'release-v1.5.0', startedAt: '2025-06-01T10:00:00.000Z' },
  { id: 'release-v1-5-0-1a2b3c4d', version: 'v1.5.0', requestedBy: 'ci' },
);

export const newRelease: DeployHandle = {
  kind: 'ecs',
  ref: TD42,
  version: 'v1.5.0',
  image: `${REPO}:v1.5.0`,
  deploymentId: NEW_DEPLOYMENT,
  startedAt: '2025-06-01T10:01:00.000Z',
};

/** Revision 41 as DescribeTaskDefinition returns it, read-only fields included. */
export function taskDefinition41(): TaskDefinition {
  return {
    taskDefinitionArn: TD41,
    family: 'shop-api',
    revision: 41,
    status: 'ACTIVE',
    taskRoleArn: 'arn:aws:iam::123456789012:role/shop-api-task',
    executionRoleArn: 'arn:aws:iam::123456789012:role/shop-api-execution',
    networkMode: 'awsvpc',
    containerDefinitions: [
      {
        name: 'api',
        image: `${REPO}:v1.4.2`,
        essential: true,
        portMappings: [{ containerPort: 3000, protocol: 'tcp' }],
        environment: [{ name: 'NODE_ENV', value: 'production' }],
        secrets: [{ name: 'DATABASE_URL', valueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/prod/db-AbCdEf' }],
        logConfiguration: { logDriver: 'awsfirelens' },
      },
      {
        name: 'log-router',
        image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0',
        essential: false,
        firelensConfiguration: { type: 'fluentbit' },
      },
    ],
    volumes: [],
    placementConstraints: [],
    requiresCompatibilities: ['FARGATE'],
    compatibilities: ['EC2', 'FARGATE'],
    requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.ecr-auth' }],
    cpu: '512',
    memory: '1024',
    runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
    ephemeralStorage: { sizeInGiB: 30 },
    enableFaultInjection: false,
    registeredAt: new Date('2025-05-30T08:59:00.000Z'),
    registeredBy: 'arn:aws:sts::123456789012:assumed-role/deploy-runbook/previous',
  };
}

/** The service settled on revision 41, with the circuit breaker on. */
export function service(overrides: Partial<Service> = {}): Service {
  return {
    serviceName: 'shop-api',
    serviceArn: 'arn:aws:ecs:eu-west-1:123456789012:service/shop-prod/shop-api',
    clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/shop-prod',
    status: 'ACTIVE',
    taskDefinition: TD41,
    desiredCount: 3,
    runningCount: 3,
    pendingCount: 0,
    launchType: 'FARGATE',
    platformVersion: '1.4.0',
    networkConfiguration: {
      awsvpcConfiguration: { subnets: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'], securityGroups: ['sg-0123456789abcdef0'], assignPublicIp: 'DISABLED' },
    },
    deploymentController: { type: 'ECS' },
    deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true }, maximumPercent: 200, minimumHealthyPercent: 100 },
    deployments: [
      {
        id: OLD_DEPLOYMENT,
        status: 'PRIMARY',
        taskDefinition: TD41,
        desiredCount: 3,
        runningCount: 3,
        pendingCount: 0,
        rolloutState: 'COMPLETED',
        createdAt: new Date('2025-05-30T09:00:00.000Z'),
      },
    ],
    ...overrides,
  };
}
