import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SmokeReport } from '../../../core/model';
import { seedSuite, smokeEvent } from '../../core/tasks/smoke-test/fixtures';
import { type SeedServer, startSeedServer } from '../../core/tasks/smoke-test/seed-server';

const secretsManager = mockClient(SecretsManagerClient);
const PASSWORD = 'Test123!@#-from-secrets-manager';

const context = {
  functionName: 'deploy-runbook-smoke-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:deploy-runbook-smoke-test',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/deploy-runbook-smoke-test',
  logStreamName: '2025/12/22/[$LATEST]abcdef',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 300_000,
} as unknown as Context;

let server: SeedServer;
let output: string[];

beforeAll(async () => {
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  server = await startSeedServer();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await server.close();
});
beforeEach(() => {
  secretsManager.reset();
  server.reset();
  server.password = PASSWORD;
  output = [];
  const capture = (chunk: unknown) => {
    output.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The seed suite, reading the smoke user's password from a JSON secret, and quoting it in a failing check. */
function awsEvent() {
  const suite = seedSuite(server.baseUrl);
  return smokeEvent(
    {
      ...suite,
      secrets: { SMOKE_PASSWORD: { secretsManager: 'shop/prod/smoke-user', jsonKey: 'password' } },
      checks: [...suite.checks, { name: 'echo', method: 'POST', path: '/echo', body: { password: '{{secrets.SMOKE_PASSWORD}}' } }],
    },
    { expectedVersion: '1.0.0' },
  );
}

describe('smoke-test handler', () => {
  it('reads the secret from Secrets Manager once, runs the checks and logs only the redacted summary', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'smoke', password: PASSWORD }) });
    const { handler } = await import('../../../lambdas/smoke-test/handler');

    const report: SmokeReport = await handler(awsEvent(), context);

    expect(secretsManager).toHaveReceivedCommandExactlyOnceWith(GetSecretValueCommand, { SecretId: 'shop/prod/smoke-user' });
    expect(report).toMatchObject({ phase: 'deploy', passed: false, summary: '1 of 8 checks failed: echo (status 500, expected 200)' });
    expect(report.results.slice(0, 7).every((r) => r.passed)).toBe(true);
    expect(report.results[7].failures[1]).toBe('response: rejected authorization= body={"password":"***"}');
    const logs = output.join('');
    expect(logs).toContain('smoke tests finished');
    expect(logs).toContain('1 of 8 checks failed');
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(server.token);
    expect(logs).not.toContain('shop/prod/smoke-user');
  });

  it('fails when the secret cannot be read, naming the secret and not its content', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ user: 'smoke', pass: PASSWORD }) });
    const { handler } = await import('../../../lambdas/smoke-test/handler');

    const error = (await handler(awsEvent(), context).catch((e: unknown) => e)) as Error;

    expect(error.name).toBe('SecretUnavailableError');
    expect(error.message).toBe("cannot run the smoke tests: smokeTests.secrets.SMOKE_PASSWORD: Secrets Manager secret 'shop/prod/smoke-user' has no key 'password'");
    expect(output.join('')).not.toContain(PASSWORD);
    expect(server.hits.size).toBe(0);
  });

  it('fails when the event is not what the SmokeTest state sends', async () => {
    const { handler } = await import('../../../lambdas/smoke-test/handler');

    await expect(handler({ ...awsEvent(), phase: 'bake' } as never, context)).rejects.toMatchObject({ name: 'ParseError' });
    expect(secretsManager).not.toHaveReceivedAnyCommand();
  });
});
