import { DeleteAliasCommand, GetAliasCommand, LambdaClient, ListVersionsByFunctionCommand } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { useEmulatedAws } from './emulated-aws';
import { inspect } from './inspect';
import { ALARMS, FUNCTION_ALIAS, FUNCTION_NAME } from './stacks';
import { PACKAGE } from './world';

// The lambda-alias stack deployed into moto: UpdateFunctionCode from S3, PublishVersion, the alias's RoutingConfig
// weights set step by step and cleared on a rollback, each call by the deploy function's own role.
describe('the deployed runbook on emulated AWS (Lambda alias shifted in steps)', { timeout: 120_000 }, () => {
  // Deployed once: each scenario starts with the function as the world created it (version 1 alone, the alias on
  // it), an emptied bucket, the alarms OK and no execution running.
  const aws = useEmulatedAws({ stack: 'lambda' });
  const deployV2 = { version: 'v2', image: PACKAGE('v2'), requestedBy: 'ci' };

  const alias = async () => new LambdaClient(aws.operator.config).send(new GetAliasCommand({ FunctionName: FUNCTION_NAME, Name: FUNCTION_ALIAS }));

  it('publishes v2, gives it 10 % for the canary step, then 100 %: Succeeded, the alias on the new version alone', async () => {
    aws.app.versions = { v1: {}, v2: {} };
    const ended = await aws.run(deployV2);

    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
    expect(ended.states.filter((s) => ['ShiftTraffic', 'SmokeTestStep', 'SmokeTest'].includes(s))).toEqual(['ShiftTraffic', 'SmokeTestStep', 'ShiftTraffic', 'SmokeTest']);
    expect(ended.states.filter((s) => s === 'EvaluateStepAlarms')).toHaveLength(3);
    const versions = (await new LambdaClient(aws.operator.config).send(new ListVersionsByFunctionCommand({ FunctionName: FUNCTION_NAME }))).Versions ?? [];
    expect(versions.filter((v) => v.Version !== '$LATEST').map((v) => [v.Version, v.Description])).toEqual([
      ['1', 'deploy-runbook v1 initial'],
      ['2', expect.stringMatching(/^deploy-runbook v2 /)],
    ]);
    const now = await alias();
    expect(now.FunctionVersion).toBe('2');
    expect(now.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({});
    // The canary step was served by v2 (the fake app routes by the alias's weights), and the release recorded.
    expect(aws.app.requests.map((r) => r.version)).toEqual(expect.arrayContaining(['v1', 'v2']));
    const look = inspect(aws);
    expect((await look.ledger())?.current?.version).toBe('v2');
    const { markdown } = await look.report();
    expect(markdown).toContain('## Traffic steps');
    expect(markdown).toMatch(/\| 10 % \| alias live of shop-fn: 10 % to version 2, 90 % to version 1 \|/);
    expect(markdown).toMatch(/\| 100 % \| alias live of shop-fn: 100 % to version 2 \|/);
  });

  it('rolls back when an alarm fires during the canary step: RolledBack, the alias back on version 1 with no weights', async () => {
    aws.app.versions = { v1: {}, v2: { firesAlarms: [ALARMS[0]] } };
    const ended = await aws.run(deployV2);

    expect([ended.status, ended.error], ended.cause ?? '').toEqual(['FAILED', 'RolledBack']);
    expect(ended.cause).toContain('AlarmFired');
    expect(ended.states).not.toContain('SmokeTest');
    expect(ended.states.filter((s) => s === 'ShiftTraffic')).toHaveLength(1);
    expect(ended.states).toEqual(expect.arrayContaining(['RollbackApp', 'CheckRollback', 'VerifyRollback', 'RecordRollback']));
    const now = await alias();
    expect(now.FunctionVersion).toBe('1');
    expect(now.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({});
    const look = inspect(aws);
    expect((await look.lock())?.state).toBe('released');
    const { markdown } = await look.report();
    expect(markdown).toMatch(/\| 10 % \| alias live of shop-fn: 10 % to version 2, 90 % to version 1 \|/);
    expect(markdown).toMatch(/\| 0 % \| rolled back: all traffic on version 1, additional weights cleared \|/);
  });

  it('aborts in Preflight when the alias does not exist: DeploymentAborted, nothing published', async () => {
    await new LambdaClient(aws.operator.config).send(new DeleteAliasCommand({ FunctionName: FUNCTION_NAME, Name: FUNCTION_ALIAS }));
    const ended = await aws.run(deployV2);

    expect([ended.status, ended.error]).toEqual(['FAILED', 'DeploymentAborted']);
    expect(ended.cause).toContain('target.alias: alias live of shop-fn does not exist');
    expect(ended.states).not.toContain('Deploy');
    const versions = (await new LambdaClient(aws.operator.config).send(new ListVersionsByFunctionCommand({ FunctionName: FUNCTION_NAME }))).Versions ?? [];
    expect(versions.map((v) => v.Version)).toEqual(['$LATEST', '1']);
  });
});
