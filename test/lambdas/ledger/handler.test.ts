import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/ledger/handler';
import { config, deploymentFor, executionNamed } from '../../core/tasks/ledger/fixtures';
import { lambdaContext } from './lambda-context';

const s3 = mockClient(S3Client);

describe('ledger handler', () => {
  beforeEach(() => {
    s3.reset();
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('RUNBOOK_BUCKET', 'runbook-artifacts-123456789012');
  });
  afterEach(() => vi.unstubAllEnvs());

  it('checks the rollback window against the ledger in the bucket', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));
    const execution = executionNamed('alarm-1');
    const deployment = deploymentFor(execution, { action: 'rollback', version: null, image: null, alarm: { name: 'shop-api-5xx-rate', reason: null, time: null } });
    const event = JSON.parse(JSON.stringify({ operation: 'check-window', config, deployment, execution }));
    const window = await handler(event, lambdaContext('deploy-runbook-ledger'));
    expect(window).toMatchObject({ decision: 'no-release', patch: null });
    expect(s3).toHaveReceivedCommandExactlyOnceWith(GetObjectCommand, { Bucket: 'runbook-artifacts-123456789012', Key: 'ledger/shop-api.json' });
  });
});
