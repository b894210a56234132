import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  PublishVersionCommand,
  ResourceNotFoundException,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LambdaAliasDeployTarget, type LambdaAliasTargetConfig } from '../../../adapters/aws/lambda-alias-deploy-target';
import { DeploymentFailedError, PreflightFailedError } from '../../../core/errors';
import type { DeployHandle } from '../../../core/model';
import { fixedClock, NOW, region, testCredentials } from './deploy-fixtures';

const lambda = mockClient(LambdaClient);
const zip: LambdaAliasTargetConfig = { kind: 'lambda-alias', functionName: 'shop-fn', alias: 'live', codeBucket: 'shop-artifacts', traffic: 'Canary10Percent5Minutes' };
const IMAGES = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-fn';
const FN_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:shop-fn';
const sleeps: number[] = [];
const target = (config: LambdaAliasTargetConfig = zip) =>
  new LambdaAliasDeployTarget(new LambdaClient({ region, credentials: testCredentials }), config, {
    clock: fixedClock,
    settleIntervalMs: 5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
const release: DeployHandle = { kind: 'lambda-alias', ref: '8', version: 'v1.5.0', image: 's3://shop-artifacts/v1.5.0/function.zip', deploymentId: `${FN_ARN}:8`, startedAt: NOW.toISOString() };
const previous = { version: 'v1.4.2', image: null, ref: '7' };
const request = { version: 'v1.5.0', image: 's3://shop-artifacts/v1.5.0/function.zip', deploymentId: 'ci-release-1-5-0-1a2b3c4d' };

beforeEach(() => {
  lambda.reset();
  sleeps.length = 0;
});

describe('LambdaAliasDeployTarget.current and preflight', () => {
  it('reads the version the alias points to and the release its description names', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: {} } });
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'shop-fn', Qualifier: '7' }).resolves({ Version: '7', Description: 'deploy-runbook v1.4.2 ci-release-1-4-2-0f0f0f0f' });

    await expect(target().current()).resolves.toEqual({ version: 'v1.4.2', image: null, ref: '7' });
    expect(lambda).toHaveReceivedCommandWith(GetAliasCommand, { FunctionName: 'shop-fn', Name: 'live' });
  });

  it('fails with PreflightFailedError, naming the alias, when the alias does not exist', async () => {
    lambda.on(GetAliasCommand).rejects(new ResourceNotFoundException({ message: 'Alias not found: arn:aws:lambda:eu-west-1:123456789012:function:shop-fn:live', $metadata: {} }));

    const error = await target().current().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreflightFailedError);
    expect((error as Error).message).toMatch(/^target\.alias: alias live of shop-fn does not exist/);
    await expect(target().preflight()).resolves.toEqual([{ name: 'lambda alias', ok: false, detail: expect.stringMatching(/^target\.alias: alias live of shop-fn does not exist/) }]);
    expect(lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 0);
  });

  it('passes a settled zip function whose alias routes to one version', async () => {
    lambda.on(GetAliasCommand).resolves({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: {} } });
    lambda.on(GetFunctionConfigurationCommand).resolves({ State: 'Active', LastUpdateStatus: 'Successful', PackageType: 'Zip' });

    const checks = await target().preflight();
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual(['lambda alias', 'no traffic shift in progress', 'function settled', 'package type']);
  });

  it('fails the checks a shift in progress, an unsettled update and another package type break', async () => {
    lambda.on(GetAliasCommand).resolves({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.1 } } });
    lambda.on(GetFunctionConfigurationCommand).resolves({ State: 'Active', LastUpdateStatus: 'InProgress', PackageType: 'Image' });

    const failed = Object.fromEntries((await target().preflight()).filter((c) => !c.ok).map((c) => [c.name, c.detail]));
    expect(failed).toEqual({
      'no traffic shift in progress': 'the alias also routes 10 % to version 8',
      'function settled': 'state Active, last update InProgress',
      'package type': 'Image function; the configuration deploys zip packages from s3://shop-artifacts',
    });
  });
});

describe('LambdaAliasDeployTarget.deploy', () => {
  it('updates the code from the S3 object, waits for the update, then publishes a version naming the release', async () => {
    lambda.on(UpdateFunctionCodeCommand).resolves({ LastUpdateStatus: 'InProgress' });
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolvesOnce({ LastUpdateStatus: 'InProgress' })
      .resolves({ LastUpdateStatus: 'Successful', CodeSha256: 'c0ffee==' });
    lambda.on(PublishVersionCommand).resolves({ Version: '8', FunctionArn: `${FN_ARN}:8` });

    await expect(target().deploy(request)).resolves.toEqual(release);
    expect(lambda).toHaveReceivedCommandWith(UpdateFunctionCodeCommand, { FunctionName: 'shop-fn', S3Bucket: 'shop-artifacts', S3Key: 'v1.5.0/function.zip' });
    expect(lambda).toHaveReceivedCommandWith(PublishVersionCommand, { FunctionName: 'shop-fn', CodeSha256: 'c0ffee==', Description: 'deploy-runbook v1.5.0 ci-release-1-5-0-1a2b3c4d' });
    expect(sleeps).toEqual([5]);
    expect(lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 0);
  });

  it('updates an image function with the image URI', async () => {
    lambda.on(UpdateFunctionCodeCommand).resolves({});
    lambda.on(GetFunctionConfigurationCommand).resolves({ LastUpdateStatus: 'Successful', CodeSha256: 'abc=' });
    lambda.on(PublishVersionCommand).resolves({ Version: '3' });

    const image = `${IMAGES}:v1.5.0`;
    await expect(target({ ...zip, codeBucket: undefined, imageRepository: IMAGES }).deploy({ ...request, image })).resolves.toMatchObject({ ref: '3', image });
    expect(lambda).toHaveReceivedCommandWith(UpdateFunctionCodeCommand, { FunctionName: 'shop-fn', ImageUri: image });
  });

  it('fails without publishing when the code update fails', async () => {
    lambda.on(UpdateFunctionCodeCommand).resolves({});
    lambda.on(GetFunctionConfigurationCommand).resolves({ LastUpdateStatus: 'Failed', LastUpdateStatusReason: 'the zip is not a valid package' });

    await expect(target().deploy(request)).rejects.toThrow(new DeploymentFailedError('the code update of shop-fn failed: the zip is not a valid package'));
    expect(lambda).toHaveReceivedCommandTimes(PublishVersionCommand, 0);
  });

  it('refuses a package from another bucket before touching the function', async () => {
    await expect(target().deploy({ ...request, image: 's3://elsewhere/v1.5.0/function.zip' })).rejects.toThrow(
      new DeploymentFailedError('image: must be an object of s3://shop-artifacts/ (target.codeBucket) (got "s3://elsewhere/v1.5.0/function.zip")'),
    );
    expect(lambda).not.toHaveReceivedAnyCommand();
  });
});

describe('LambdaAliasDeployTarget.status', () => {
  it.each([
    ['Active', 'completed'],
    ['Pending', 'in-progress'],
  ] as const)('reports a %s version as %s', async (State, status) => {
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'shop-fn', Qualifier: '8' }).resolves({ State });

    await expect(target().status(release)).resolves.toEqual({ status, detail: `version 8 is ${State}`, checkedAt: NOW.toISOString() });
  });

  it('fails for a version Lambda could not make ready', async () => {
    lambda.on(GetFunctionConfigurationCommand).resolves({ State: 'Failed', StateReason: 'image not found' });

    await expect(target().status(release)).rejects.toThrow(new DeploymentFailedError('version 8 is Failed: image not found'));
  });
});

describe('LambdaAliasDeployTarget.shift and rollback', () => {
  it('weights the new version beside the previous one, then moves the alias to it alone at 100 %', async () => {
    lambda.on(UpdateAliasCommand).resolves({});

    await expect(target().shift(release, previous, 10)).resolves.toBe('alias live of shop-fn: 10 % to version 8, 90 % to version 7');
    expect(lambda).toHaveReceivedNthCommandWith(UpdateAliasCommand, 1, {
      FunctionName: 'shop-fn',
      Name: 'live',
      FunctionVersion: '7',
      RoutingConfig: { AdditionalVersionWeights: { '8': 0.1 } },
    });
    await expect(target().shift(release, previous, 100)).resolves.toBe('alias live of shop-fn: 100 % to version 8');
    expect(lambda).toHaveReceivedNthCommandWith(UpdateAliasCommand, 2, { FunctionName: 'shop-fn', Name: 'live', FunctionVersion: '8', RoutingConfig: { AdditionalVersionWeights: {} } });
  });

  it('points the alias back at the previous version alone, weights cleared', async () => {
    lambda.on(UpdateAliasCommand).resolves({});

    await expect(target().rollback(previous)).resolves.toEqual({ kind: 'lambda-alias', ref: '7', version: 'v1.4.2', image: null, deploymentId: null, startedAt: NOW.toISOString() });
    expect(lambda).toHaveReceivedCommandWith(UpdateAliasCommand, { FunctionName: 'shop-fn', Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: {} } });
  });

  it.each(['$LATEST', 'live', '7; rm'])('refuses a rollback target %j that is no version number, without touching the alias', async (ref) => {
    await expect(target().rollback({ ...previous, ref })).rejects.toThrow(DeploymentFailedError);
    expect(lambda).not.toHaveReceivedAnyCommand();
  });
});
