import * as z from 'zod/mini';
import { describeValue } from '../../../config/issues';
import type { ArtifactStore } from '../../ports/artifact-store';
import type { Clock } from '../../ports/clock';
import { PreconditionFailedError, RunbookError } from '../../errors';
import { DataFingerprint } from '../../data-fingerprint';
import { type BackupRecord, DatabaseInfo, DeployedVersion, SnapshotRef } from '../../model';
import { type LedgerSlots, requireSlot } from './slots';

/** `backups/<target>/<deploymentId>.json`: what a person needs to find and restore the pre-deploy backup by hand. */
export const BackupManifest = z.object({
  schemaVersion: z.literal(1),
  target: z.string(),
  deploymentId: z.string(),
  executionId: z.string(),
  requestedBy: z.nullable(z.string()),
  snapshot: SnapshotRef,
  database: z.nullable(DatabaseInfo),
  versions: z.object({
    before: DeployedVersion,
    after: z.object({ version: z.nullable(z.string()), image: z.nullable(z.string()) }),
  }),
  createdAt: z.string(),
  /** The data just before the backup (row counts, checksums of backup.fingerprint.checksumTables): a restore is compared with it. */
  fingerprint: z.optional(z.nullable(DataFingerprint)),
});
export type BackupManifest = z.output<typeof BackupManifest>;

/** A manifest for this deployment id exists and was written by another execution. */
export class BackupManifestConflictError extends RunbookError {}

export function backupManifestKey(target: string, deploymentId: string): string {
  return `backups/${target}/${deploymentId}.json`;
}

/**
 * RecordBackup: writes the manifest once (If-None-Match), before anything changes. A retried Task finds
 * the manifest it wrote and returns the same record.
 */
export async function recordBackup(slots: LedgerSlots, deps: { store: ArtifactStore; clock: Clock }): Promise<BackupRecord> {
  const snapshot = requireSlot(slots, 'snapshot', 'record-backup');
  const preflight = requireSlot(slots, 'preflight', 'record-backup');
  const { config, deployment, execution } = slots;
  const key = backupManifestKey(config.name, deployment.id);
  const manifest: BackupManifest = {
    schemaVersion: 1,
    target: config.name,
    deploymentId: deployment.id,
    executionId: execution.id,
    requestedBy: deployment.requestedBy,
    snapshot,
    database: preflight.database,
    versions: { before: preflight.running, after: { version: deployment.version, image: deployment.image } },
    createdAt: deps.clock.now().toISOString(),
    fingerprint: slots.fingerprint ?? null,
  };
  try {
    await deps.store.put(key, `${JSON.stringify(manifest, null, 2)}\n`, { ifNoneMatch: '*', contentType: 'application/json' });
    return recordOf(deps.store, key, manifest);
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
  }
  const existing = await deps.store.get(key);
  const parsed = BackupManifest.safeParse(existing ? safeJson(existing.body) : undefined);
  if (!parsed.success || parsed.data.executionId !== execution.id) {
    const owner = parsed.success ? `execution ${parsed.data.executionId}` : `something else (${describeValue(existing?.body.toString('utf8'))})`;
    throw new BackupManifestConflictError(`the backup manifest ${key} already exists, written by ${owner}, not by ${execution.id}`);
  }
  return recordOf(deps.store, key, parsed.data);
}

function recordOf(store: ArtifactStore, key: string, manifest: BackupManifest): BackupRecord {
  return { manifestKey: key, location: store.locate(key), snapshotId: manifest.snapshot.id, recordedAt: manifest.createdAt };
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
