import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, type GetObjectCommandOutput, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../../../adapters/aws/s3-artifact-store';
import {
  LEDGER_WRITE_ATTEMPTS,
  type LedgerDocument,
  LedgerConflictError,
  LedgerDocumentInvalidError,
  MAX_EVENTS,
  MAX_RELEASES,
  readLedger,
  updateLedger,
  withEntry,
  withRelease,
} from '../../../../core/tasks/ledger/release-ledger';
import type { ReleaseRecord } from '../../../../core/model';
import { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import { preflight } from './fixtures';

const empty: LedgerDocument = { target: 'shop-api', current: null, releases: [], events: [] };

function releaseNumber(n: number): ReleaseRecord {
  return {
    deploymentId: `deploy-${n}`,
    executionId: `exec-${n}`,
    version: `v1.${n}.0`,
    image: null,
    ref: `td:${n}`,
    previous: preflight.running,
    snapshot: null,
    migrationsRan: false,
    finishedAt: new Date(Date.UTC(2025, 0, 1) + n * 60_000).toISOString(),
    rolledBack: null,
  };
}

const entry = (n: number) => ({ at: new Date(Date.UTC(2025, 0, 1) + n * 1000).toISOString(), kind: 'aborted' as const, detail: `attempt ${n}` });

describe('ledger document', () => {
  it('keeps the newest 50 releases, newest first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 120 }), (count) => {
        let doc = empty;
        for (let n = 0; n < count; n++) doc = withRelease(doc, releaseNumber(n));
        expect(doc.releases).toHaveLength(Math.min(count, MAX_RELEASES));
        expect(doc.releases.map((r) => r.deploymentId)).toEqual(
          Array.from({ length: Math.min(count, MAX_RELEASES) }, (_, i) => `deploy-${count - 1 - i}`),
        );
      }),
    );
  });

  it('replaces a release with the same deploymentId in place', () => {
    const doc = withRelease(withRelease(withRelease(empty, releaseNumber(1)), releaseNumber(2)), { ...releaseNumber(1), version: 'v9' });
    expect(doc.releases.map((r) => [r.deploymentId, r.version])).toEqual([
      ['deploy-2', 'v1.2.0'],
      ['deploy-1', 'v9'],
    ]);
  });

  it('keeps the last 200 events, oldest first, and skips an entry already there', () => {
    let doc = empty;
    for (let n = 0; n < 250; n++) doc = withEntry(doc, entry(n));
    expect(doc.events).toHaveLength(MAX_EVENTS);
    expect(doc.events[0].detail).toBe('attempt 50');
    expect(withEntry(doc, { ...entry(249), at: '2030-01-01T00:00:00.000Z' })).toBe(doc);
  });
});

describe('ledger updates in S3', () => {
  const BUCKET = 'runbook-artifacts-123456789012';
  const client = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
  const s3 = mockClient(client);
  const store = new S3ArtifactStore(client, BUCKET);
  const body = (doc: unknown): GetObjectCommandOutput['Body'] => {
    const bytes = Buffer.from(JSON.stringify(doc));
    return Object.assign(Readable.from([bytes]), { transformToByteArray: async () => new Uint8Array(bytes) }) as unknown as GetObjectCommandOutput['Body'];
  };
  const conflict = () => new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'precondition failed' });

  beforeEach(() => s3.reset());

  it('re-reads and re-applies the change when another writer won, with If-Match the etag of each read', async () => {
    s3.on(GetObjectCommand)
      .resolvesOnce({ Body: body(empty), ETag: '"v1"' })
      .resolvesOnce({ Body: body(withEntry(empty, entry(1))), ETag: '"v2"' });
    s3.on(PutObjectCommand, { IfMatch: '"v1"' }).rejects(conflict());
    s3.on(PutObjectCommand, { IfMatch: '"v2"' }).resolves({ ETag: '"v3"' });

    const result = await updateLedger(store, 'shop-api', (doc) => withEntry(doc, entry(2)));
    expect(result.events.map((e) => e.detail)).toEqual(['attempt 1', 'attempt 2']);
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 2);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: 'ledger/shop-api.json' });
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => [p.Key, p.IfMatch, p.ContentType])).toEqual([
      ['ledger/shop-api.json', '"v1"', 'application/json'],
      ['ledger/shop-api.json', '"v2"', 'application/json'],
    ]);
    expect(JSON.parse(String(puts[1].Body)).events).toHaveLength(2);
  });

  it(`fails with LedgerConflictError after ${LEDGER_WRITE_ATTEMPTS} lost races`, async () => {
    s3.on(GetObjectCommand).callsFake(() => ({ Body: body(empty), ETag: '"busy"' }));
    s3.on(PutObjectCommand).rejects(conflict());
    await expect(updateLedger(store, 'shop-api', (doc) => doc)).rejects.toThrow(
      new LedgerConflictError(`the ledger ledger/shop-api.json changed under every one of ${LEDGER_WRITE_ATTEMPTS} attempts to update it`),
    );
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, LEDGER_WRITE_ATTEMPTS);
  });

  it('fails when the ledger object is not a ledger, naming the field', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body({ target: 'shop-api', current: null, releases: 'none', events: [] }), ETag: '"x"' });
    const attempt = readLedger(store, 'shop-api');
    await expect(attempt).rejects.toBeInstanceOf(LedgerDocumentInvalidError);
    await expect(attempt).rejects.toThrow(/ledger\/shop-api.json is not a ledger: releases: .*"none"/);
  });
});

describe('ledger updates in the file store', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'release-ledger-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it(`loses no change when ${LEDGER_WRITE_ATTEMPTS} writers update the ledger at once`, async () => {
    const store = new FileArtifactStore(root);
    await Promise.all(Array.from({ length: LEDGER_WRITE_ATTEMPTS }, (_, n) => updateLedger(store, 'shop-api', (doc) => withEntry(doc, entry(n)))));
    const { document } = await readLedger(store, 'shop-api');
    expect(document.events.map((e) => e.detail).sort()).toEqual(Array.from({ length: LEDGER_WRITE_ATTEMPTS }, (_, n) => `attempt ${n}`).sort());
  });
});
