import type { Readable } from 'node:stream';

/** A stored object and the version tag conditional writes compare against. */
export interface StoredObject {
  readonly body: Buffer;
  readonly etag: string;
}

export interface PutOptions {
  /** Create only: fail with PreconditionFailedError when the key exists (S3 `If-None-Match: *`). */
  readonly ifNoneMatch?: '*';
  /** Replace only this version: fail with PreconditionFailedError otherwise (S3 `If-Match`). */
  readonly ifMatch?: string;
  readonly contentType?: string;
}

export interface StreamedObject {
  readonly etag: string;
  readonly bytes: number;
  /** Hex sha256 of what was written, computed while streaming. */
  readonly sha256: string;
}

/**
 * Where the runbook keeps its lock, ledger, backup manifests, local dumps and reports.
 * AWS: the runbook's S3 bucket. Rehearsal: a directory.
 */
export interface ArtifactStore {
  get(key: string): Promise<StoredObject | undefined>;
  put(key: string, body: string | Uint8Array, options?: PutOptions): Promise<{ etag: string }>;
  /** Streams a large object (a dump) without holding it in memory. */
  putStream(key: string, body: Readable, options?: { contentType?: string }): Promise<StreamedObject>;
  getStream(key: string): Promise<Readable>;
  /** `s3://bucket/key` or a file path: for people reading reports. */
  locate(key: string): string;
}
