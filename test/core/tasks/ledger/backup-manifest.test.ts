import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../../../adapters/aws/s3-artifact-store';
import { BackupManifestConflictError } from '../../../../core/tasks/ledger/backup-manifest';
import { LedgerEvent, runLedger } from '../../../../core/tasks/ledger/ledger';
import { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import { config, deployment, execution, executionNamed, fixedClock, logicalCopy, preflight, snapshot, tempFileStore, RecordingMetrics } from './fixtures';

const RECORDED = '2025-03-04T10:06:45.000Z';

/** RecordBackup sends only these slots. */
const recordBackupEvent = (overrides: object = {}) =>
  LedgerEvent.parse(JSON.parse(JSON.stringify({ operation: 'record-backup', config, deployment, execution, preflight, snapshot, fingerprint: FINGERPRINT, ...overrides })));

/** What FingerprintData recorded just before the backup. */
const FINGERPRINT = { tables: { customers: { rows: 2000, md5: null }, orders: { rows: 8000, md5: '0cc175b9c0f1b6a831c399e269772661' } } };

describe('record-backup', () => {
  it('writes the manifest once with If-None-Match * to S3 and returns where it is', async () => {
    const client = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
    const s3 = mockClient(client);
    s3.on(PutObjectCommand).resolves({ ETag: '"m1"' });
    const record = await runLedger(recordBackupEvent(), { store: new S3ArtifactStore(client, 'runbook-artifacts'), clock: fixedClock(RECORDED), metrics: new RecordingMetrics() });

    const key = `backups/shop-api/${deployment.id}.json`;
    expect(record).toEqual({ manifestKey: key, location: `s3://runbook-artifacts/${key}`, snapshotId: snapshot.id, recordedAt: RECORDED });
    expect(s3).toHaveReceivedCommandExactlyOnceWith(PutObjectCommand, { Bucket: 'runbook-artifacts', Key: key, IfNoneMatch: '*', ContentType: 'application/json' });
    expect(JSON.parse(String(s3.commandCalls(PutObjectCommand)[0].args[0].input.Body))).toEqual({
      schemaVersion: 1,
      target: 'shop-api',
      deploymentId: deployment.id,
      executionId: execution.id,
      requestedBy: 'ci@github-actions',
      snapshot,
      database: preflight.database,
      versions: { before: preflight.running, after: { version: 'v1.4.2', image: deployment.image } },
      createdAt: RECORDED,
      fingerprint: FINGERPRINT,
    });
  });

  it('keeps the logical copy beside an RDS snapshot (database.logicalBackup) in the manifest, where a person finds it', async () => {
    const client = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
    const s3 = mockClient(client);
    s3.on(PutObjectCommand).resolves({ ETag: '"m1"' });
    await runLedger(recordBackupEvent({ snapshot: { ...snapshot, logicalCopy } }), { store: new S3ArtifactStore(client, 'runbook-artifacts'), clock: fixedClock(RECORDED), metrics: new RecordingMetrics() });

    expect(JSON.parse(String(s3.commandCalls(PutObjectCommand)[0].args[0].input.Body)).snapshot).toEqual({ ...snapshot, logicalCopy });
  });

  describe('in the file store', () => {
    let store: FileArtifactStore;
    const clock = fixedClock(RECORDED);

    beforeEach(async () => {
      const temp = await tempFileStore('backup-manifest-');
      store = temp.store;
      clock.set(RECORDED);
      return temp.remove;
    });

    it('returns the same record to a retried task without rewriting the manifest', async () => {
      const first = await runLedger(recordBackupEvent(), { store, clock, metrics: new RecordingMetrics() });
      const etag = (await store.get(`backups/shop-api/${deployment.id}.json`))!.etag;
      clock.advanceMinutes(2);
      expect(await runLedger(recordBackupEvent(), { store, clock, metrics: new RecordingMetrics() })).toEqual(first);
      expect((await store.get(`backups/shop-api/${deployment.id}.json`))!.etag).toBe(etag);
    });

    it('fails when a manifest for this deployment id was written by another execution', async () => {
      await runLedger(recordBackupEvent(), { store, clock, metrics: new RecordingMetrics() });
      const other = executionNamed('deploy-v1-4-2-again');
      await expect(runLedger(recordBackupEvent({ execution: other }), { store, clock, metrics: new RecordingMetrics() })).rejects.toThrow(BackupManifestConflictError);
    });

    it('fails when the snapshot slot is null, naming it', async () => {
      await expect(runLedger(recordBackupEvent({ snapshot: null }), { store, clock, metrics: new RecordingMetrics() })).rejects.toThrow('record-backup needs $.snapshot, but it is null');
    });
  });
});
