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

export interface PutStreamOptions {
  readonly contentType?: string;
  /**
   * Awaited once the body has ended, before the object becomes visible: when it throws, nothing is stored
   * (the multipart upload is aborted, the temporary file removed). A dump whose program failed after
   * writing part of its output is refused here, never stored whole-looking.
   */
  readonly beforeCommit?: () => Promise<void>;
}

export interface StreamedObject {
  readonly etag: string;
  readonly bytes: number;
  /** Hex sha256 of what was written, computed while streaming. */
  readonly sha256: string;
  /** What the store itself checked of the bytes it received, when it checks anything (S3: each part's SHA-256). */
  readonly integrity?: string;
}

/**
 * Where the runbook keeps its lock, ledger, backup manifests, local dumps and reports.
 * AWS: the runbook's S3 bucket. Rehearsal: a directory.
 */
export interface ArtifactStore {
  get(key: string): Promise<StoredObject | undefined>;
  put(key: string, body: string | Uint8Array, options?: PutOptions): Promise<{ etag: string }>;
  /** Streams a large object (a dump) without holding it in memory. */
  putStream(key: string, body: Readable, options?: PutStreamOptions): Promise<StreamedObject>;
  getStream(key: string): Promise<Readable>;
  /** `s3://bucket/key` or a file path: for people reading reports. */
  locate(key: string): string;
}
