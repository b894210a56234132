import * as z from 'zod/mini';
import type { RunbookConfig } from '../../../config/schema';
import { DataFingerprint } from '../../data-fingerprint';
import { RunbookError } from '../../errors';
import { DataCheckReport } from '../data-checks/data-checks';
import {
  Approval,
  BackupRecord,
  BakeState,
  DeployedVersion,
  DeployHandle,
  DeployStatus,
  Deployment,
  Execution,
  judged,
  MigrationsState,
  Preflight,
  RestoreState,
  SmokeReport,
  SnapshotRef,
  TaskError,
  TrafficState,
  WatchResult,
  WatchStatus,
  WindowDecision,
} from '../../model';

export type LedgerConfig = Pick<RunbookConfig, 'name' | 'target' | 'database' | 'migrations' | 'bake' | 'rollbackWindowHours'> &
  /** CheckWatch reads analysis.watch; the other operations are not sent it. */
  Partial<Pick<RunbookConfig, 'analysis'>>;

/**
 * The execution state the ledger Tasks send (`operation` aside). Slots not filled yet are null; a Task
 * that sends fewer slots (RecordBackup, CheckRollbackWindow) leaves the others null too.
 */
export const LedgerSlots = z.object({
  /** What the evidence report, the causes and the rollback window read of the configuration. */
  config: judged<LedgerConfig>(),
  deployment: Deployment,
  execution: Execution,
  preflight: z._default(z.nullable(Preflight), null),
  snapshot: z._default(z.nullable(SnapshotRef), null),
  backup: z._default(z.nullable(BackupRecord), null),
  release: z._default(z.nullable(DeployHandle), null),
  migrations: z._default(z.nullable(MigrationsState), null),
  smoke: z._default(z.nullable(SmokeReport), null),
  bake: z._default(z.nullable(BakeState), null),
  error: z._default(z.nullable(TaskError), null),
  rollbackTo: z._default(z.nullable(DeployedVersion), null),
  rollback: z._default(z.nullable(DeployHandle), null),
  restore: z._default(z.nullable(RestoreState), null),
  approval: z._default(z.nullable(Approval), null),
  /** The decision before an automatic rollback (rollbackApproval.required): the answer, or why none came. */
  rollbackApproval: z.optional(z.nullable(Approval)),
  rollbackApprovalError: z.optional(z.nullable(TaskError)),
  verify: z._default(z.nullable(SmokeReport), null),
  rollbackError: z._default(z.nullable(TaskError), null),
  window: z._default(z.nullable(WindowDecision), null),
  /** The rollout's and the rollback's last status: a hosts target lists each host it reached (the report's Hosts table). */
  deployStatus: z.optional(z.nullable(DeployStatus)),
  rollbackStatus: z.optional(z.nullable(DeployStatus)),
  /** A target shifting traffic in steps: every weight given, and when. */
  traffic: z.optional(z.nullable(TrafficState)),
  /** The watch execution's slots: CheckWatch's answer and the checkpoint measured. */
  watch: z.optional(z.nullable(WatchStatus)),
  /** The SQL checks of each phase and the fingerprint recorded before the backup (issue 11). */
  preflightChecks: z.optional(z.nullable(DataCheckReport)),
  dataGate: z.optional(z.nullable(DataCheckReport)),
  restoreCheck: z.optional(z.nullable(DataCheckReport)),
  /** The restore drill: its scratch restore (then discard), and the check of the copy. */
  drill: z.optional(z.nullable(RestoreState)),
  drillCheck: z.optional(z.nullable(DataCheckReport)),
  fingerprint: z.optional(z.nullable(DataFingerprint)),
  checkpoint: z.optional(z.nullable(WatchResult)),
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
