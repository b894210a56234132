import { Readable } from 'node:stream';
import { GetObjectCommand, type GetObjectCommandOutput, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../../../adapters/aws/s3-artifact-store';
import {
  acquireLock,
  type DeploymentLockEvent,
  DeploymentLockEvent as DeploymentLockEventSchema,
  type LockRecord,
  LockRecordInvalidError,
  markLockAbandoned,
  markLockStuck,
  releaseLock,
  runDeploymentLock,
} from '../../../../core/tasks/deployment-lock/deployment-lock';
import { DeploymentInProgressError, LockLostError } from '../../../../core/errors';
import type { Execution, Lease } from '../../../../core/model';
import { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import { config, deploymentFor, executionNamed, fixedClock, tempFileStore } from '../ledger/fixtures';

const BUCKET = 'runbook-artifacts-123456789012';
const KEY = 'locks/shop-api.json';
const NOW = '2025-03-04T10:00:00.000Z';
/** example.json: executionTimeoutMinutes defaults to 360, so the lease lasts 365 minutes. */
const EXPIRES = '2025-03-04T16:05:00.000Z';

const ours = executionNamed('deploy-v1-4-2');
const theirs = executionNamed('deploy-v1-5-0');

function acquireEvent(execution: Execution = ours): Extract<DeploymentLockEvent, { operation: 'acquire' }> {
  return { operation: 'acquire', config, deployment: deploymentFor(execution), execution };
}

function releaseEvent(lease: Lease, execution: Execution = ours): Extract<DeploymentLockEvent, { operation: 'release' }> {
  return { operation: 'release', deployment: deploymentFor(execution), execution, lease };
}

function stuckEvent(lease: Lease): Extract<DeploymentLockEvent, { operation: 'mark-stuck' }> {
  return {
    operation: 'mark-stuck',
    deployment: deploymentFor(ours),
    execution: ours,
    lease,
    rollbackError: {
      Error: 'RestoreFailedError',
      Cause: JSON.stringify({ errorType: 'RestoreFailedError', errorMessage: 'snapshot deploy-runbook-shop-api-x is not available (status: failed)' }),
    },
  };
}

function recordOf(execution: Execution, overrides: Partial<LockRecord> = {}): LockRecord {
  return {
    owner: execution.name,
    executionId: execution.id,
    deploymentId: deploymentFor(execution).id,
    version: 'v1.4.2',
    action: 'deploy',
    state: 'held',
    acquiredAt: NOW,
    expiresAt: EXPIRES,
    note: null,
    previousOwner: null,
    ...overrides,
  };
}

function leaseOf(execution: Execution, etag: string): Lease {
  return { key: KEY, owner: execution.name, executionId: execution.id, etag, acquiredAt: NOW, expiresAt: EXPIRES, tookOver: false, previousOwner: null };
}

describe('deployment lock against S3', () => {
  const client = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
  const s3 = mockClient(client);
  const store = new S3ArtifactStore(client, BUCKET);
  const clock = fixedClock(NOW);
  const deps = { store, clock };

  const body = (record: LockRecord): GetObjectCommandOutput['Body'] => {
    const bytes = Buffer.from(JSON.stringify(record));
    return Object.assign(Readable.from([bytes]), { transformToByteArray: async () => new Uint8Array(bytes) }) as unknown as GetObjectCommandOutput['Body'];
  };
  const conflict = (name = 'PreconditionFailed', status = 412) =>
    new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: 'At least one of the pre-conditions you specified did not hold' });
  const written = (index: number) => JSON.parse(String(s3.commandCalls(PutObjectCommand)[index].args[0].input.Body)) as LockRecord;
  const commandNames = () => s3.calls().map((call) => call.args[0].constructor.name);

  beforeEach(() => {
    s3.reset();
    clock.set(NOW);
  });

  it('creates the lock object with If-None-Match * and returns the lease', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"lock-1"' });
    const lease = await acquireLock(acquireEvent(), deps);
    expect(lease).toEqual(leaseOf(ours, '"lock-1"'));
    expect(s3).toHaveReceivedCommandExactlyOnceWith(PutObjectCommand, { Bucket: BUCKET, Key: KEY, IfNoneMatch: '*', ContentType: 'application/json' });
    expect(written(0)).toEqual(recordOf(ours));
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
  });

  it('returns the same lease to a retried task of the holder', async () => {
    s3.on(PutObjectCommand).rejects(conflict());
    s3.on(GetObjectCommand).resolves({ Body: body(recordOf(ours)), ETag: '"lock-1"' });
    expect(await acquireLock(acquireEvent(), deps)).toEqual(leaseOf(ours, '"lock-1"'));
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: KEY });
  });

  it('takes a released lock with If-Match on the etag it read', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).rejects(conflict());
    s3.on(PutObjectCommand, { IfMatch: '"released-7"' }).resolves({ ETag: '"lock-8"' });
    s3.on(GetObjectCommand).resolves({ Body: body(recordOf(theirs, { state: 'released', expiresAt: '2025-03-04T09:00:00.000Z' })), ETag: '"released-7"' });
    const lease = await acquireLock(acquireEvent(), deps);
    expect(lease).toEqual(leaseOf(ours, '"lock-8"'));
    expect(commandNames()).toEqual(['PutObjectCommand', 'GetObjectCommand', 'PutObjectCommand']);
    expect(s3).toHaveReceivedLastCommandWith(PutObjectCommand, { Bucket: BUCKET, Key: KEY, IfMatch: '"released-7"', ContentType: 'application/json' });
    expect(written(1)).toEqual(recordOf(ours));
  });

  it('takes over an expired lease of a dead execution, naming the previous owner', async () => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).rejects(conflict());
    s3.on(PutObjectCommand, { IfMatch: '"stale"' }).resolves({ ETag: '"lock-9"' });
    s3.on(GetObjectCommand).resolves({ Body: body(recordOf(theirs, { expiresAt: '2025-03-04T09:59:59.000Z' })), ETag: '"stale"' });
    const lease = await acquireLock(acquireEvent(), deps);
    expect(lease).toMatchObject({ etag: '"lock-9"', owner: ours.name, tookOver: true, previousOwner: theirs.name });
    expect(written(1)).toMatchObject({ owner: ours.name, state: 'held', previousOwner: theirs.name, note: `took over the lease of ${theirs.name}, which expired at 2025-03-04T09:59:59.000Z` });
  });

  it('fails when another execution holds a live lease, naming owner, version and expiry', async () => {
    s3.on(PutObjectCommand).rejects(conflict());
    s3.on(GetObjectCommand).resolves({ Body: body(recordOf(theirs, { version: 'v1.5.0' })), ETag: '"theirs"' });
    const attempt = acquireLock(acquireEvent(), deps);
    await expect(attempt).rejects.toBeInstanceOf(DeploymentInProgressError);
    await expect(attempt).rejects.toThrow(`shop-api is locked by execution deploy-v1-5-0 (deploying v1.5.0) until ${EXPIRES}; deploy-v1-4-2 did not start`);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });

  it('fails when the lock is stuck after a failed rollback, even long after it expired', async () => {
    clock.set('2025-03-20T00:00:00.000Z');
    s3.on(PutObjectCommand).rejects(conflict());
    s3.on(GetObjectCommand).resolves({
      Body: body(recordOf(theirs, { state: 'stuck', note: 'RestoreFailedError: snapshot not available' })),
      ETag: '"stuck"',
    });
    const attempt = acquireLock(acquireEvent(), deps);
    await expect(attempt).rejects.toBeInstanceOf(DeploymentInProgressError);
    await expect(attempt).rejects.toThrow(
      `shop-api is locked: a rollback by execution deploy-v1-5-0 (deploying v1.4.2) failed (RestoreFailedError: snapshot not available); a person must check the target, then unlock it by setting state to "released" in s3://${BUCKET}/${KEY}`,
    );
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });

  it.each([
    ['PreconditionFailed', 412],
    ['ConditionalRequestConflict', 409],
  ])('fails with DeploymentInProgressError when the take-over loses a race (%s)', async (name, status) => {
    s3.on(PutObjectCommand, { IfNoneMatch: '*' }).rejects(conflict());
    s3.on(PutObjectCommand, { IfMatch: '"released"' }).rejects(conflict(name, status));
    s3.on(GetObjectCommand).resolves({ Body: body(recordOf(theirs, { state: 'released' })), ETag: '"released"' });
    await expect(acquireLock(acquireEvent(), deps)).rejects.toThrow(
      new DeploymentInProgressError(`another execution took the lock ${KEY} at the same time as deploy-v1-4-2`),
    );
  });

  it('fails when the lock object is not a lock record, naming the field and value', async () => {
    s3.on(PutObjectCommand).rejects(conflict());
    s3.on(GetObjectCommand).resolves({ Body: body({ ...recordOf(theirs), state: 'open' as LockRecord['state'] }), ETag: '"odd"' });
    const attempt = acquireLock(acquireEvent(), deps);
    await expect(attempt).rejects.toBeInstanceOf(LockRecordInvalidError);
    await expect(attempt).rejects.toThrow(/locks\/shop-api.json is not a lock record: state: .*"open"/);
  });

  it('releases by writing state released with If-Match the lease etag', async () => {
    clock.set('2025-03-04T10:45:00.000Z');
    s3.on(PutObjectCommand).resolves({ ETag: '"released-2"' });
    const result = await releaseLock(releaseEvent(leaseOf(ours, '"lock-1"')), deps);
    expect(result).toEqual({ key: KEY, state: 'released', etag: '"released-2"' });
    expect(s3).toHaveReceivedCommandExactlyOnceWith(PutObjectCommand, { Bucket: BUCKET, Key: KEY, IfMatch: '"lock-1"', ContentType: 'application/json' });
    expect(written(0)).toEqual(recordOf(ours, { state: 'released', note: 'released by deploy-v1-4-2 at 2025-03-04T10:45:00.000Z' }));
  });

  it('accepts a release that a retried task already wrote', async () => {
    s3.on(PutObjectCommand).rejects(conflict());
    s3.on(GetObjectCommand).resolves({ Body: body(recordOf(ours, { state: 'released' })), ETag: '"released-2"' });
    expect(await releaseLock(releaseEvent(leaseOf(ours, '"lock-1"')), deps)).toEqual({ key: KEY, state: 'released', etag: '"released-2"' });
  });

  it('fails with LockLostError when another execution took the lease over', async () => {
    s3.on(PutObjectCommand).rejects(conflict('ConditionalRequestConflict', 409));
    s3.on(GetObjectCommand).resolves({ Body: body(recordOf(theirs)), ETag: '"theirs"' });
    const attempt = releaseLock(releaseEvent(leaseOf(ours, '"lock-1"')), deps);
    await expect(attempt).rejects.toBeInstanceOf(LockLostError);
    await expect(attempt).rejects.toThrow(`the lease of deploy-v1-4-2 on ${KEY} (etag "lock-1") was lost before it could be marked released: it is held by execution deploy-v1-5-0`);
  });

  it('marks the lock stuck with the rollback error message, If-Match our etag', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"stuck-3"' });
    expect(await markLockStuck(stuckEvent(leaseOf(ours, '"lock-1"')), deps)).toEqual({ key: KEY, state: 'stuck', etag: '"stuck-3"' });
    expect(s3).toHaveReceivedCommandExactlyOnceWith(PutObjectCommand, { Bucket: BUCKET, Key: KEY, IfMatch: '"lock-1"' });
    expect(written(0)).toEqual(
      recordOf(ours, { state: 'stuck', note: 'RestoreFailedError: snapshot deploy-runbook-shop-api-x is not available (status: failed)' }),
    );
  });

  it('fails with LockLostError when marking stuck a lease that was released by someone else', async () => {
    s3.on(PutObjectCommand).rejects(conflict());
    s3.on(GetObjectCommand).resolves({ Body: body(recordOf(theirs, { state: 'released' })), ETag: '"x"' });
    await expect(markLockStuck(stuckEvent(leaseOf(ours, '"lock-1"')), deps)).rejects.toThrow(LockLostError);
  });

  it('parses the Parameters the ASL sends for each operation', () => {
    const lease = leaseOf(ours, '"lock-1"');
    const mark = DeploymentLockEventSchema.parse({ ...stuckEvent(lease), config: JSON.parse(JSON.stringify(config)) });
    expect(mark.operation).toBe('mark-stuck');
    expect(() => DeploymentLockEventSchema.parse({ ...releaseEvent(lease), lease: null })).toThrow();
    expect(() => DeploymentLockEventSchema.parse({ ...acquireEvent(), operation: 'steal' })).toThrow();
  });
});

describe('deployment lock against the file store', () => {
  let store: FileArtifactStore;
  const clock = fixedClock(NOW);

  beforeEach(async () => {
    const temp = await tempFileStore('deployment-lock-');
    store = temp.store;
    clock.set(NOW);
    return temp.remove;
  });

  const readLock = async () => JSON.parse((await store.get(KEY))!.body.toString()) as LockRecord;

  it('hands the lock from one execution to the next through release', async () => {
    const first = (await runDeploymentLock(acquireEvent(ours), { store, clock })) as Lease;
    await expect(acquireLock(acquireEvent(theirs), { store, clock })).rejects.toThrow(DeploymentInProgressError);
    await runDeploymentLock(releaseEvent(first), { store, clock });
    await runDeploymentLock(releaseEvent(first), { store, clock });
    const second = await acquireLock(acquireEvent(theirs), { store, clock });
    expect(second).toMatchObject({ owner: theirs.name, tookOver: false, previousOwner: null });
    expect(await readLock()).toMatchObject({ owner: theirs.name, state: 'held' });
  });

  it('returns the same lease, etag included, to a retried acquire', async () => {
    const first = await acquireLock(acquireEvent(), { store, clock });
    clock.advanceMinutes(1);
    expect(await acquireLock(acquireEvent(), { store, clock })).toEqual(first);
  });

  it('takes over a lease only once it has expired', async () => {
    await acquireLock(acquireEvent(theirs), { store, clock });
    clock.set('2025-03-04T16:04:59.000Z');
    await expect(acquireLock(acquireEvent(ours), { store, clock })).rejects.toThrow(DeploymentInProgressError);
    clock.set(EXPIRES);
    expect(await acquireLock(acquireEvent(ours), { store, clock })).toMatchObject({ owner: ours.name, tookOver: true, previousOwner: theirs.name });
  });

  it('never takes over a stuck lease', async () => {
    const lease = await acquireLock(acquireEvent(ours), { store, clock });
    await markLockStuck(stuckEvent(lease), { store, clock });
    clock.set('2026-01-01T00:00:00.000Z');
    await expect(acquireLock(acquireEvent(theirs), { store, clock })).rejects.toThrow(/a rollback by execution deploy-v1-4-2 .* failed/);
    expect(await readLock()).toMatchObject({ owner: ours.name, state: 'stuck' });
  });

  it('fails with LockLostError when releasing a lease that was taken over after it expired', async () => {
    const stale = await acquireLock(acquireEvent(ours), { store, clock });
    clock.advanceMinutes(400);
    await acquireLock(acquireEvent(theirs), { store, clock });
    await expect(releaseLock(releaseEvent(stale), { store, clock })).rejects.toThrow(LockLostError);
    expect(await readLock()).toMatchObject({ owner: theirs.name, state: 'held' });
  });

  const abandoned = (execution: Execution): Extract<DeploymentLockEvent, { operation: 'mark-abandoned' }> => ({
    operation: 'mark-abandoned',
    config,
    ended: { executionArn: execution.id, name: execution.name, status: 'TIMED_OUT', error: 'States.Timeout', cause: '' },
  });

  it('marks stuck the lease an execution still held when it timed out, so nobody takes it over when it expires', async () => {
    const lease = await acquireLock(acquireEvent(ours), { store, clock });

    expect(await runDeploymentLock(abandoned(ours), { store, clock })).toMatchObject({ key: KEY, state: 'stuck' });

    expect(await readLock()).toMatchObject({
      owner: ours.name,
      executionId: lease.executionId,
      state: 'stuck',
      note: expect.stringMatching(/^execution deploy-v1-4-2 ended TIMED_OUT \(States\.Timeout\) outside the runbook.s own end states: .* setting state to "released" in /),
    });
    clock.set('2026-01-01T00:00:00.000Z');
    await expect(acquireLock(acquireEvent(theirs), { store, clock })).rejects.toThrow(DeploymentInProgressError);
  });

  it('leaves alone a lock the ended execution does not hold: another holder, a released lease, no lock at all', async () => {
    expect(await markLockAbandoned(abandoned(ours), { store, clock })).toBeNull();
    const lease = await acquireLock(acquireEvent(theirs), { store, clock });
    expect(await markLockAbandoned(abandoned(ours), { store, clock })).toBeNull();
    expect(await readLock()).toMatchObject({ owner: theirs.name, state: 'held' });
    await releaseLock(releaseEvent(lease, theirs), { store, clock });
    expect(await markLockAbandoned(abandoned(theirs), { store, clock })).toBeNull();
    expect(await readLock()).toMatchObject({ owner: theirs.name, state: 'released' });
  });

  it('gives exactly one of 20 concurrent executions the lease', async () => {
    const executions = Array.from({ length: 20 }, (_, i) => executionNamed(`deploy-${i}`));
    const results = await Promise.allSettled(executions.map((e) => acquireLock(acquireEvent(e), { store, clock })));
    const leases = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(leases).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof DeploymentInProgressError)).toBe(true);
    expect((await readLock()).owner).toBe(leases[0].owner);
  });

  it('gives exactly one of 20 concurrent executions a released lease', async () => {
    await releaseLock(releaseEvent(await acquireLock(acquireEvent(ours), { store, clock })), { store, clock });
    const executions = Array.from({ length: 20 }, (_, i) => executionNamed(`deploy-${i}`));
    const results = await Promise.allSettled(executions.map((e) => acquireLock(acquireEvent(e), { store, clock })));
    const leases = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(leases).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof DeploymentInProgressError)).toBe(true);
    expect(await readLock()).toMatchObject({ owner: leases[0].owner, state: 'held' });
  });
});
