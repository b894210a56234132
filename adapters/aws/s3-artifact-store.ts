import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { ArtifactStore, PutOptions, StoredObject, StreamedObject } from '../../core/ports/artifact-store';
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

/** Multipart part size: above S3's 5 MiB minimum, and the most a streamed upload holds in memory. */
export const PART_SIZE = 8 * 1024 * 1024;

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

  async putStream(key: string, body: Readable, options: { contentType?: string } = {}): Promise<StreamedObject> {
    const created = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: options.contentType }));
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`S3 returned no UploadId for the multipart upload of s3://${this.bucket}/${key}`);
    const hash = createHash('sha256');
    const parts: CompletedPart[] = [];
    let bytes = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const upload = async (part: Buffer) => {
      const PartNumber = parts.length + 1;
      const response = await this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber, Body: part }));
      parts.push({ ETag: response.ETag, PartNumber });
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
          await upload(joined.subarray(0, PART_SIZE));
          pending = [joined.subarray(PART_SIZE)];
          pendingBytes -= PART_SIZE;
        }
      }
      // S3 needs at least one part; the last one may be smaller than 5 MiB, even empty.
      if (pendingBytes > 0 || parts.length === 0) await upload(Buffer.concat(pending));
      const completed = await this.s3.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
      );
      const digest = hash.digest('hex');
      return { etag: completed.ETag ?? '', bytes, sha256: digest };
    } catch (error) {
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
