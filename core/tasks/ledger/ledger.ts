import * as z from 'zod/mini';
import type { BackupRecord, Outcome, WatchStatus, WindowDecision } from '../../model';
import { recordBackup } from './backup-manifest';
import { recordDrill } from './drill-record';
import { type LedgerDeps, recordAbort, recordKept, recordRelease, recordRollback, recordRollbackFailure } from './record-outcome';
import { checkRollbackWindow } from './rollback-window';
import { LedgerSlots } from './slots';
import { checkAnalysis, type CheckpointRecorded, checkWatch, recordWatchCheckpoint } from './watch';

export const LedgerOperation = z.enum([
  'record-backup',
  'record-drill',
  'record-release',
  'record-abort',
  'record-rollback',
  'record-rollback-failure',
  'record-kept',
  'check-window',
  'check-watch',
  'record-checkpoint',
  'check-analysis',
]);
export type LedgerOperation = z.output<typeof LedgerOperation>;

/** RecordBackup, RecordDrill, RecordRelease, RecordAbort, RecordRollback, RecordRollbackFailure, RecordKept, CheckRollbackWindow, CheckWatch, RecordWatchCheckpoint and CheckAnalysis send `operation` and the slots. */
export const LedgerEvent = z.extend(LedgerSlots, { operation: LedgerOperation });
export type LedgerEvent = z.output<typeof LedgerEvent>;

export type { LedgerDeps };

/** Dispatches the ledger operations; the ASL's `operation` picks one. */
export async function runLedger(event: LedgerEvent, deps: LedgerDeps): Promise<BackupRecord | Outcome | WindowDecision | WatchStatus | CheckpointRecorded> {
  switch (event.operation) {
    case 'record-backup':
      return recordBackup(event, deps);
    case 'record-drill':
      return recordDrill(event, deps);
    case 'record-release':
      return recordRelease(event, deps);
    case 'record-abort':
      return recordAbort(event, deps);
    case 'record-rollback':
      return recordRollback(event, deps);
    case 'record-rollback-failure':
      return recordRollbackFailure(event, deps);
    case 'record-kept':
      return recordKept(event, deps);
    case 'check-window':
      return checkRollbackWindow(event, deps);
    case 'check-watch':
      return checkWatch(event, deps);
    case 'record-checkpoint':
      return recordWatchCheckpoint(event, deps);
    case 'check-analysis':
      return checkAnalysis(event, deps);
  }
}
