import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { ArtifactStore, PutOptions, PutStreamOptions, StoredObject, StreamedObject } from '../../core/ports/artifact-store';
import { ArtifactNotFoundError, PreconditionFailedError } from '../../core/errors';

/**
 * The IAM action behind each AWS call S3ArtifactStore makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const S3_ARTIFACT_STORE_IAM = {
  getObject: 's3:GetObject',
  /** Without it S3 answers 403 instead of 404 for a missing key, and `get` could not tell "absent" from "denied". */
  listBucket: 's3:ListBucket',
  /** PutObject, and the multipart calls of a streamed upload (Create, UploadPart, Complete). */
  putObject: 's3:PutObject',
  abortMultipartUpload: 's3:AbortMultipartUpload',
} as const;

/** Multipart part size: above S3's 5 MiB minimum; a streamed upload holds at most PARTS_IN_FLIGHT + 1 of them in memory. */
export const PART_SIZE = 16 * 1024 * 1024;
/** Parts uploading at once while the source keeps streaming: enough to hide an UploadPart's latency behind pg_dump. */
export const PARTS_IN_FLIGHT = 3;
/** S3's limit on the parts of one multipart upload. */
export const MAX_PARTS = 10_000;
/** The largest object putStream stores: 10,000 parts of 16 MiB, about 156 GiB. */
export const MAX_STREAMED_BYTES = MAX_PARTS * PART_SIZE;

/**
 * The runbook's S3 bucket as its artifact store. Conditional writes (`If-None-Match: *`, `If-Match`)
 * make the lock and the ledger safe against concurrent executions.
 */
export class S3ArtifactStore implements ArtifactStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async get(key: string): Promise<StoredObject | undefined> {
    const response = await this.getObject(key);
    if (!response?.Body) return undefined;
    return { body: Buffer.from(await response.Body.transformToByteArray()), etag: response.ETag ?? '' };
  }

  async put(key: string, body: string | Uint8Array, options: PutOptions = {}): Promise<{ etag: string }> {
    try {
      const response = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: options.contentType,
          IfNoneMatch: options.ifNoneMatch,
          IfMatch: options.ifMatch,
        }),
      );
      return { etag: response.ETag ?? '' };
    } catch (error) {
      throw asPreconditionFailed(error, key);
    }
  }

  async putStream(key: string, body: Readable, options: PutStreamOptions = {}): Promise<StreamedObject> {
    const created = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: options.contentType }));
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`S3 returned no UploadId for the multipart upload of s3://${this.bucket}/${key}`);
    const hash = createHash('sha256');
    const parts: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let bytes = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let partCount = 0;
    // Parts upload while the source keeps streaming; at most PARTS_IN_FLIGHT wait, so memory stays bounded.
    const upload = async (part: Buffer) => {
      const PartNumber = ++partCount;
      if (PartNumber > MAX_PARTS) throw new Error(`${this.locate(key)} would need more than ${MAX_PARTS} parts of ${PART_SIZE} bytes: the largest object a streamed upload stores is ${MAX_STREAMED_BYTES} bytes`);
      const send = async () => {
        try {
          const response = await this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber, Body: part }));
          parts.push({ ETag: response.ETag, PartNumber });
        } catch (error) {
          failure ??= { error };
        } finally {
          inFlight.delete(sending);
        }
      };
      // Started on the next tick, so that `sending` is assigned before send() can remove it.
      const sending: Promise<void> = Promise.resolve().then(send);
      inFlight.add(sending);
      while (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
      if (failure) throw failure.error;
    };
    try {
      for await (const chunk of body as AsyncIterable<Buffer | string>) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        hash.update(buffer);
        bytes += buffer.length;
        pending.push(buffer);
        pendingBytes += buffer.length;
        while (pendingBytes >= PART_SIZE) {
          const joined = Buffer.concat(pending);
          pending = [joined.subarray(PART_SIZE)];
          pendingBytes -= PART_SIZE;
          await upload(joined.subarray(0, PART_SIZE));
        }
      }
      // S3 needs at least one part; the last one may be smaller than 5 MiB, even empty.
      if (pendingBytes > 0 || partCount === 0) await upload(Buffer.concat(pending));
      await Promise.all(inFlight);
      if (failure) throw failure.error;
      await options.beforeCommit?.();
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      const completed = await this.s3.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
      );
      const digest = hash.digest('hex');
      return { etag: completed.ETag ?? '', bytes, sha256: digest };
    } catch (error) {
      await Promise.all(inFlight);
      // Uploaded parts are billed until the upload is aborted.
      try {
        await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
      } catch (abortError) {
        throw new AggregateError([error, abortError], `upload of ${this.locate(key)} failed and upload ${uploadId} could not be aborted`);
      }
      throw error;
    }
  }

  async getStream(key: string): Promise<Readable> {
    const response = await this.getObject(key);
    if (!response?.Body) throw new ArtifactNotFoundError(`artifact ${this.locate(key)} does not exist`);
    if (!(response.Body instanceof Readable)) throw new Error(`S3 returned a body for ${this.locate(key)} that is not a Node.js stream`);
    return response.Body;
  }

  /** The object's size in bytes, or undefined when it does not exist (HeadObject, authorised as s3:GetObject). */
  async sizeOf(key: string): Promise<number | undefined> {
    try {
      const response = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return response.ContentLength;
    } catch (error) {
      if (error instanceof S3ServiceException && (error.name === 'NotFound' || error.$metadata.httpStatusCode === 404)) return undefined;
      throw error;
    }
  }

  locate(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  private async getObject(key: string): Promise<GetObjectCommandOutput | undefined> {
    try {
      return await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404)) return undefined;
      throw error;
    }
  }
}

/** S3 answers a failed condition with 412 PreconditionFailed, or 409 ConditionalRequestConflict when writes race. */
function asPreconditionFailed(error: unknown, key: string): unknown {
  if (!(error instanceof S3ServiceException)) return error;
  const status = error.$metadata.httpStatusCode;
  if (status === 412 || error.name === 'PreconditionFailed') return new PreconditionFailedError(key, 412);
  if (status === 409 && error.name === 'ConditionalRequestConflict') return new PreconditionFailedError(key, 409);
  return error;
}
