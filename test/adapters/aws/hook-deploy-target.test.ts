import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { HookDeployTarget } from '../../../adapters/aws/hook-deploy-target';
import { DeploymentFailedError } from '../../../core/errors';
import { deployment, fixedClock, HOOK_ARN, NOW, region, testCredentials } from './deploy-fixtures';

const lambda = mockClient(LambdaClient);
const target = () => new HookDeployTarget(new LambdaClient({ region, credentials: testCredentials }), HOOK_ARN, fixedClock);

/** What Lambda answers for a successful synchronous invoke returning `body`. */
function answers(body: unknown, extra: Partial<InvokeCommandOutput> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: Buffer.from(text) as unknown as InvokeCommandOutput['Payload'], ...extra });
}

/** The payloads the hook received, parsed. */
function sentPayloads(): unknown[] {
  return lambda.commandCalls(InvokeCommand).map((call) => JSON.parse(String(call.args[0].input.Payload)));
}

const handle = {
  kind: 'hook' as const,
  ref: 'release-2025-06-01-7',
  version: 'v1.5.0',
  image: null,
  deploymentId: 'hook-deploy-77',
  startedAt: '2025-06-01T10:01:00.000Z',
};

beforeEach(() => {
  lambda.reset();
});

describe('HookDeployTarget protocol', () => {
  it('asks the hook for the running version with action "current"', async () => {
    answers({ version: 'v1.4.2', image: null, ref: 'release-2025-05-30-3', extra: 'ignored' });

    await expect(target().current()).resolves.toEqual({ version: 'v1.4.2', image: null, ref: 'release-2025-05-30-3' });
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: HOOK_ARN, InvocationType: 'RequestResponse' });
    expect(sentPayloads()).toEqual([{ action: 'current' }]);
  });

  it('sends version, image and the runbook deployment id on "deploy" and returns a hook handle', async () => {
    answers({ ref: 'release-2025-06-01-7', deploymentId: 'hook-deploy-77' });

    const started = await target().deploy({ version: 'v1.5.0', image: null, deploymentId: deployment.id });

    expect(sentPayloads()).toEqual([{ action: 'deploy', version: 'v1.5.0', image: null, deploymentId: deployment.id }]);
    expect(started).toEqual({ ...handle, startedAt: NOW.toISOString() });
  });

  it('accepts a deploy answer without a deployment id', async () => {
    answers({ ref: 'release-2025-06-01-7' });

    await expect(target().deploy({ version: 'v1.5.0', image: null, deploymentId: deployment.id })).resolves.toMatchObject({ deploymentId: null });
  });

  it('polls "status" with the ref and the hook deployment id', async () => {
    answers({ status: 'in-progress', detail: '2 of 4 instances updated' });

    await expect(target().status(handle)).resolves.toEqual({ status: 'in-progress', detail: '2 of 4 instances updated', checkedAt: NOW.toISOString() });
    expect(sentPayloads()).toEqual([{ action: 'status', ref: 'release-2025-06-01-7', deploymentId: 'hook-deploy-77' }]);
  });

  it('reports completed', async () => {
    answers({ status: 'completed', detail: 'all 4 instances on v1.5.0' });

    await expect(target().status(handle)).resolves.toMatchObject({ status: 'completed' });
  });

  it('fails with the hook detail when the hook reports the rollout failed', async () => {
    answers({ status: 'failed', detail: 'health check failed on 3 of 4 instances' });

    await expect(target().status(handle)).rejects.toThrow(
      new DeploymentFailedError(`hook ${HOOK_ARN} reports the rollout of release-2025-06-01-7 failed: health check failed on 3 of 4 instances`),
    );
  });

  it('sends what to roll back to and what is being undone on "rollback"', async () => {
    answers({ ref: 'release-2025-05-30-3', deploymentId: 'hook-deploy-78' });
    const to = { version: 'v1.4.2', image: null, ref: 'release-2025-05-30-3' };

    const rolled = await target().rollback(to, handle);

    expect(sentPayloads()).toEqual([{ action: 'rollback', to, from: handle }]);
    expect(rolled).toEqual({ kind: 'hook', ref: 'release-2025-05-30-3', version: 'v1.4.2', image: null, deploymentId: 'hook-deploy-78', startedAt: NOW.toISOString() });
  });

  it('sends a null "from" when the deploy never started', async () => {
    answers({ ref: 'release-2025-05-30-3' });

    await target().rollback({ version: 'v1.4.2', image: null, ref: 'release-2025-05-30-3' }, null);

    expect(sentPayloads()).toEqual([{ action: 'rollback', to: { version: 'v1.4.2', image: null, ref: 'release-2025-05-30-3' }, from: null }]);
  });

  it('has a pre-flight note and does not invoke the hook for it', async () => {
    await expect(target().preflight()).resolves.toEqual([expect.objectContaining({ name: 'hook target', ok: true })]);
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 0);
  });
});

describe('HookDeployTarget with a misbehaving hook', () => {
  it('fails when the hook throws, carrying its error message', async () => {
    answers({ errorType: 'Error', errorMessage: 'kubectl rollout: deployment "shop" not found', trace: ['at handler'] }, { FunctionError: 'Unhandled' });

    await expect(target().deploy({ version: 'v1.5.0', image: null, deploymentId: deployment.id })).rejects.toThrow(
      new DeploymentFailedError(`hook ${HOOK_ARN} action "deploy" failed: Error: kubectl rollout: deployment "shop" not found (Unhandled)`),
    );
  });

  it('fails when the hook answers something that is not JSON', async () => {
    answers('OK, deploying');

    await expect(target().current()).rejects.toThrow(
      new DeploymentFailedError(`hook ${HOOK_ARN} action "current" returned a payload that is not JSON (13 bytes starting "OK, deploying")`),
    );
  });

  it('fails when the status answer is not one of the protocol values, naming the field and the value', async () => {
    answers({ status: 'done', detail: 'ok' });

    const error = await target().status(handle).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeploymentFailedError);
    expect((error as Error).message).toMatch(new RegExp(`^hook ${HOOK_ARN} action "status" returned an unexpected response: status: .*\\(got "done"\\)$`));
  });

  it('fails when the deploy answer has no ref', async () => {
    answers({ deploymentId: 'hook-deploy-77' });

    await expect(target().deploy({ version: 'v1.5.0', image: null, deploymentId: deployment.id })).rejects.toThrow(
      new DeploymentFailedError(`hook ${HOOK_ARN} action "deploy" returned an unexpected response: ref: required (expected string)`),
    );
  });

  it('fails when the current answer is null', async () => {
    answers(null);

    await expect(target().current()).rejects.toThrow(/action "current" returned an unexpected response: \(root\): .*\(got null\)/);
  });

  it('fails when Lambda does not answer 200', async () => {
    answers({}, { StatusCode: 202 });

    await expect(target().current()).rejects.toThrow(new DeploymentFailedError(`hook ${HOOK_ARN} action "current" was not invoked: Lambda answered status 202`));
  });
});
