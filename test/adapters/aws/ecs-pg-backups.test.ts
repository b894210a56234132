import { Readable } from 'node:stream';
import { DescribeTasksCommand, ECSClient, RunTaskCommand, type Task } from '@aws-sdk/client-ecs';
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EcsPgBackups, EcsPgRestorer } from '../../../adapters/aws/ecs-pg-backups';
import { BACKUP_TASK_ARN, backupTaskPlacement } from './backup-task-fixtures';
import { S3ArtifactStore } from '../../../adapters/aws/s3-artifact-store';
import { RestoreFailedError, SnapshotFailedError } from '../../../core/errors';
import type { DatabaseInfo, RestoreState, SnapshotRef } from '../../../core/model';

const BUCKET = 'runbook-artifacts';
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
const ecsClient = new ECSClient({ region: 'eu-west-1', credentials });
const s3Client = new S3Client({ region: 'eu-west-1', credentials });
const ecs = mockClient(ecsClient);
const s3 = mockClient(s3Client);

const TASK = BACKUP_TASK_ARN;
const placement = backupTaskPlacement;
const SOURCE: DatabaseInfo = { kind: 'postgres', identifier: 'shop', arn: null, engine: 'postgres', engineVersion: null, status: 'configured', encrypted: null, sizeBytes: null };
const NOW = new Date('2025-06-01T10:00:00.000Z');
const options = {
  ecs: ecsClient,
  store: new S3ArtifactStore(s3Client, BUCKET),
  placement: () => placement,
  target: 'shop-api',
  describe: async () => SOURCE,
  clock: { now: () => NOW },
};
const backups = new EcsPgBackups(options);
const restorer = new EcsPgRestorer(options);

const META = {
  snapshotId: 'snap-1',
  status: 'available',
  source: 'shop',
  bytes: 4096,
  sha256: 'c'.repeat(64),
  startedAt: '2025-06-01T10:00:01.000Z',
  completedAt: '2025-06-01T10:03:00.000Z',
  tags: {},
  error: null,
  verification: ['sha256 computed while streaming 4096 bytes', 'pg_restore --list of the stored dump: 12 entries, 3 tables, 3 with data'],
};
const RECORD = { taskArn: TASK, database: 'shop', startedAt: NOW.toISOString() };

function body(json: unknown): { Body: ReturnType<typeof Readable.from> & { transformToByteArray(): Promise<Uint8Array> }; ETag: string } {
  const bytes = Buffer.from(JSON.stringify(json));
  return { Body: Object.assign(Readable.from([bytes]), { transformToByteArray: async () => new Uint8Array(bytes) }), ETag: '"e"' };
}

function objects(stored: Record<string, unknown>): void {
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    if (input.Key in stored) return body(stored[input.Key]);
    throw new NoSuchKey({ message: 'no such key', $metadata: { httpStatusCode: 404 } });
  });
}

function stopped(exitCode: number | undefined, extra: Partial<Task> = {}): Task {
  return { taskArn: TASK, lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited', containers: [{ name: 'uploader', exitCode }], ...extra };
}

/** The RunTask the adapter sends for `request`: the stack's task in the configured network, the request in the uploader's override. */
function runTaskOf(request: unknown): unknown {
  return {
    cluster: placement.cluster,
    taskDefinition: placement.taskDefinition,
    count: 1,
    launchType: 'FARGATE',
    startedBy: 'deploy-runbook',
    clientToken: expect.stringMatching(/^[0-9a-f]{64}$/),
    networkConfiguration: { awsvpcConfiguration: { subnets: placement.subnets, securityGroups: placement.securityGroups, assignPublicIp: 'DISABLED' } },
    overrides: { containerOverrides: [{ name: 'uploader', environment: [{ name: 'TASK_REQUEST', value: JSON.stringify(request) }] }] },
  };
}

beforeEach(() => {
  ecs.reset();
  s3.reset();
});

describe('EcsPgBackups.create', () => {
  it('starts the backup task in the configured network with the request in its container override, and records the task', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK }], failures: [] });
    s3.on(PutObjectCommand).resolves({ ETag: '"r"' });

    const ref = await backups.create('snap-1', { 'deploy-runbook:version': 'v2' });

    expect(ref).toMatchObject({ id: 'snap-1', kind: 'postgres', source: 'shop', status: 'creating', location: 'backups/shop-api/snap-1.dump', checksum: null });
    expect(ecs.commandCalls(RunTaskCommand)[0].args[0].input).toEqual(runTaskOf({ mode: 'backup', target: 'shop-api', snapshotId: 'snap-1', tags: { 'deploy-runbook:version': 'v2' } }));
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: BUCKET, Key: 'backups/shop-api/snap-1.task.json', IfNoneMatch: '*' });
    expect(JSON.parse(String(s3.commandCalls(PutObjectCommand)[0].args[0].input.Body))).toEqual(RECORD);
  });

  it('uses the same client token on a retry, so a second call cannot start a second dump', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK }], failures: [] });
    s3.on(PutObjectCommand).resolvesOnce({ ETag: '"r"' }).rejects(new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 } }));

    await backups.create('snap-1', {});
    await expect(backups.create('snap-1', {})).resolves.toMatchObject({ status: 'creating' });

    const tokens = ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input.clientToken);
    expect(new Set(tokens).size).toBe(1);
  });

  it('fails naming the database when ECS starts no task', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [{ arn: placement.taskDefinition, reason: 'RESOURCE:ENI' }] });

    await expect(backups.create('snap-1', {})).rejects.toThrow(new SnapshotFailedError(`logical backup snap-1 of database "shop" failed: the backup task could not be started: ${placement.taskDefinition} RESOURCE:ENI`));
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });
});

describe('EcsPgBackups.find', () => {
  it('is creating while the task runs, and available with what the task verified once its meta says so', async () => {
    objects({ 'backups/shop-api/snap-1.task.json': RECORD });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK, lastStatus: 'RUNNING' }] });
    await expect(backups.find('snap-1')).resolves.toMatchObject({ status: 'creating', source: 'shop' });

    objects({ 'backups/shop-api/snap-1.task.json': RECORD, 'backups/shop-api/snap-1.meta.json': META });
    await expect(backups.find('snap-1')).resolves.toMatchObject({ status: 'available', checksum: META.sha256, sizeBytes: 4096, verification: META.verification, encrypted: true });
  });

  it('is nothing when no task was started for the id', async () => {
    objects({});
    await expect(backups.find('snap-1')).resolves.toBeUndefined();
    expect(ecs).not.toHaveReceivedCommand(DescribeTasksCommand);
  });

  it('fails with the reason the task recorded (an unreachable database), naming the database', async () => {
    objects({ 'backups/shop-api/snap-1.meta.json': { ...META, status: 'failed', bytes: null, sha256: null, verification: [], error: 'pg_dump of database "shop" exited with 1: could not connect to server: Connection timed out' } });

    await expect(backups.find('snap-1')).rejects.toThrow(
      new SnapshotFailedError('logical backup snap-1 of database "shop" failed: pg_dump of database "shop" exited with 1: could not connect to server: Connection timed out'),
    );
  });

  it('fails when the task stopped without marking the dump available (killed, out of memory)', async () => {
    objects({ 'backups/shop-api/snap-1.task.json': RECORD, 'backups/shop-api/snap-1.meta.json': { ...META, status: 'creating', bytes: null, sha256: null, completedAt: null, verification: [] } });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [stopped(137, { stoppedReason: 'OutOfMemoryError: Container killed due to memory usage' })] });

    await expect(backups.find('snap-1')).rejects.toThrow(
      `logical backup snap-1 of database "shop" failed: backup task ${TASK} stopped (container uploader exited with 137: EssentialContainerExited: OutOfMemoryError: Container killed due to memory usage) before the dump was stored and verified`,
    );
  });
});

describe('EcsPgBackups.verify', () => {
  const snapshot: SnapshotRef = { id: 'snap-1', arn: null, kind: 'postgres', source: 'shop', status: 'available', engine: 'postgres', encrypted: true, sizeBytes: 4096, location: 'backups/shop-api/snap-1.dump', checksum: META.sha256, startedAt: META.startedAt, completedAt: META.completedAt, verification: [] };

  it('returns what the task checked and that the object holds the bytes hashed', async () => {
    objects({ 'backups/shop-api/snap-1.meta.json': META });
    s3.on(HeadObjectCommand, { Key: 'backups/shop-api/snap-1.dump' }).resolves({ ContentLength: 4096 });

    await expect(backups.verify(snapshot, SOURCE)).resolves.toEqual([...META.verification, `s3://${BUCKET}/backups/shop-api/snap-1.dump holds the 4096 bytes hashed`]);
  });

  it('fails when the stored object is not the size that was hashed', async () => {
    objects({ 'backups/shop-api/snap-1.meta.json': META });
    s3.on(HeadObjectCommand).resolves({ ContentLength: 10 });

    await expect(backups.verify(snapshot, SOURCE)).rejects.toThrow(`s3://${BUCKET}/backups/shop-api/snap-1.dump holds 10 bytes, but 4096 were hashed when it was stored`);
  });

  it('fails when the dump holds no table data', async () => {
    objects({ 'backups/shop-api/snap-1.meta.json': { ...META, verification: ['pg_restore --list of the stored dump: 2 entries, 0 tables, 0 with data'] } });

    await expect(backups.verify(snapshot, SOURCE)).rejects.toThrow('logical backup snap-1 of database "shop" holds no table data');
  });
});

describe('EcsPgRestorer.advance', () => {
  const snapshot: SnapshotRef = { id: 'snap-1', arn: null, kind: 'postgres', source: 'shop', status: 'available', engine: 'postgres', encrypted: true, sizeBytes: 4096, location: 'backups/shop-api/snap-1.dump', checksum: META.sha256, startedAt: META.startedAt, completedAt: META.completedAt, verification: [] };
  const resultKey = 'backups/shop-api/snap-1.restore-20250601100000.json';

  async function started(): Promise<RestoreState> {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK }], failures: [] });
    return restorer.advance(snapshot, null);
  }

  it('starts the task in restore mode with the snapshot and where to write its outcome', async () => {
    const state = await started();

    expect(state).toMatchObject({ phase: 'restore-task', decision: 'restoring', startedAt: NOW.toISOString(), captured: { taskArn: TASK, resultKey, database: 'shop' } });
    const env = ecs.commandCalls(RunTaskCommand)[0].args[0].input.overrides?.containerOverrides?.[0].environment;
    expect(env).toEqual([{ name: 'TASK_REQUEST', value: JSON.stringify({ mode: 'restore', snapshot, startedAt: NOW.toISOString(), resultKey }) }]);
  });

  it('waits while the task runs, then reports the swap and the kept copy the task recorded', async () => {
    const state = await started();
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK, lastStatus: 'RUNNING' }] });
    await expect(restorer.advance(snapshot, state)).resolves.toBe(state);

    const taskState = { restored: true, decision: 'restored', phase: 'done', failedCopy: 'shop_failed_20250601100000', snapshotId: 'snap-1', steps: [{ phase: 'swap', at: '2025-06-01T10:04:00.000Z', detail: 'kept shop as shop_failed_20250601100000' }], startedAt: NOW.toISOString(), finishedAt: '2025-06-01T10:05:00.000Z' };
    objects({ [resultKey]: { status: 'restored', state: taskState, error: null } });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [stopped(0)] });

    const done = await restorer.advance(snapshot, state);
    expect(done).toMatchObject({ phase: 'done', restored: true, failedCopy: 'shop_failed_20250601100000', finishedAt: '2025-06-01T10:05:00.000Z' });
    expect(done.steps.map((step) => step.phase)).toEqual(['start-task', 'swap']);
  });

  it('fails naming the database, the reason and the kept copy when the task failed', async () => {
    const state = await started();
    objects({ [resultKey]: { status: 'failed', state: { ...state, failedCopy: 'shop_failed_20250601100000' }, error: 'pg_restore of backups/shop-api/snap-1.dump exited with 1' } });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [stopped(1)] });

    await expect(restorer.advance(snapshot, state)).rejects.toThrow(
      new RestoreFailedError(`restore of snap-1 into database "shop" failed in task ${TASK}: pg_restore of backups/shop-api/snap-1.dump exited with 1; the replaced database is kept as shop_failed_20250601100000`),
    );
  });

  it('fails when the task stopped without an outcome', async () => {
    const state = await started();
    objects({});
    ecs.on(DescribeTasksCommand).resolves({ tasks: [stopped(undefined, { stopCode: 'TaskFailedToStart', stoppedReason: 'CannotPullContainerError' })] });

    await expect(restorer.advance(snapshot, state)).rejects.toThrow(`task ${TASK} stopped (container uploader has no exit code: TaskFailedToStart: CannotPullContainerError) without writing its outcome`);
  });
});

describe('EcsPgRestorer, a restore drill', () => {
  const snapshot: SnapshotRef = { id: 'snap-1', arn: null, kind: 'postgres', source: 'shop', status: 'available', engine: 'postgres', encrypted: true, sizeBytes: 4096, location: 'backups/shop-api/snap-1.dump', checksum: META.sha256, startedAt: META.startedAt, completedAt: META.completedAt, verification: [] };
  const resultKey = 'backups/shop-api/snap-1.drill-20250601100000.json';
  const copy = 'shop_drill_20250601100000';
  const discards: [SnapshotRef, RestoreState | null][] = [];
  const drill = new EcsPgRestorer(options, async (snap, state) => {
    discards.push([snap, state]);
    return { ...state!, phase: 'discarded' };
  });

  beforeEach(() => {
    discards.length = 0;
  });

  async function started(): Promise<RestoreState> {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK }], failures: [] });
    return drill.restoreScratch(snapshot, null);
  }

  it('starts the backup task in drill-restore mode, naming the copy <db>_drill_<ts> it will restore into, in the configured network', async () => {
    const state = await started();

    expect(state).toMatchObject({ phase: 'restore-task', decision: 'restoring', scratch: copy, startedAt: NOW.toISOString(), captured: { taskArn: TASK, resultKey, database: 'shop' } });
    expect(state.steps[0].detail).toBe(`task ${TASK} restores backups/shop-api/snap-1.dump into ${copy}, beside shop, which is not touched`);
    expect(ecs).toHaveReceivedCommandTimes(RunTaskCommand, 1);
    expect(ecs.commandCalls(RunTaskCommand)[0].args[0].input).toEqual(runTaskOf({ mode: 'drill-restore', snapshot, startedAt: NOW.toISOString(), resultKey }));
  });

  it('waits while the task runs, then is done with the copy the task restored; the live database is not in its steps', async () => {
    const state = await started();
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK, lastStatus: 'RUNNING' }] });
    await expect(drill.restoreScratch(snapshot, state)).resolves.toBe(state);

    const taskState = { restored: true, decision: 'restored', phase: 'done', failedCopy: null, scratch: copy, snapshotId: 'snap-1', steps: [{ phase: 'create-scratch', at: '2025-06-01T10:01:00.000Z', detail: `created scratch database ${copy}` }, { phase: 'restore', at: '2025-06-01T10:02:00.000Z', detail: `restored backups/shop-api/snap-1.dump into ${copy} (3 tables)` }], startedAt: NOW.toISOString(), finishedAt: '2025-06-01T10:03:00.000Z' };
    objects({ [resultKey]: { status: 'restored', state: taskState, error: null } });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [stopped(0)] });

    const done = await drill.restoreScratch(snapshot, state);
    expect(done).toMatchObject({ phase: 'done', restored: true, scratch: copy, failedCopy: null, finishedAt: '2025-06-01T10:03:00.000Z' });
    expect(done.steps.map((step) => step.phase)).toEqual(['start-task', 'create-scratch', 'restore']);
    expect(ecs.commandCalls(DescribeTasksCommand).map((call) => call.args[0].input)).toEqual([{ cluster: placement.cluster, tasks: [TASK] }, { cluster: placement.cluster, tasks: [TASK] }]);
  });

  it('fails naming the copy, the database and the reason when the task failed', async () => {
    const state = await started();
    objects({ [resultKey]: { status: 'failed', state: { ...state, phase: 'restore' }, error: `pg_restore of backups/shop-api/snap-1.dump into ${copy} exited with 1` } });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [stopped(1)] });

    await expect(drill.restoreScratch(snapshot, state)).rejects.toThrow(
      new RestoreFailedError(`drill restore of snap-1 into ${copy} beside database "shop" failed in task ${TASK}: pg_restore of backups/shop-api/snap-1.dump into ${copy} exited with 1`),
    );
  });

  it('fails when the task reports another copy than the one this drill named', async () => {
    const state = await started();
    objects({ [resultKey]: { status: 'restored', state: { ...state, phase: 'done', scratch: 'shop' }, error: null } });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [stopped(0)] });

    await expect(drill.restoreScratch(snapshot, state)).rejects.toThrow(`reports its copy as "shop", not ${copy}`);
  });

  it('drops the copy through its discard once the task has stopped, passed or failed', async () => {
    const state = await started();
    ecs.on(DescribeTasksCommand).resolves({ tasks: [stopped(1)] });

    const discarded = await drill.discardScratch(snapshot, state);

    expect(discarded.phase).toBe('discarded');
    expect(discards).toEqual([[snapshot, state]]);
  });

  it('refuses to drop the copy while the task still restores into it, naming the task and the copy', async () => {
    const state = await started();
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK, lastStatus: 'RUNNING' }] });

    await expect(drill.discardScratch(snapshot, state)).rejects.toThrow(`the drill copy ${copy} is not dropped: task ${TASK} is still RUNNING and restoring into it; stop the task, then drop the copy`);
    expect(discards).toEqual([]);
  });

  it('fails when it was given no discard (the restorer of a plain restore)', async () => {
    await expect(restorer.discardScratch(snapshot, null)).rejects.toThrow('the drill copy of snap-1 cannot be dropped here');
    expect(ecs).not.toHaveReceivedAnyCommand();
  });
});
