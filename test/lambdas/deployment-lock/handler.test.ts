import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/deployment-lock/handler';
import { config, deployment, execution } from '../../core/tasks/ledger/fixtures';
import { lambdaContext } from '../ledger/lambda-context';

const s3 = mockClient(S3Client);
const acquire = () => JSON.parse(JSON.stringify({ operation: 'acquire', config, deployment, execution }));

describe('deployment-lock handler', () => {
  beforeEach(() => {
    s3.reset();
    vi.stubEnv('AWS_REGION', 'eu-west-1');
  });
  afterEach(() => vi.unstubAllEnvs());

  it('acquires the lease in the bucket named by RUNBOOK_BUCKET', async () => {
    vi.stubEnv('RUNBOOK_BUCKET', 'runbook-artifacts-123456789012');
    s3.on(PutObjectCommand).resolves({ ETag: '"lock-1"' });
    const lease = await handler(acquire(), lambdaContext('deploy-runbook-deployment-lock'));
    expect(lease).toMatchObject({ key: 'locks/shop-api.json', owner: execution.name, etag: '"lock-1"', tookOver: false });
    expect(s3).toHaveReceivedCommandExactlyOnceWith(PutObjectCommand, { Bucket: 'runbook-artifacts-123456789012', Key: 'locks/shop-api.json', IfNoneMatch: '*' });
  });

  it('fails when RUNBOOK_BUCKET is not set, naming it', async () => {
    vi.stubEnv('RUNBOOK_BUCKET', '');
    await expect(handler(acquire(), lambdaContext('deploy-runbook-deployment-lock'))).rejects.toThrow('environment variable RUNBOOK_BUCKET is not set');
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('fails when the operation is not one the lock knows', async () => {
    vi.stubEnv('RUNBOOK_BUCKET', 'runbook-artifacts-123456789012');
    await expect(handler({ ...acquire(), operation: 'steal' }, lambdaContext('deploy-runbook-deployment-lock'))).rejects.toThrow();
    expect(s3).not.toHaveReceivedAnyCommand();
  });
});
