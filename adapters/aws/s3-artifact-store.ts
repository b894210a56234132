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

const MiB = 1024 * 1024;
/**
 * Multipart part sizes by part number (S3's minimum is 5 MiB): small first, so the last part, which can only be
 * sent once the source has ended, is short; larger later, so S3's 10,000 parts still hold a very large dump.
 */
export const PART_SIZES: readonly { readonly throughPart: number; readonly bytes: number }[] = [
  { throughPart: 1_000, bytes: 8 * MiB },
  { throughPart: 9_000, bytes: 16 * MiB },
  { throughPart: 10_000, bytes: 32 * MiB },
];
/** S3's limit on the parts of one multipart upload. */
export const MAX_PARTS = 10_000;
/** The largest object putStream stores: 1,000 × 8 + 8,000 × 16 + 1,000 × 32 MiB, about 164 GiB. */
export const MAX_STREAMED_BYTES = PART_SIZES.reduce((sum, tier, i) => sum + (tier.throughPart - (PART_SIZES[i - 1]?.throughPart ?? 0)) * tier.bytes, 0);
/**
 * Bytes of parts uploading at once while the source keeps streaming (six 8 MiB parts, three of 16, one of 32):
 * with the part being filled, a streamed upload holds at most this plus one part.
 */
export const IN_FLIGHT_BYTES = 48 * MiB;

/** The size of part `partNumber` (1-based) of a streamed upload. */
export function partSize(partNumber: number): number {
  const tier = PART_SIZES.find((t) => partNumber <= t.throughPart);
  if (!tier) throw new RangeError(`part ${partNumber} is beyond S3's ${MAX_PARTS} parts`);
  return tier.bytes;
}

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

  /**
   * A multipart upload of `body`, parts cut by `partSize` and sent while the body keeps streaming (at most
   * IN_FLIGHT_BYTES at once). Each part carries its SHA-256, as its S3 checksum (S3 refuses a part whose bytes
   * do not match: BadDigest) and as the payload hash SigV4 signs, so the SDK hashes nothing again; the completion
   * names every part's checksum, so the object S3 assembles is exactly the bytes hashed here.
   */
  async putStream(key: string, body: Readable, options: PutStreamOptions = {}): Promise<StreamedObject> {
    const created = await this.s3.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: options.contentType, ChecksumAlgorithm: 'SHA256', ChecksumType: 'COMPOSITE' }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`S3 returned no UploadId for the multipart upload of s3://${this.bucket}/${key}`);
    const hash = createHash('sha256');
    const parts: CompletedPart[] = [];
    const inFlight = new Map<Promise<void>, number>();
    let inFlightBytes = 0;
    let failure: { error: unknown } | undefined;
    let bytes = 0;
    let partNumber = 1;
    let part = Buffer.allocUnsafeSlow(partSize(partNumber));
    let filled = 0;
    let partHash = createHash('sha256');
    // Sends the filled part; resolves once there is room in flight for the next one, so memory stays bounded.
    const upload = async (final: boolean) => {
      const PartNumber = partNumber;
      const Body = part.subarray(0, filled);
      const digest = partHash.digest();
      const send = async () => {
        try {
          const command = new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber, Body, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: digest.toString('base64') });
          const response = await this.s3.send(withPayloadHash(command, digest.toString('hex')));
          parts.push({ ETag: response.ETag, PartNumber, ChecksumSHA256: digest.toString('base64') });
        } catch (error) {
          failure ??= { error };
        } finally {
          inFlightBytes -= Body.length;
          inFlight.delete(sending);
        }
      };
      // Started on the next tick, so that `sending` is in the map before send() can remove it.
      const sending: Promise<void> = Promise.resolve().then(send);
      inFlight.set(sending, Body.length);
      inFlightBytes += Body.length;
      if (final) return;
      partNumber += 1;
      if (partNumber > MAX_PARTS) throw new Error(`${this.locate(key)} would need more than ${MAX_PARTS} parts: the largest object a streamed upload stores is ${MAX_STREAMED_BYTES} bytes`);
      const next = partSize(partNumber);
      while (inFlight.size > 0 && inFlightBytes + next > IN_FLIGHT_BYTES) await Promise.race(inFlight.keys());
      if (failure) throw failure.error;
      part = Buffer.allocUnsafeSlow(next);
      filled = 0;
      partHash = createHash('sha256');
    };
    try {
      for await (const chunk of body as AsyncIterable<Buffer | string>) {
        let buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        hash.update(buffer);
        bytes += buffer.length;
        while (buffer.length > 0) {
          const taken = buffer.subarray(0, part.length - filled);
          taken.copy(part, filled);
          partHash.update(taken);
          filled += taken.length;
          buffer = buffer.subarray(taken.length);
          if (filled === part.length) await upload(false);
        }
      }
      // S3 needs at least one part; the last one may be smaller than 5 MiB, even empty.
      if (filled > 0 || partNumber === 1) await upload(true);
      // The source's own check (did the program that wrote it succeed?) runs while the last parts upload.
      const [, committable] = await Promise.allSettled([Promise.all(inFlight.keys()), options.beforeCommit?.()]);
      if (failure) throw failure.error;
      if (committable.status === 'rejected') throw committable.reason;
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      const completed = await this.s3.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
      );
      const digest = hash.digest('hex');
      return { etag: completed.ETag ?? '', bytes, sha256: digest, integrity: `S3 checked the SHA-256 of each of its ${parts.length} parts (object checksum ${completed.ChecksumSHA256 ?? 'not returned'})` };
    } catch (error) {
      await Promise.all(inFlight.keys());
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

/**
 * Sets SigV4's payload hash (`x-amz-content-sha256`) to the part's SHA-256, already computed while streaming:
 * the request is signed over its content as usual, without the signer hashing the part a second time.
 */
function withPayloadHash(command: UploadPartCommand, hexSha256: string): UploadPartCommand {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = hexSha256;
      return next(args);
    },
    { step: 'build', name: 'partSha256AsPayloadHash' },
  );
  return command;
}

/** S3 answers a failed condition with 412 PreconditionFailed, or 409 ConditionalRequestConflict when writes race. */
function asPreconditionFailed(error: unknown, key: string): unknown {
  if (!(error instanceof S3ServiceException)) return error;
  const status = error.$metadata.httpStatusCode;
  if (status === 412 || error.name === 'PreconditionFailed') return new PreconditionFailedError(key, 412);
  if (status === 409 && error.name === 'ConditionalRequestConflict') return new PreconditionFailedError(key, 409);
  return error;
}
