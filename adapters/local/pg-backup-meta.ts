import type pg from 'pg';
import * as z from 'zod/mini';
import type { DatabaseInfo, SnapshotRef } from '../../core/model';

/*
 * What a logical backup leaves beside its dump, read by the rehearsal's PgBackups and by the AWS side
 * (adapters/aws/ecs-pg-backups.ts) alike. zod/mini: the task functions bundle it.
 */

/**
 * The dump's sidecar. It is written `creating` before pg_dump starts and `available` once the dump is
 * stored and listed, so a dump whose meta is not `available` is known to be incomplete (the process died).
 */
export const BackupMeta = z.object({
  snapshotId: z.string(),
  status: z.enum(['creating', 'available', 'failed']),
  source: z.string(),
  bytes: z.nullable(z.number()),
  sha256: z.nullable(z.string()),
  startedAt: z.string(),
  completedAt: z.nullable(z.string()),
  tags: z.record(z.string(), z.string()),
  error: z.nullable(z.string()),
  /** What was checked of the stored dump before it was marked available (pg_restore --list of the stored object). */
  verification: z._default(z.array(z.string()), []),
});
export type BackupMeta = z.output<typeof BackupMeta>;

/** The database a connected client is on: its name, server version and size. */
export async function describeConnected(client: Pick<pg.Client, 'query'>): Promise<DatabaseInfo> {
  const { rows } = await client.query<{ name: string; version: string; size: string }>(
    "SELECT current_database() AS name, current_setting('server_version') AS version, pg_database_size(current_database())::text AS size",
  );
  const row = rows[0];
  return {
    kind: 'postgres',
    identifier: row.name,
    arn: null,
    engine: 'postgres',
    engineVersion: row.version,
    status: 'available',
    encrypted: null,
    sizeBytes: Number(row.size),
  };
}

/**
 * The snapshot a backup meta describes. `encrypted` is null where nothing says (a local file); the AWS side
 * knows the bucket encrypts every object and reports the checks the backup task made.
 */
export function snapshotOfMeta(meta: BackupMeta, location: string, known: { encrypted?: boolean; verification?: string[] } = {}): SnapshotRef {
  return {
    id: meta.snapshotId,
    arn: null,
    kind: 'postgres',
    source: meta.source,
    status: meta.status,
    engine: 'postgres',
    encrypted: known.encrypted ?? null,
    sizeBytes: meta.bytes,
    location,
    checksum: meta.sha256,
    startedAt: meta.startedAt,
    completedAt: meta.completedAt,
    verification: known.verification ?? [],
  };
}
