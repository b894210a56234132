import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DeployTargetEvent } from '../../../core/tasks/deploy-target/deploy-target';
import { handler } from '../../../lambdas/deploy-target/handler';
import { config, deployment, NEW_DEPLOYMENT, newRelease, service, TD42 } from '../../adapters/aws/deploy-fixtures';

const ecs = mockClient(ECSClient);

const context = {
  functionName: 'deploy-runbook-deploy-target',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:deploy-runbook-deploy-target',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/deploy-runbook-deploy-target',
  logStreamName: '2025/06/01/[$LATEST]abcdef',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

beforeEach(() => {
  ecs.reset();
});

describe('deploy-target handler', () => {
  it('parses the CheckDeployment parameters and asks the ECS service for the rollout state', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [service({ deployments: [{ id: NEW_DEPLOYMENT, status: 'PRIMARY', taskDefinition: TD42, desiredCount: 3, runningCount: 3, pendingCount: 0, rolloutState: 'COMPLETED' }] })],
    });

    const result = await handler({ operation: 'status', config: config(), handle: newRelease }, context);

    expect(result).toMatchObject({ status: 'completed' });
    expect(ecs).toHaveReceivedCommandWith(DescribeServicesCommand, { cluster: 'shop-prod', services: ['shop-api'] });
  });

  it('fails when the event is not one of the ASL shapes (a status without its handle)', async () => {
    const withoutHandle = { operation: 'status', config: config(), deployment } as unknown as DeployTargetEvent;
    await expect(handler(withoutHandle, context)).rejects.toMatchObject({ name: 'ParseError' });
    expect(ecs.calls()).toHaveLength(0);
  });
});
