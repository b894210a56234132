import { ModifyDBInstanceCommand, type RDSClient, type Tag } from '@aws-sdk/client-rds';
import { RestoreFailedError } from '../../core/errors';
import { DRILL_INFIX } from '../../core/restore-drill';
import type { RestoreState, SnapshotRef } from '../../core/model';
import { describeError, findInstance, isFault } from './rds-lookups';

/**
 * The IAM action behind each AWS call the rename steps makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const RESTORE_PROGRESS_IAM = {
  modifyDBInstance: 'rds:ModifyDBInstance',
} as const;

/** Marks a database restored by the runbook and names the snapshot: a re-run recognises its own restore by it. */
export const RESTORED_FROM_TAG = 'deploy-runbook:restored-from';

/** RDS instance and cluster identifiers are at most this long. */
const MAX_IDENTIFIER_LENGTH = 63;

/** Instance or cluster statuses that waiting will not change: the restore stops and says so. */
const STUCK_STATUSES = new Set([
  'failed',
  'stopped',
  'stopping',
  'deleting',
  'storage-full',
  'restore-error',
  'insufficient-capacity',
  'cloning-failed',
  'migration-failed',
]);

/** True when a database in this status will not become available by itself. */
export function isStuck(status: string | undefined): boolean {
  return status !== undefined && (STUCK_STATUSES.has(status) || status.startsWith('incompatible-') || status.startsWith('inaccessible-'));
}

/** A UTC timestamp to the second, `yyyymmddhhmmss`: what kept copies and drill copies end with. */
const STAMP_LENGTH = 14;

function stamp(at: Date): string {
  return at.toISOString().replace(/\D/g, '').slice(0, STAMP_LENGTH);
}

/** `identifier` shortened so that `<it><infix><timestamp>` stays a valid 63-character RDS identifier (no trailing `-`), then `infix`. */
function boundedPrefix(identifier: string, infix: string): string {
  return `${identifier.slice(0, MAX_IDENTIFIER_LENGTH - infix.length - STAMP_LENGTH).replace(/-+$/, '')}${infix}`;
}

/**
 * What every kept copy of `identifier` starts with: the identifier, shortened when needed so that the whole
 * name stays a valid 63-character RDS identifier, then `-failed-`. The restore's IAM grants exactly `<this>*`.
 */
export function failedCopyPrefix(identifier: string): string {
  return boundedPrefix(identifier, '-failed-');
}

/** `<identifier>-failed-<yyyymmddhhmmss>` (UTC): where the broken database is kept. */
export function failedCopyName(identifier: string, at: Date): string {
  return `${failedCopyPrefix(identifier)}${stamp(at)}`;
}

/** What every restore drill's scratch copy of `identifier` starts with (`<identifier>-drill-`); the drill's IAM grants `<this>*`. */
export function drillCopyPrefix(identifier: string): string {
  return boundedPrefix(identifier, DRILL_INFIX);
}

/** `<identifier>-drill-<yyyymmddhhmmss>` (UTC, the execution's start): the scratch instance or cluster of one drill, the same on every call. */
export function drillCopyName(identifier: string, at: Date): string {
  return `${drillCopyPrefix(identifier)}${stamp(at)}`;
}

/** The first state of a restore: nothing touched yet. */
export function beginRestore(snapshot: SnapshotRef, at: Date): RestoreState {
  return {
    restored: false,
    decision: 'restoring',
    phase: 'capture',
    failedCopy: null,
    snapshotId: snapshot.id,
    steps: [],
    startedAt: at.toISOString(),
    finishedAt: null,
  };
}

/** Records the step just finished (the current phase, with what it did) and moves on to `next`. */
export function finishStep(state: RestoreState, detail: string, next: string, at: Date, changes: Partial<RestoreState> = {}): RestoreState {
  const done = next === 'done';
  return {
    ...state,
    ...changes,
    phase: next,
    steps: [...state.steps, { phase: state.phase ?? 'capture', at: at.toISOString(), detail }],
    ...(done ? { restored: true, decision: 'restored' as const, finishedAt: at.toISOString() } : {}),
  };
}

/** The original's tags for the restored copy: AWS-reserved keys cannot be set, and the restored-from tag names this snapshot. */
export function restoredTags(original: readonly Tag[] | undefined, snapshotId: string): Tag[] {
  const kept = (original ?? []).filter((tag) => tag.Key !== undefined && !tag.Key.startsWith('aws:') && tag.Key !== RESTORED_FROM_TAG);
  return [...kept, { Key: RESTORED_FROM_TAG, Value: snapshotId }];
}

/** Drops undefined fields, so that captured settings are plain JSON the state machine can carry. */
export function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Result of one attempt to rename a DB instance aside. */
export type RenameOutcome = 'renamed' | 'already-renamed' | 'waiting';

/**
 * Renames DB instance `original` to `failed` (kept, never deleted), unless AWS shows the rename done
 * or under way. Waits while the instance is busy with something that will end by itself.
 */
export async function renameInstanceAside(rds: RDSClient, original: string, failed: string): Promise<RenameOutcome> {
  if (await findInstance(rds, failed)) return 'already-renamed';
  const instance = await findInstance(rds, original);
  if (!instance) throw new RestoreFailedError(`cannot rename DB instance ${original} to ${failed}: neither exists`);
  if (instance.PendingModifiedValues?.DBInstanceIdentifier === failed) return 'already-renamed';
  const status = instance.DBInstanceStatus;
  if (status !== 'available') {
    if (isStuck(status)) throw new RestoreFailedError(`cannot rename DB instance ${original}: it is in status "${status}"`);
    return 'waiting';
  }
  try {
    await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: original, NewDBInstanceIdentifier: failed, ApplyImmediately: true }));
  } catch (error) {
    // The name carries this restore's timestamp: if it is taken, an earlier call of this restore took it.
    if (isFault(error, 'DBInstanceAlreadyExistsFault')) return 'already-renamed';
    if (isFault(error, 'InvalidDBInstanceStateFault')) {
      throw new RestoreFailedError(`cannot rename DB instance ${original} (status "${status}") to ${failed}: ${describeError(error)}`, { cause: error });
    }
    throw error;
  }
  return 'renamed';
}

/** True once `original` is free and the renamed instance `failed` is available again. */
export async function instanceRenamed(rds: RDSClient, original: string, failed: string): Promise<boolean> {
  if (await findInstance(rds, original)) return false;
  return (await findInstance(rds, failed))?.DBInstanceStatus === 'available';
}

/** The faults a restore call can hit, as errors that say what went wrong and where. */
export function restoreError(error: unknown, target: string, snapshotId: string): unknown {
  if (isFault(error, 'DBSnapshotNotFoundFault', 'DBClusterSnapshotNotFoundFault')) {
    return new RestoreFailedError(`cannot restore ${target}: snapshot ${snapshotId} no longer exists (${describeError(error)})`, { cause: error });
  }
  if (isFault(error, 'InstanceQuotaExceededFault', 'StorageQuotaExceededFault', 'DBClusterQuotaExceededFault')) {
    return new RestoreFailedError(`cannot restore ${target} from ${snapshotId}: an account quota is exceeded (${describeError(error)})`, { cause: error });
  }
  if (isFault(error, 'InvalidDBSnapshotStateFault', 'InvalidDBClusterSnapshotStateFault', 'DBInstanceAlreadyExistsFault', 'DBClusterAlreadyExistsFault', 'InvalidDBInstanceStateFault', 'InvalidDBClusterStateFault')) {
    return new RestoreFailedError(`cannot restore ${target} from ${snapshotId}: ${describeError(error)}`, { cause: error });
  }
  return error;
}
