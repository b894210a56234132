import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/notify/handler';
import { config, deployment } from '../../core/tasks/ledger/fixtures';
import { lambdaContext } from '../ledger/lambda-context';

const sns = mockClient(SNSClient);
const aborted = (cfg: object) => JSON.parse(JSON.stringify({ event: 'aborted', config: cfg, deployment, error: { Error: 'PreflightFailedError', Cause: 'service shop-api has 2 deployments in progress' } }));

describe('notify handler', () => {
  beforeEach(() => {
    sns.reset();
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    // Every runbook function is given its bucket (lib/runbook-function.ts); notify reads the ledger from it.
    vi.stubEnv('RUNBOOK_BUCKET', 'deploy-runbook-artifacts');
  });
  afterEach(() => vi.unstubAllEnvs());

  it('publishes to the topic the configuration names', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    expect(await handler(aborted(config), lambdaContext('deploy-runbook-notify'))).toEqual({ published: true });
    expect(sns).toHaveReceivedCommandExactlyOnceWith(PublishCommand, { TopicArn: 'arn:aws:sns:eu-west-1:123456789012:shop-deployments', Subject: 'shop-api: deploy of v1.4.2 aborted' });
  });

  it('publishes nothing when the configuration names no topic', async () => {
    expect(await handler(aborted({ ...config, notifications: {} }), lambdaContext('deploy-runbook-notify'))).toEqual({ published: false });
    expect(sns).not.toHaveReceivedAnyCommand();
  });
});
