import { z } from 'zod';
import { RunbookConfig } from '../../config/schema';
import { RunbookError } from '../shared/errors';
import {
  Approval,
  BackupRecord,
  BakeState,
  DeployedVersion,
  DeployHandle,
  Deployment,
  Execution,
  MigrationsState,
  Preflight,
  RestoreState,
  SmokeReport,
  SnapshotRef,
  TaskError,
  WindowDecision,
} from '../shared/model';

/**
 * The execution state the ledger Tasks send (`operation` aside). Slots not filled yet are null; a Task
 * that sends fewer slots (RecordBackup, CheckRollbackWindow) leaves the others null too.
 */
export const LedgerSlots = z.object({
  config: RunbookConfig,
  deployment: Deployment,
  execution: Execution,
  preflight: Preflight.nullable().default(null),
  snapshot: SnapshotRef.nullable().default(null),
  backup: BackupRecord.nullable().default(null),
  release: DeployHandle.nullable().default(null),
  migrations: MigrationsState.nullable().default(null),
  smoke: SmokeReport.nullable().default(null),
  bake: BakeState.nullable().default(null),
  error: TaskError.nullable().default(null),
  rollbackTo: DeployedVersion.nullable().default(null),
  rollback: DeployHandle.nullable().default(null),
  restore: RestoreState.nullable().default(null),
  approval: Approval.nullable().default(null),
  verify: SmokeReport.nullable().default(null),
  rollbackError: TaskError.nullable().default(null),
  window: WindowDecision.nullable().default(null),
});
export type LedgerSlots = z.output<typeof LedgerSlots>;

/** A ledger operation was sent without a slot it cannot do without. */
export class MissingSlotError extends RunbookError {}

/** The slot's value, or a MissingSlotError naming the operation and the slot. */
export function requireSlot<K extends keyof LedgerSlots>(slots: LedgerSlots, name: K, operation: string): NonNullable<LedgerSlots[K]> {
  const value = slots[name];
  if (value === null || value === undefined) throw new MissingSlotError(`${operation} needs $.${name}, but it is ${String(value)}`);
  return value as NonNullable<LedgerSlots[K]>;
}
