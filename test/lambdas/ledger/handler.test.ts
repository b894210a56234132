import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/ledger/handler';
import { config, deploymentFor, executionNamed, releasedSlots } from '../../core/tasks/ledger/fixtures';
import { SfnHistoryBuilder } from '../../support/sfn-history';
import { lambdaContext } from './lambda-context';

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);

describe('ledger handler', () => {
  beforeEach(() => {
    s3.reset();
    sfn.reset();
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

  it("draws the path its execution's history shows in the report it writes (the bundled definition)", async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));
    s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: new SfnHistoryBuilder().started().task('ValidateInput').task('Preflight').running('RecordRelease').events });
    const slots = releasedSlots();
    await handler(JSON.parse(JSON.stringify({ operation: 'record-release', ...slots })), lambdaContext('deploy-runbook-ledger'));
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(GetExecutionHistoryCommand, { executionArn: slots.execution.id, maxResults: 1000, includeExecutionData: false });
    const markdown = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input).find((input) => input.Key?.endsWith('.md'));
    expect(String(markdown?.Body)).toMatch(/```mermaid\nflowchart TD\n[\s\S]*^ {2}class n_ValidateInput,n_Preflight,n_RecordRelease passed$/m);
  });
});
