import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import type { EmulatedAws, Ended } from './emulated-aws';

/*
 * What rds-logical-copy.test.ts (and any tier file about logical backups) reads back: the runbook
 * bucket as the operator sees it, the backup task's metas and dumps, and how an execution ended.
 */

/** A backup meta as the backup task writes it (adapters/local/pg-backup-meta.ts). */
export interface StoredMeta {
  readonly snapshotId: string;
  readonly status: string;
  readonly source: string;
  readonly sha256: string | null;
  readonly bytes: number | null;
  readonly verification: string[];
  readonly error: string | null;
}

/** The runbook's bucket, read with the operator's credentials. */
export function runbookBucket(aws: EmulatedAws) {
  const bucket = () => ({ Bucket: aws.stack.bucketName });
  return {
    /** The keys under `prefix`, sorted. */
    async keys(prefix: string): Promise<string[]> {
      const listed = await aws.operator.s3.send(new ListObjectsV2Command({ ...bucket(), Prefix: prefix }));
      return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
    },
    async body(key: string): Promise<Buffer> {
      const response = await aws.operator.s3.send(new GetObjectCommand({ ...bucket(), Key: key }));
      return Buffer.from(await response.Body!.transformToByteArray());
    },
    /** Multipart uploads started and neither completed nor aborted. */
    async openUploads(): Promise<unknown[]> {
      return (await aws.operator.s3.send(new ListMultipartUploadsCommand(bucket()))).Uploads ?? [];
    },
    /** The backup metas under `backups/<target>/`. */
    async metas(target: string): Promise<StoredMeta[]> {
      const keys = (await this.keys(`backups/${target}/`)).filter((key) => key.endsWith('.meta.json'));
      return Promise.all(keys.map(async (key) => JSON.parse((await this.body(key)).toString()) as StoredMeta));
    },
  };
}

/** The message of the error that ended an execution (its cause is the function's error as JSON). */
export function endMessage(ended: Ended): string {
  try {
    return (JSON.parse(ended.cause ?? '') as { errorMessage: string }).errorMessage;
  } catch {
    return ended.cause ?? '';
  }
}

/**
 * The object at `dumpKey` is the dump `meta` marks available: its size and sha256 as recorded, a custom-format dump
 * the machine's `pg_restore` (in `binDir`) lists with every one of `tables`' data, uploaded in parts (a multipart
 * upload's ETag ends with its part count), and no upload left open.
 */
export async function expectStoredDump(aws: EmulatedAws, dumpKey: string, meta: StoredMeta, binDir: string, tables: readonly string[]): Promise<void> {
  const bucket = runbookBucket(aws);
  expect(meta.status).toBe('available');
  const dump = await bucket.body(dumpKey);
  expect(dump.length).toBe(meta.bytes);
  expect(createHash('sha256').update(dump).digest('hex')).toBe(meta.sha256);
  const dir = mkdtempSync(join(tmpdir(), 'tier-dump-'));
  try {
    writeFileSync(join(dir, 'stored.dump'), dump);
    const listing = execFileSync(join(binDir, 'pg_restore'), ['--list', join(dir, 'stored.dump')], { encoding: 'utf8' });
    for (const table of tables) expect(listing).toMatch(new RegExp(`TABLE DATA public ${table} `));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const head = await aws.operator.s3.send(new GetObjectCommand({ Bucket: aws.stack.bucketName, Key: dumpKey }));
  expect(head.ETag).toMatch(/-\d+"$/);
  expect(await bucket.openUploads()).toEqual([]);
}

/** The backup task ran in this scenario: ECS read its secret as the execution role, its containers signed as the task role and stored a dump. */
export function expectBackupTaskRan(aws: EmulatedAws): void {
  const byTask = (fragment: string) => aws.moto.authorizations().filter((a) => a.principal.includes(fragment));
  expect(byTask('TaskDefinitionExecutionRole').map((a) => a.action)).toEqual(['secretsmanager:GetSecretValue']);
  expect(new Set(byTask('TaskDefinitionTaskRole').map((a) => a.action))).toEqual(new Set(['s3:GetObject', 's3:PutObject']));
  expect(aws.moto.taskOutput().map((o) => o.line)).toEqual(expect.arrayContaining([expect.stringContaining('"message":"backup stored"')]));
}
