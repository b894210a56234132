import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { HookMigrator } from '../../../adapters/aws/hook-migrator';
import { MigrationFailedError } from '../../../core/errors';
import type { MigrationsState } from '../../../core/model';
import { deployment, fixedClock, newRelease, NOW, region, testCredentials } from './deploy-fixtures';

const MIGRATE_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:shop-migrate';
const lambda = mockClient(LambdaClient);
const migrator = () => new HookMigrator(new LambdaClient({ region, credentials: testCredentials }), MIGRATE_ARN, deployment.id, fixedClock);

function answers(body: unknown, extra: Partial<InvokeCommandOutput> = {}) {
  lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: Buffer.from(JSON.stringify(body)) as unknown as InvokeCommandOutput['Payload'], ...extra });
}

function sentPayloads(): unknown[] {
  return lambda.commandCalls(InvokeCommand).map((call) => JSON.parse(String(call.args[0].input.Payload)));
}

const running: MigrationsState = { started: true, status: 'running', ref: 'migration-991', startedAt: '2025-06-01T10:02:00.000Z', finishedAt: null, detail: 'batch 1 of 3' };

beforeEach(() => {
  lambda.reset();
});

describe('HookMigrator', () => {
  it('sends "migrate" with the release and the runbook deployment id, and records a running migration', async () => {
    answers({ status: 'running', ref: 'migration-991', detail: 'batch 1 of 3' });

    await expect(migrator().start(newRelease)).resolves.toEqual({ ...running, startedAt: NOW.toISOString() });
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: MIGRATE_ARN, InvocationType: 'RequestResponse' });
    expect(sentPayloads()).toEqual([{ action: 'migrate', version: 'v1.5.0', ref: newRelease.ref, deploymentId: deployment.id }]);
  });

  it('records a migration that finished within the call as succeeded', async () => {
    answers({ status: 'succeeded', ref: 'migration-991' });

    await expect(migrator().start(newRelease)).resolves.toEqual({
      started: true,
      status: 'succeeded',
      ref: 'migration-991',
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
      detail: 'migrations migration-991 succeeded',
    });
  });

  it('polls "migration-status" with the ref', async () => {
    answers({ status: 'succeeded', detail: '3 migrations applied' });

    await expect(migrator().status(running)).resolves.toEqual({ ...running, status: 'succeeded', finishedAt: NOW.toISOString(), detail: '3 migrations applied' });
    expect(sentPayloads()).toEqual([{ action: 'migration-status', ref: 'migration-991' }]);
  });

  it('fails with the hook detail when the migration failed', async () => {
    answers({ status: 'failed', detail: 'relation "orders" already exists' });

    await expect(migrator().status(running)).rejects.toThrow(
      new MigrationFailedError(`hook ${MIGRATE_ARN} reports migrations migration-991 failed: relation "orders" already exists`),
    );
  });

  it('fails when the hook throws, carrying its message', async () => {
    answers({ errorType: 'TimeoutError', errorMessage: 'connect ETIMEDOUT 10.0.3.7:5432' }, { FunctionError: 'Unhandled' });

    await expect(migrator().start(newRelease)).rejects.toThrow(
      new MigrationFailedError(`hook ${MIGRATE_ARN} action "migrate" failed: TimeoutError: connect ETIMEDOUT 10.0.3.7:5432 (Unhandled)`),
    );
  });

  it('fails when the answer lacks a ref', async () => {
    answers({ status: 'running' });

    await expect(migrator().start(newRelease)).rejects.toThrow(
      new MigrationFailedError(`hook ${MIGRATE_ARN} action "migrate" returned an unexpected response: ref: required (expected string)`),
    );
  });
});
