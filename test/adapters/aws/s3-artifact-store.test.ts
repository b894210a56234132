import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { IN_FLIGHT_BYTES, MAX_PARTS, MAX_STREAMED_BYTES, partSize, S3ArtifactStore } from '../../../adapters/aws/s3-artifact-store';
import { ArtifactNotFoundError, PreconditionFailedError } from '../../../core/errors';

const BUCKET = 'runbook-artifacts-123456789012';
const client = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
const s3 = mockClient(client);
const store = new S3ArtifactStore(client, BUCKET);

/** A GetObject body as the SDK returns it in Node.js: a stream with the transform helpers. */
function s3Body(content: string | Buffer): GetObjectCommandOutput['Body'] {
  const bytes = Buffer.from(content);
  return Object.assign(Readable.from([bytes]), {
    transformToByteArray: async () => new Uint8Array(bytes),
    transformToString: async () => bytes.toString('utf8'),
    transformToWebStream: () => Readable.toWeb(Readable.from([bytes])),
  }) as unknown as GetObjectCommandOutput['Body'];
}

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} (${status})` });
}

beforeEach(() => {
  s3.reset();
});

describe('S3ArtifactStore.get', () => {
  it('reads the object with GetObject and returns its bytes and ETag', async () => {
    s3.on(GetObjectCommand).resolves({ Body: s3Body('{"state":"held"}'), ETag: '"9b2cf535f27731c974343645a3985328"' });
    const object = await store.get('locks/shop-api.json');
    expect(object?.body.toString()).toBe('{"state":"held"}');
    expect(object?.etag).toBe('"9b2cf535f27731c974343645a3985328"');
    expect(s3).toHaveReceivedCommandExactlyOnceWith(GetObjectCommand, { Bucket: BUCKET, Key: 'locks/shop-api.json' });
  });

  it('returns undefined for NoSuchKey', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));
    expect(await store.get('ledger/shop-api.json')).toBeUndefined();
  });

  it('returns undefined for any 404', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('NotFound', 404));
    expect(await store.get('ledger/shop-api.json')).toBeUndefined();
  });

  it('fails when S3 denies access, rather than reading it as absent', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('AccessDenied', 403));
    await expect(store.get('ledger/shop-api.json')).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('S3ArtifactStore.put', () => {
  it('creates with PutObject If-None-Match * and the content type', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    const result = await store.put('locks/shop-api.json', '{"state":"held"}', { ifNoneMatch: '*', contentType: 'application/json' });
    expect(result).toEqual({ etag: '"e1"' });
    expect(s3).toHaveReceivedCommandExactlyOnceWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: 'locks/shop-api.json',
      Body: '{"state":"held"}',
      ContentType: 'application/json',
      IfNoneMatch: '*',
    });
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input.IfMatch).toBeUndefined();
  });

  it('replaces with PutObject If-Match the etag', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    await store.put('locks/shop-api.json', '{"state":"released"}', { ifMatch: '"e1"', contentType: 'application/json' });
    expect(s3).toHaveReceivedCommandExactlyOnceWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: 'locks/shop-api.json',
      Body: '{"state":"released"}',
      ContentType: 'application/json',
      IfMatch: '"e1"',
    });
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input.IfNoneMatch).toBeUndefined();
  });

  it.each([
    ['PreconditionFailed', 412],
    ['ConditionalRequestConflict', 409],
  ] as const)('fails with PreconditionFailedError when S3 answers %s (%i)', async (name, status) => {
    s3.on(PutObjectCommand).rejects(s3Error(name, status));
    const attempt = store.put('locks/shop-api.json', '{}', { ifMatch: '"e1"' });
    await expect(attempt).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(attempt).rejects.toMatchObject({ key: 'locks/shop-api.json', status });
  });

  it('fails with the S3 error itself for anything else', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('SlowDown', 503));
    await expect(store.put('ledger/shop-api.json', '{}')).rejects.toMatchObject({ name: 'SlowDown' });
  });
});

describe('S3ArtifactStore.putStream', () => {
  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  function mockMultipart() {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    s3.on(UploadPartCommand).callsFake((input: { PartNumber: number }) => ({ ETag: `"part-${input.PartNumber}"` }));
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final-3"' });
  }

  const MiB = 1024 * 1024;
  const PART_SIZE = partSize(1);
  const sha256Of = (data: Buffer, encoding: 'hex' | 'base64') => createHash('sha256').update(data).digest(encoding);

  it('uploads parts of partSize, each with its SHA-256 as its checksum, then completes with them in order, hashing and counting while it streams', async () => {
    mockMultipart();
    // Odd chunk sizes: parts must be cut at exactly the part size whatever the source yields.
    const chunks = Array.from({ length: (2 * PART_SIZE) / MiB + 1 }, (_, i) => Buffer.alloc(MiB + 3, i));
    const all = Buffer.concat(chunks);
    const result = await store.putStream('backups/shop-api/d-1.dump', Readable.from(chunks), { contentType: 'application/octet-stream' });

    expect(result).toEqual({ etag: '"final-3"', bytes: all.length, sha256: sha256(all), integrity: 'S3 checked the SHA-256 of each of its 3 parts (object checksum not returned)' });
    expect(s3).toHaveReceivedCommandExactlyOnceWith(CreateMultipartUploadCommand, {
      Bucket: BUCKET,
      Key: 'backups/shop-api/d-1.dump',
      ContentType: 'application/octet-stream',
      ChecksumAlgorithm: 'SHA256',
      ChecksumType: 'COMPOSITE',
    });
    const bodies = [all.subarray(0, PART_SIZE), all.subarray(PART_SIZE, 2 * PART_SIZE), all.subarray(2 * PART_SIZE)];
    const parts = s3.commandCalls(UploadPartCommand).map((call) => call.args[0].input);
    // Bodies compared by their hash: a deep comparison of 8 MiB buffers takes vitest minutes.
    expect(parts.sort((a, b) => Number(a.PartNumber) - Number(b.PartNumber)).map((p) => ({ ...p, Body: sha256Of(p.Body as Buffer, 'hex') }))).toEqual(
      bodies.map((body, i) => ({
        Bucket: BUCKET,
        Key: 'backups/shop-api/d-1.dump',
        UploadId: 'upload-1',
        PartNumber: i + 1,
        Body: sha256Of(body, 'hex'),
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: sha256Of(body, 'base64'),
      })),
    );
    expect(s3).toHaveReceivedCommandExactlyOnceWith(CompleteMultipartUploadCommand, {
      Bucket: BUCKET,
      Key: 'backups/shop-api/d-1.dump',
      UploadId: 'upload-1',
      MultipartUpload: {
        Parts: bodies.map((body, i) => ({ ETag: `"part-${i + 1}"`, PartNumber: i + 1, ChecksumSHA256: sha256Of(body, 'base64') })),
      },
    });
    const order = s3.calls().map((call) => call.args[0].constructor.name);
    expect(order[0]).toBe('CreateMultipartUploadCommand');
    expect(order.at(-1)).toBe('CompleteMultipartUploadCommand');
    expect(s3).not.toHaveReceivedCommand(AbortMultipartUploadCommand);
  });

  it('reports the object checksum S3 returns on completion', async () => {
    mockMultipart();
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final-1"', ChecksumSHA256: 'q1w2e3==-1' });
    const result = await store.putStream('backups/shop-api/d-7.dump', Readable.from([Buffer.from('PGDMP')]));
    expect(result.integrity).toBe('S3 checked the SHA-256 of each of its 1 parts (object checksum q1w2e3==-1)');
  });

  it('sizes parts 8 MiB up to part 1,000, 16 MiB up to 9,000, then 32 MiB: 10,000 parts hold about 164 GiB', () => {
    expect([1, 1_000, 1_001, 9_000, 9_001, 10_000].map((n) => partSize(n) / MiB)).toEqual([8, 8, 16, 16, 32, 32]);
    expect(() => partSize(MAX_PARTS + 1)).toThrow(RangeError);
    expect(MAX_STREAMED_BYTES).toBe((1_000 * 8 + 8_000 * 16 + 1_000 * 32) * MiB);
  });

  it('sends the part SHA-256 as the signed payload hash, so the SDK neither hashes nor checksums the part again', async () => {
    const seen: { url: string; headers: IncomingHttpHeaders; bytes: number }[] = [];
    const server = createServer((request, response) => {
      let bytes = 0;
      request.on('data', (chunk: Buffer) => (bytes += chunk.length));
      request.on('end', () => {
        seen.push({ url: request.url ?? '', headers: request.headers, bytes });
        const xml = (body: string) => response.writeHead(200, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
        if (request.method === 'POST' && request.url?.includes('uploads')) return xml('<InitiateMultipartUploadResult><UploadId>u-1</UploadId></InitiateMultipartUploadResult>');
        if (request.method === 'PUT') return response.writeHead(200, { etag: '"p"' }).end();
        return xml('<CompleteMultipartUploadResult><ETag>"f"</ETag></CompleteMultipartUploadResult>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const real = new S3Client({
        region: 'eu-west-1',
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        forcePathStyle: true,
        credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
      });
      const body = Buffer.alloc(PART_SIZE + 5, 7);
      await new S3ArtifactStore(real, BUCKET).putStream('backups/shop-api/d-8.dump', Readable.from([body]));

      const uploads = seen.filter((r) => r.url.includes('partNumber='));
      expect(uploads.map((r) => [new URL(r.url, 'http://x').searchParams.get('partNumber'), r.bytes]).sort()).toEqual([['1', PART_SIZE], ['2', 5]]);
      for (const [i, part] of [body.subarray(0, PART_SIZE), body.subarray(PART_SIZE)].entries()) {
        const headers = uploads.find((r) => new URL(r.url, 'http://x').searchParams.get('partNumber') === String(i + 1))?.headers ?? {};
        expect(headers['x-amz-content-sha256']).toBe(sha256Of(part, 'hex'));
        expect(headers['x-amz-checksum-sha256']).toBe(sha256Of(part, 'base64'));
        expect(headers['x-amz-sdk-checksum-algorithm']).toBe('SHA256');
        expect(Object.keys(headers).filter((name) => name.startsWith('x-amz-checksum-'))).toEqual(['x-amz-checksum-sha256']);
        expect(headers.authorization).toContain('x-amz-content-sha256');
      }
    } finally {
      server.close();
    }
  });

  it('uploads a small body as a single part', async () => {
    mockMultipart();
    const result = await store.putStream('backups/shop-api/d-2.dump', Readable.from([Buffer.from('PGDMP small')]));
    expect(result.bytes).toBe(11);
    expect(s3).toHaveReceivedCommandTimes(UploadPartCommand, 1);
    expect(s3).toHaveReceivedCommandWith(UploadPartCommand, { PartNumber: 1, Body: Buffer.from('PGDMP small') });
  });

  it('aborts the multipart upload when the source stream fails', async () => {
    mockMultipart();
    async function* failing() {
      yield Buffer.alloc(PART_SIZE + 10);
      throw new Error('pg_dump exited with code 1');
    }
    await expect(store.putStream('backups/shop-api/d-3.dump', Readable.from(failing()))).rejects.toThrow('pg_dump exited with code 1');
    expect(s3).toHaveReceivedCommandExactlyOnceWith(AbortMultipartUploadCommand, { Bucket: BUCKET, Key: 'backups/shop-api/d-3.dump', UploadId: 'upload-1' });
    expect(s3).not.toHaveReceivedCommand(CompleteMultipartUploadCommand);
  });

  it('aborts instead of completing when beforeCommit refuses the ended body (the program that wrote it failed)', async () => {
    mockMultipart();
    const refused = store.putStream('backups/shop-api/d-5.dump', Readable.from([Buffer.from('PGDMP truncated')]), {
      beforeCommit: async () => {
        throw new Error('pg_dump exited with 1');
      },
    });
    await expect(refused).rejects.toThrow('pg_dump exited with 1');
    expect(s3).toHaveReceivedCommandTimes(UploadPartCommand, 1);
    expect(s3).not.toHaveReceivedCommand(CompleteMultipartUploadCommand);
    expect(s3).toHaveReceivedCommandExactlyOnceWith(AbortMultipartUploadCommand, { Bucket: BUCKET, Key: 'backups/shop-api/d-5.dump', UploadId: 'upload-1' });
  });

  it('keeps reading while parts upload, with at most IN_FLIGHT_BYTES of parts sent at once', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final"' });
    let sending = 0;
    let most = 0;
    s3.on(UploadPartCommand).callsFake(async (input: { PartNumber: number }) => {
      sending += 1;
      most = Math.max(most, sending);
      await new Promise((resolve) => setTimeout(resolve, 20));
      sending -= 1;
      return { ETag: `"part-${input.PartNumber}"` };
    });
    const inFlight = IN_FLIGHT_BYTES / PART_SIZE;
    const chunks = Array.from({ length: inFlight * 2 + 1 }, () => Buffer.alloc(PART_SIZE, 1));
    await store.putStream('backups/shop-api/d-6.dump', Readable.from(chunks));
    expect(inFlight).toBe(6);
    expect(most).toBe(inFlight);
    const completed = s3.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input.MultipartUpload?.Parts?.map((p) => p.PartNumber);
    expect(completed).toEqual(Array.from({ length: chunks.length }, (_, i) => i + 1));
  });

  it('runs beforeCommit while the last parts upload, and completes only once both are done', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final"' });
    const events: string[] = [];
    s3.on(UploadPartCommand).callsFake(async (input: { PartNumber: number }) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      events.push(`part ${input.PartNumber} sent`);
      return { ETag: `"part-${input.PartNumber}"` };
    });
    await store.putStream('backups/shop-api/d-9.dump', Readable.from([Buffer.alloc(PART_SIZE + 1, 1)]), {
      beforeCommit: async () => {
        events.push('check started');
        await new Promise((resolve) => setTimeout(resolve, 10));
        events.push('check done');
      },
    });
    events.push(s3.commandCalls(CompleteMultipartUploadCommand).length === 1 ? 'completed' : 'not completed');
    expect(events).toEqual(['check started', 'check done', 'part 1 sent', 'part 2 sent', 'completed']);
  });

  it('aborts the multipart upload when a part fails to upload', async () => {
    mockMultipart();
    s3.on(UploadPartCommand).rejects(s3Error('InternalError', 500));
    await expect(store.putStream('backups/shop-api/d-4.dump', Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ name: 'InternalError' });
    expect(s3).toHaveReceivedCommandExactlyOnceWith(AbortMultipartUploadCommand, { Bucket: BUCKET, Key: 'backups/shop-api/d-4.dump', UploadId: 'upload-1' });
  });
});

describe('S3ArtifactStore.getStream and locate', () => {
  it('returns the object body as a stream', async () => {
    s3.on(GetObjectCommand).resolves({ Body: s3Body('PGDMP dump bytes'), ETag: '"e"' });
    expect(await text(await store.getStream('backups/shop-api/d-1.dump'))).toBe('PGDMP dump bytes');
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: 'backups/shop-api/d-1.dump' });
  });

  it('fails with ArtifactNotFoundError naming the object when the key does not exist', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));
    const attempt = store.getStream('backups/shop-api/missing.dump');
    await expect(attempt).rejects.toBeInstanceOf(ArtifactNotFoundError);
    await expect(attempt).rejects.toThrow(`s3://${BUCKET}/backups/shop-api/missing.dump`);
  });

  it('locates a key as an s3:// URL', () => {
    expect(store.locate('reports/shop-api/d-1.md')).toBe(`s3://${BUCKET}/reports/shop-api/d-1.md`);
  });
});
